package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
    static final Tokenizer TOK = TokenizerTest.SHAKESPEARE;

    @Test
    void buildsOnceThenReusesTheCache(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("c.txt");
        String text = "First Citizen:\nBefore we proceed any further, hear me speak.\n";
        Files.writeString(corpus, text);
        Path cache = dir.resolve("cache/c.tokens");
        List<String> log = new ArrayList<>();
        try (TokenFile f = TokenFile.openOrBuild(corpus, TOK, cache, log::add)) {
            int[] expected = TOK.encode(text);
            assertThat(f.size()).isEqualTo(expected.length);
            for (int i = 0; i < expected.length; i++) assertThat(f.get(i)).isEqualTo(expected[i]);
            assertThat(f.header().vocabSize()).isEqualTo(TOK.vocabSize());
            assertThat(f.header().corpusBytes()).isEqualTo(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            assertThat(f.header().tokenizerSha256()).isEqualTo(TOK.fingerprint());
        }
        assertThat(log).anyMatch(l -> l.contains("not built yet"));

        log.clear();
        try (TokenFile f = TokenFile.openOrBuild(corpus, TOK, cache, log::add)) {
            assertThat(log).isEmpty();
        }

        // The layout is documented: magic, then little-endian fields, tokens from byte 128.
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(cache)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(raw.array(), 0, 8, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("TANDTOKS");
        assertThat(raw.getInt(8)).isEqualTo(1);
        assertThat(raw.getInt(12)).isEqualTo(TOK.vocabSize());
        assertThat(raw.getInt(128)).isEqualTo(TOK.encode(text)[0]);
    }

    @Test
    void aChangedCorpusOrTokenizerOrDamagedFileIsRebuilt(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("c.txt");
        Files.writeString(corpus, "to be or not to be");
        Path cache = dir.resolve("c.tokens");
        TokenFile.openOrBuild(corpus, TOK, cache, s -> {}).close();

        Files.writeString(corpus, "that is the question");
        List<String> log = new ArrayList<>();
        try (TokenFile f = TokenFile.openOrBuild(corpus, TOK, cache, log::add)) {
            assertThat(log.getFirst()).contains("corpus changed");
            assertThat(f.size()).isEqualTo(TOK.encode("that is the question").length);
        }

        Tokenizer other = BpeTrainer.train("that is the question ".repeat(5), 270, BpeTrainer.Progress.NONE);
        log.clear();
        TokenFile.openOrBuild(corpus, other, cache, log::add).close();
        assertThat(log.getFirst()).contains("tokenizer changed");

        byte[] bytes = Files.readAllBytes(cache);
        Files.write(cache, java.util.Arrays.copyOf(bytes, bytes.length - 2));
        log.clear();
        TokenFile.openOrBuild(corpus, other, cache, log::add).close();
        assertThat(log.getFirst()).contains("truncated");

        Files.writeString(cache, "garbage");
        log.clear();
        TokenFile.openOrBuild(corpus, other, cache, log::add).close();
        assertThat(log.getFirst()).contains("shorter than its header");
    }
}
