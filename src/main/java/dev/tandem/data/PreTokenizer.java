package dev.tandem.data;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's pre-tokenization: the text is split into words by a regular expression before BPE, and
 * merges never cross a word boundary. The pattern is GPT-2's, verbatim. Java's engine backtracks
 * like Python's, so {@code \s+(?!\S)} gives back the last whitespace character of a run followed by
 * a word (which then joins the word as its leading space), exactly as GPT-2 does.
 *
 * <p>{@code UNICODE_CHARACTER_CLASS} makes {@code \s} the Unicode White_Space property, as in the
 * Python {@code regex} module GPT-2 used; without it Java's {@code \s} is ASCII-only and e.g. a
 * no-break space would be glued to the following word.
 */
public final class PreTokenizer {
    public static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final Pattern PATTERN = Pattern.compile(GPT2_PATTERN, Pattern.UNICODE_CHARACTER_CLASS);

    private PreTokenizer() {}

    /** Calls {@code word} for each pre-token of {@code text}, in order; they concatenate to the text. */
    public static void split(CharSequence text, Consumer<String> word) {
        Matcher m = PATTERN.matcher(text);
        while (m.find()) word.accept(m.group());
    }

    public static List<String> split(CharSequence text) {
        List<String> out = new ArrayList<>();
        split(text, out::add);
        return out;
    }
}
