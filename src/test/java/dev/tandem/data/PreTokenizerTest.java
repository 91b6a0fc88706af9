package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** Expected splits are what GPT-2's encoder (Python regex module) gives for the same input. */
class PreTokenizerTest {
    @Test
    void wordsTakeTheirLeadingSpace() {
        assertThat(PreTokenizer.split("Hello world")).containsExactly("Hello", " world");
        assertThat(PreTokenizer.split("ROMEO: O, she doth")).containsExactly("ROMEO", ":", " O", ",", " she", " doth");
    }

    @Test
    void contractionsAreCaseSensitive() {
        assertThat(PreTokenizer.split("I'm he'll they've")).containsExactly("I", "'m", " he", "'ll", " they", "'ve");
        assertThat(PreTokenizer.split("I'M")).containsExactly("I", "'", "M");
    }

    @Test
    void whitespaceRunGivesItsLastSpaceToTheNextWord() {
        // \s+(?!\S) backtracks by one character so the word keeps its leading space.
        assertThat(PreTokenizer.split("a   b")).containsExactly("a", "  ", " b");
        assertThat(PreTokenizer.split("   leading")).containsExactly("  ", " leading");
        assertThat(PreTokenizer.split("trailing   ")).containsExactly("trailing", "   ");
        assertThat(PreTokenizer.split("a\n\nb")).containsExactly("a", "\n", "\n", "b");
        assertThat(PreTokenizer.split("a \n b")).containsExactly("a", " \n", " b");
    }

    @Test
    void numbersPunctuationAndSymbols() {
        assertThat(PreTokenizer.split("in 1999, $42.50!")).containsExactly("in", " 1999", ",", " $", "42", ".", "50", "!");
        assertThat(PreTokenizer.split("x😀😀 y")).containsExactly("x", "😀😀", " y");
        assertThat(PreTokenizer.split("日本語 テキスト")).containsExactly("日本語", " テキスト");
    }

    @Test
    void unicodeWhitespaceIsWhitespace() {
        // U+3000 (ideographic space) and U+00A0 are White_Space; Java's default \s would not see them.
        assertThat(PreTokenizer.split("a\u3000b")).containsExactly("a", "\u3000", "b");
        // As whitespace, a run of no-break spaces gives back its last one (which, not being ' ',
        // cannot join the word): ASCII-only \s would instead glue both into one symbol piece.
        assertThat(PreTokenizer.split("a\u00A0\u00A0b")).containsExactly("a", "\u00A0", "\u00A0", "b");
    }

    @Property(tries = 300, seed = "20261126")
    void piecesConcatenateToTheInput(@ForAll("text") String s) {
        assertThat(String.join("", PreTokenizer.split(s))).isEqualTo(s);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> text() {
        return TextArbitraries.unicodeText();
    }
}
