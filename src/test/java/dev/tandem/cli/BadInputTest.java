package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input ⇒ exactly one clear error line, a non-zero exit code and no stack trace. */
class BadInputTest {
    @TempDir Path tmp;

    private String runExpectingError(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args);
        String text = err.toString().strip();
        assertThat(code).as("exit code of %s", String.join(" ", args)).isNotZero();
        assertThat(text.lines().count()).as("error output: %s", text).isEqualTo(1);
        assertThat(text).startsWith("tandem: ").doesNotContain("Exception", "\tat ");
        return text;
    }

    private String[] train(String... extra) {
        String[] base = {"train", "--runs_dir", tmp.toString(), "--steps", "1", "--n_layer", "1", "--n_embd", "16",
                "--n_head", "2", "--block_size", "8", "--batch_size", "2", "--tokenizer", tmp.resolve("tok.json").toString(),
                "--vocab_size", "300"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void missingCorpus() {
        assertThat(runExpectingError(train("--corpus", tmp.resolve("nope.txt").toString()))).contains("nope.txt", "does not exist");
    }

    @Test
    void emptyCorpus() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        assertThat(runExpectingError(train("--corpus", empty.toString()))).contains("empty");
    }

    @Test
    void nonUtf8Corpus() throws Exception {
        Path bad = Files.write(tmp.resolve("latin1.txt"), "caf\u00e9 au lait, encore du caf\u00e9".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(runExpectingError(train("--corpus", bad.toString()))).contains("not valid UTF-8", "byte offset 3");
    }

    @Test
    void unknownConfigKey() {
        assertThat(runExpectingError("train", "--n_layers", "2")).contains("unknown config key 'n_layers'", "n_layer");
    }

    @Test
    void unknownKeyInConfigFile() throws Exception {
        Path cfg = Files.writeString(tmp.resolve("c.toml"), "n_layer = 2\nlearning_rate = 0.1\n");
        assertThat(runExpectingError("train", "--config", cfg.toString())).contains("learning_rate", cfg.toString());
    }

    @Test
    void wronglyTypedValue() {
        assertThat(runExpectingError("train", "--steps", "many")).contains("'steps'");
    }

    @Test
    void impossibleShape() {
        assertThat(runExpectingError("train", "--n_embd", "100", "--n_head", "3")).contains("n_embd (100) is not divisible by n_head (3)");
    }

    @Test
    void indivisibleBatch() {
        assertThat(runExpectingError("train", "--batch_size", "5", "--micro_batches", "2")).contains("batch_size (5)");
    }

    @Test
    void promptLongerThanBlockSize() throws Exception {
        assertThat(Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                train("--name", "p", "--corpus", "data/tinyshakespeare.txt", "--eval_batches", "1"))).isZero();
        Path model = tmp.resolve("p").resolve("model");
        String longPrompt = "ROMEO: ".repeat(40);
        assertThat(runExpectingError("generate", "--checkpoint", model.toString(), "--prompt", longPrompt)).contains("block_size is 8");
    }

    @Test
    void missingCheckpoint() {
        assertThat(runExpectingError("generate", "--checkpoint", tmp.resolve("none").toString(), "--prompt", "x")).contains("does not exist");
    }
}
