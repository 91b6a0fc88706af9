package dev.tandem.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Decodes tokens one at a time for printing as they are generated. A token can end in the middle
 * of a multi-byte character (an emoji is often two or three byte tokens), so bytes are held back
 * until they complete a character; decoding each token on its own would print U+FFFD garbage.
 * Not thread-safe: one per output stream.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public StreamDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds a token; returns the text it completes (possibly empty). */
    public String push(int id) {
        pending.writeBytes(tokenizer.decodeBytes(new int[] {id}));
        byte[] bytes = pending.toByteArray();
        int complete = completePrefix(bytes);
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whatever is still held back (an unfinished character becomes U+FFFD); resets the decoder. */
    public String finish() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /**
     * Length of the longest prefix that does not end inside an unfinished UTF-8 sequence. Only the
     * last three bytes can belong to one; invalid bytes are let through (they decode to U+FFFD now
     * rather than waiting forever).
     */
    static int completePrefix(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int lead = b[n - back] & 0xFF;
            if (lead < 0x80) return n;                 // ASCII: everything before is complete
            if (lead >= 0xC0) {                        // a lead byte: is its sequence finished?
                int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
                return back < need ? n - back : n;
            }
            // a continuation byte: keep looking back for its lead
        }
        return n;
    }
}
