package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    /** The tokenizer shipped with the repository (trained on tinyshakespeare). */
    static final Tokenizer SHAKESPEARE = TokenizerJson.load(Path.of("data/tokenizer-shakespeare-2k.json"));
    /** A tokenizer trained on text over a tiny alphabet, so that words go through many merges. */
    static final Tokenizer SMALL_ALPHABET = BpeTrainer.train(randomText(new java.util.SplittableRandom(7), 20_000), 400,
            BpeTrainer.Progress.NONE);

    static Tokenizer bytesPlus(List<byte[]> extra, List<Merge> merges) {
        List<byte[]> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(new byte[] {(byte) b});
        tokens.addAll(extra);
        return new Tokenizer(tokens, merges, List.of());
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void lowerRankWinsOverPosition() {
        // rank 0: b+c, rank 1: a+b. GPT-2 merges the lowest rank first wherever it is: a|bc.
        Tokenizer tok = bytesPlus(List.of(b("bc"), b("ab")), List.of(new Merge('b', 'c', 256), new Merge('a', 'b', 257)));
        assertThat(tok.encode("abc")).containsExactly('a', 256);
        assertThat(tok.encode("abab")).containsExactly(257, 257);
    }

    @Test
    void equalRanksMergeLeftmostFirst() {
        Tokenizer tok = bytesPlus(List.of(b("aa")), List.of(new Merge('a', 'a', 256)));
        assertThat(tok.encode("aaa")).containsExactly(256, 'a');
        assertThat(tok.encode("aaaa")).containsExactly(256, 256);
    }

    @Test
    void specialTokenTextIsPlainText() {
        int[] ids = SHAKESPEARE.encode("<|endoftext|>");
        assertThat(ids).doesNotContain(SHAKESPEARE.endOfText());
        assertThat(SHAKESPEARE.decode(ids)).isEqualTo("<|endoftext|>");
        assertThat(SHAKESPEARE.decode(new int[] {SHAKESPEARE.endOfText()})).isEqualTo("<|endoftext|>");
        assertThat(SHAKESPEARE.endOfText()).isEqualTo(SHAKESPEARE.vocabSize() - 1);
    }

    @Test
    void decodeOfACutCharacterUsesTheReplacementCharacter() {
        int[] ids = SHAKESPEARE.encode("é"); // two bytes, no merge for them in an English vocabulary
        assertThat(ids).hasSize(2);
        assertThat(SHAKESPEARE.decode(new int[] {ids[0]})).isEqualTo("\uFFFD");
        assertThat(SHAKESPEARE.decodeBytes(ids)).isEqualTo(b("é"));
    }

    @Test
    void unknownIdIsRejected() {
        assertThatThrownBy(() -> SHAKESPEARE.decode(new int[] {SHAKESPEARE.vocabSize()})).isInstanceOf(IllegalArgumentException.class);
    }

    @Property(tries = 500, seed = "20261126")
    void decodeInvertsEncode(@ForAll("unicode") String s) {
        assertThat(SHAKESPEARE.decode(SHAKESPEARE.encode(s))).isEqualTo(s);
        assertThat(SMALL_ALPHABET.decode(SMALL_ALPHABET.encode(s))).isEqualTo(s);
    }

    @Property(tries = 300, seed = "20261126")
    void heapMergingMatchesGpt2sReferenceLoop(@ForAll("smallAlphabet") String s) {
        for (String word : PreTokenizer.split(s)) {
            assertThat(SMALL_ALPHABET.encodeWord(word)).containsExactly(Gpt2Reference.bpe(SMALL_ALPHABET, word));
        }
    }

    @Test
    void veryLongWordsEncodeQuickly() {
        // One 200k-character word: quadratic merging would take minutes; the heap takes milliseconds.
        String digits = "1234567890".repeat(20_000);
        int[] ids = SHAKESPEARE.encode(digits);
        assertThat(SHAKESPEARE.decode(ids)).isEqualTo(digits);
    }

    @Provide
    Arbitrary<String> unicode() {
        return TextArbitraries.unicodeText();
    }

    @Provide
    Arbitrary<String> smallAlphabet() {
        return Arbitraries.strings().withChars("ab c\n").ofMaxLength(60);
    }

    static String randomText(java.util.SplittableRandom rnd, int length) {
        String alphabet = "aaabbc  \n";
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        return sb.toString();
    }
}
