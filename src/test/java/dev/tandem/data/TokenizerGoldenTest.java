package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Parity with GPT-2's own encoder: the expected pieces and ids (data only) were produced once,
 * outside this repository, by running OpenAI's published GPT-2 encoder with Python's
 * {@code regex} module over data/tokenizer-shakespeare-2k.json, on edge cases: whitespace runs,
 * Unicode spaces, control characters, contractions, emoji, CJK.
 */
class TokenizerGoldenTest {
    @Test
    void matchesGpt2sReferenceEncoder() throws IOException {
        ObjectMapper json = new ObjectMapper();
        int cases = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                TokenizerGoldenTest.class.getResourceAsStream("gpt2-reference-cases.jsonl"), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; cases++) {
                JsonNode c = json.readTree(line);
                String text = c.get("text").asText();
                List<String> pieces = new ArrayList<>();
                c.get("pieces").forEach(p -> pieces.add(p.asText()));
                int[] ids = new int[c.get("ids").size()];
                for (int i = 0; i < ids.length; i++) ids[i] = c.get("ids").get(i).asInt();
                assertThat(PreTokenizer.split(text)).as("pieces of %s", line).isEqualTo(pieces);
                assertThat(TokenizerTest.SHAKESPEARE.encode(text)).as("ids of %s", line).containsExactly(ids);
            }
        }
        assertThat(cases).isGreaterThan(300);
    }
}
