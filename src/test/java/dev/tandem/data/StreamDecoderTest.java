package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class StreamDecoderTest {
    private static final Tokenizer TOK = TokenizerTest.SHAKESPEARE;

    @Test
    void holdsBackAnEmojiUntilItsLastByte() {
        int[] ids = TOK.encode("😀"); // four byte tokens: no emoji merges in a Shakespeare vocabulary
        assertThat(ids).hasSize(4);
        StreamDecoder d = new StreamDecoder(TOK);
        assertThat(d.push(ids[0])).isEmpty();
        assertThat(d.push(ids[1])).isEmpty();
        assertThat(d.push(ids[2])).isEmpty();
        assertThat(d.push(ids[3])).isEqualTo("😀");
    }

    @Test
    void anUnfinishedCharacterIsFlushedAsReplacement() {
        StreamDecoder d = new StreamDecoder(TOK);
        int[] ids = TOK.encode("é");
        assertThat(d.push(ids[0])).isEmpty();
        assertThat(d.finish()).isEqualTo("\uFFFD");
    }

    @Property(tries = 200, seed = "20261126")
    void streamingGivesTheSameTextAsDecodingAtOnce(@ForAll("unicode") String s) {
        StreamDecoder d = new StreamDecoder(TOK);
        StringBuilder out = new StringBuilder();
        for (int id : TOK.encode(s)) out.append(d.push(id));
        out.append(d.finish());
        assertThat(out.toString()).isEqualTo(s);
    }

    @Provide
    Arbitrary<String> unicode() {
        return TextArbitraries.unicodeText();
    }
}
