package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Known answers worked out by hand from the word counts. */
class BpeTrainerTest {
    private static List<String> mergeStrings(Tokenizer tok) {
        return tok.merges().stream()
                .map(m -> new String(tok.tokenBytes(m.left()), StandardCharsets.UTF_8) + "+"
                        + new String(tok.tokenBytes(m.right()), StandardCharsets.UTF_8))
                .toList();
    }

    @Test
    void learnsTheMostFrequentPairFirst() {
        // Words: "ab", " ab" ×2, " abc". Pairs: (a,b)=4, ( ,a)=3, (b,c)=1 → merge "ab" (id 256).
        // Then ( ,ab)=3, (ab,c)=1 → " ab" (257). Then ( ab,c)=1 → " abc" (258). Then nothing is left.
        Tokenizer tok = BpeTrainer.train("ab ab ab abc", 260, BpeTrainer.Progress.NONE);
        assertThat(mergeStrings(tok)).containsExactly("a+b", " +ab", " ab+c");
        assertThat(tok.merges()).containsExactly(new Merge('a', 'b', 256), new Merge(' ', 256, 257), new Merge(257, 'c', 258));
        assertThat(tok.vocabSize()).isEqualTo(260);
        assertThat(tok.endOfText()).isEqualTo(259);
        assertThat(tok.encode("ab abc abd")).containsExactly(256, 258, 257, 'd');
    }

    @Test
    void tiesGoToTheSmallerPairOfIds() {
        // Words "xy", " yz": every pair occurs once; ( ,y) has the smallest ids, then (x,y), then ( y,z).
        Tokenizer tok = BpeTrainer.train("xy yz", 300, BpeTrainer.Progress.NONE);
        assertThat(mergeStrings(tok)).containsExactly(" +y", "x+y", " y+z");
    }

    @Test
    void stopsEarlyWhenNoPairIsLeft() {
        Tokenizer tok = BpeTrainer.train("ab ab ab abc", 1000, BpeTrainer.Progress.NONE);
        assertThat(tok.vocabSize()).isEqualTo(260);
    }

    @Test
    void overlappingPairsMergeLeftToRight() {
        // "aaaa" ×1 and " " is absent: pairs (a,a)=3 → "aa"; the word becomes [aa, aa]; then (aa,aa)=1.
        Tokenizer tok = BpeTrainer.train("aaaa", 259, BpeTrainer.Progress.NONE);
        assertThat(mergeStrings(tok)).containsExactly("a+a", "aa+aa");
        assertThat(tok.encode("aaaaa")).containsExactly(257, 'a');
        assertThat(tok.encode("aaa")).containsExactly(256, 'a');
    }

    @Test
    void encodingTheTrainingTextUsesTheLearnedTokens() {
        String text = "the cat sat on the mat; the cat ate the rat. ".repeat(20);
        Tokenizer tok = BpeTrainer.train(text, 300, BpeTrainer.Progress.NONE);
        int[] ids = tok.encode(text);
        assertThat(tok.decode(ids)).isEqualTo(text);
        assertThat(ids.length).isLessThan(text.length() / 3);
    }

    @Test
    void rejectsImpossibleVocabularySizes() {
        assertThatThrownBy(() -> BpeTrainer.train("abc", 256, BpeTrainer.Progress.NONE)).hasMessageContaining("256");
        assertThatThrownBy(() -> BpeTrainer.train("abc", BpeTrainer.MAX_VOCAB + 1, BpeTrainer.Progress.NONE))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
