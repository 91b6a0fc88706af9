package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerJsonTest {
    /**
     * A cut-down GPT-2 tokenizer.json, byte for byte in GPT-2's layout (compact, no model.type,
     * "a b" merges, <|endoftext|> in both vocab and added_tokens): GPT-2's 256 byte tokens in its
     * id order and its first 7 merges, which keep their GPT-2 ids (256 "Ġt" … 262 "Ġthe").
     */
    static String gpt2Tiny() throws IOException {
        try (InputStream in = TokenizerJsonTest.class.getResourceAsStream("gpt2-format-tiny.json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void loadsGpt2sFormatWithGpt2Ids(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, gpt2Tiny());
        Tokenizer tok = TokenizerJson.load(file);
        assertThat(tok.vocabSize()).isEqualTo(264);
        assertThat(tok.endOfText()).isEqualTo(263);
        // GPT-2's ids: "Ġthe" 262, "Ċ" 198, "T" 51, "he" 258, "n" 77, "Ġ" 220.
        assertThat(tok.encode(" the\n")).containsExactly(262, 198);
        assertThat(tok.encode("Then")).containsExactly(51, 258, 77);
        assertThat(tok.encode("  the")).containsExactly(220, 262);
        assertThat(tok.decode(tok.encode("Then the end.\n"))).isEqualTo("Then the end.\n");
    }

    @Test
    void acceptsMergesAsPairs() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(gpt2Tiny());
        ArrayNode pairs = json.createArrayNode();
        root.path("model").path("merges").forEach(m -> {
            String[] p = m.asText().split(" ");
            pairs.addArray().add(p[0]).add(p[1]);
        });
        ((ObjectNode) root.path("model")).set("merges", pairs);
        ((ObjectNode) root.path("model")).put("type", "BPE");
        Tokenizer fromPairs = TokenizerJson.parse(json.writeValueAsString(root));
        Tokenizer fromStrings = TokenizerJson.parse(gpt2Tiny());
        assertThat(fromPairs.fingerprint()).isEqualTo(fromStrings.fingerprint());
    }

    @Test
    void saveThenLoadGivesTheSameTokenizer(@TempDir Path dir) {
        Tokenizer tok = BpeTrainer.train("It is the east, and Juliet is the sun. ".repeat(10), 300, BpeTrainer.Progress.NONE);
        Path file = dir.resolve("out/tokenizer.json");
        TokenizerJson.save(tok, file);
        Tokenizer back = TokenizerJson.load(file);
        assertThat(back.fingerprint()).isEqualTo(tok.fingerprint());
        assertThat(back.encode("Juliet is the sun")).containsExactly(tok.encode("Juliet is the sun"));
    }

    @Test
    void shippedTokenizerIsWhatTheTrainerProduces() throws IOException {
        // data/tokenizer-shakespeare-2k.json must stay reproducible from the bundled corpus.
        Corpus corpus = Corpus.read(Path.of("data/tinyshakespeare.txt"));
        Tokenizer trained = BpeTrainer.train(corpus.text(), 2048, BpeTrainer.Progress.NONE);
        assertThat(TokenizerJson.toJson(trained)).isEqualTo(Files.readString(Path.of("data/tokenizer-shakespeare-2k.json")));
    }

    @Test
    void refusesWhatItDoesNotImplement() throws IOException {
        assertThatThrownBy(() -> TokenizerJson.parse(gpt2Tiny().replace("\"dropout\":null", "\"type\":\"WordPiece\",\"dropout\":null")))
                .isInstanceOf(TandemException.class).hasMessageContaining("model.type");
        assertThatThrownBy(() -> TokenizerJson.parse(gpt2Tiny().replace("\"add_prefix_space\":false", "\"add_prefix_space\":true")))
                .hasMessageContaining("add_prefix_space");
        assertThatThrownBy(() -> TokenizerJson.parse(gpt2Tiny().replace("\"normalizer\":null", "\"normalizer\":{\"type\":\"NFC\"}")))
                .hasMessageContaining("normalizer");
        assertThatThrownBy(() -> TokenizerJson.parse(gpt2Tiny().replace("\"h e\"", "\"h q\"")))
                .hasMessageContaining("model.merges[2]");
        assertThatThrownBy(() -> TokenizerJson.parse(gpt2Tiny().replace("\"!\":0,", "")))
                .hasMessageContaining("byte 0x21");
    }

    @Test
    void missingOrBrokenFileIsOneClearError(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> TokenizerJson.load(dir.resolve("nope.json")))
                .isInstanceOf(TandemException.class).hasMessageContaining("does not exist");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"model\": ");
        assertThatThrownBy(() -> TokenizerJson.load(bad)).isInstanceOf(TandemException.class).hasMessageContaining("not valid JSON");
    }
}
