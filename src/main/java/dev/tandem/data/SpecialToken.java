package dev.tandem.data;

/** A token that BPE never produces from text, such as {@code <|endoftext|>}; ordinary encoding never emits it. */
public record SpecialToken(int id, String content) {
    public static final String END_OF_TEXT = "<|endoftext|>";
}
