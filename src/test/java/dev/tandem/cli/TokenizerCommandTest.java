package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerCommandTest {
    /** Runs the CLI, returning the exit code and what it printed on stderr. */
    private record Result(int code, String err, String out) {}

    private static Result run(String... args) {
        PrintStream oldErr = System.err;
        PrintStream oldOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Result(code, err.toString(StandardCharsets.UTF_8), out.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
    }

    @Test
    void trainsAndWritesTokenizerJson(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("c.txt");
        Files.writeString(corpus, Files.readString(Path.of("data/tinyshakespeare.txt")).substring(0, 20_000));
        Result r = run("tokenizer", "train", "--corpus", corpus.toString(), "--vocab-size", "300", "--out", dir.resolve("tok").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("merges 43/43");
        assertThat(r.out()).contains("vocab 300");
        Tokenizer tok = TokenizerJson.load(dir.resolve("tok/tokenizer.json"));
        assertThat(tok.vocabSize()).isEqualTo(300);
    }

    @Test
    void userErrorsAreOneLine(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'h', 'i', (byte) 0xFF});
        Result r = run("tokenizer", "train", "--corpus", bad.toString(), "--vocab-size", "300", "--out", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("bad.txt").contains("byte offset 2");

        r = run("tokenizer", "train", "--corpus", dir.resolve("missing.txt").toString(), "--vocab-size", "300", "--out", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("does not exist");

        r = run("tokenizer", "train", "--corpus", bad.toString(), "--vocab-size", "100", "--out", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains("--vocab-size 100").contains("at least 257");
    }
}
