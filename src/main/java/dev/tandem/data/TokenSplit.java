package dev.tandem.data;

import java.lang.foreign.MemorySegment;

/**
 * A contiguous range of tokens (the training or the validation part). Knows how many UTF-8 bytes
 * its tokens stand for, which turns a loss per token into bits per byte; tokens given without a
 * tokenizer stand for no known bytes (0), and their bits per byte are not defined.
 */
public final class TokenSplit {
    private final String name;
    private final MemorySegment tokens;
    private final long size;
    private final Tokenizer tokenizer; // null: token ids without a tokenizer
    private long bytes = -1;

    TokenSplit(String name, MemorySegment tokens, Tokenizer tokenizer) {
        this.name = name;
        this.tokens = tokens;
        this.size = tokens.byteSize() / 4;
        this.tokenizer = tokenizer;
    }

    /** "train" or "validation" (for messages). */
    public String name() {
        return name;
    }

    public long size() {
        return size;
    }

    public int get(long index) {
        return tokens.getAtIndex(TokenFile.TOKEN, index);
    }

    /** Copies {@code count} tokens starting at {@code from} into {@code dst[offset..]}. */
    public void copy(long from, int[] dst, int offset, int count) {
        MemorySegment.copy(tokens, TokenFile.TOKEN, from * 4, dst, offset, count);
    }

    /** The tokenizer the tokens were made with, or null for token ids given without one. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** UTF-8 bytes token {@code id} stands for; 0 without a tokenizer. */
    public int tokenBytes(int id) {
        return tokenizer == null ? 0 : tokenizer.tokenByteLength(id);
    }

    /**
     * UTF-8 bytes the split decodes to: the sum of its tokens' byte lengths (exact even where the
     * split boundary cuts a multi-byte character); 0 without a tokenizer.
     */
    public synchronized long utf8Bytes() {
        if (bytes < 0) {
            long sum = 0;
            for (long i = 0; tokenizer != null && i < size; i++) sum += tokenizer.tokenByteLength(get(i));
            bytes = sum;
        }
        return bytes;
    }

    /**
     * Bytes per token. Bits per byte = (mean loss in nats per token) / ln 2 / bytesPerToken; for a
     * subset of tokens, use the subset's own byte count ({@link Batch#targetBytes()}). NaN without a
     * tokenizer.
     */
    public double bytesPerToken() {
        return tokenizer == null ? Double.NaN : (double) utf8Bytes() / size;
    }
}
