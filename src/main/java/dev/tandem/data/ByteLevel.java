package dev.tandem.data;

/**
 * GPT-2's reversible byte ↔ character mapping. Byte-level BPE works on bytes, but tokenizer.json
 * stores tokens as strings; GPT-2 maps every byte to a printable character so that no token string
 * contains whitespace or control characters (space becomes 'Ġ', newline 'Ċ'). We must use exactly
 * this table to read and write files that other tools (Hugging Face, tiktoken) understand.
 */
public final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256; // the rest are shifted above 255, in byte order, as GPT-2 does
        for (int b = 0; b < 256; b++) {
            char c = printable[b] ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    /** The character that stands for byte {@code b} (0..255). */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a character stands for, or -1 if the character is not in the table. */
    public static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** Bytes as a byte-level string (one char per byte). */
    public static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /** A byte-level string back to bytes, or null if some char is outside the table. */
    public static byte[] decode(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < s.length(); i++) {
            int b = byteOf(s.charAt(i));
            if (b < 0) return null;
            out[i] = (byte) b;
        }
        return out;
    }
}
