package dev.tandem.data;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The fixed 128-byte header of a token file (all little-endian):
 * <pre>
 *   0  magic "TANDTOKS"      8 bytes
 *   8  version              int32 (1)
 *  12  vocab size           int32
 *  16  token count          int64
 *  24  corpus size (bytes)  int64
 *  32  tokenizer SHA-256    32 bytes ({@link Tokenizer#fingerprint()})
 *  64  corpus SHA-256       32 bytes (of the corpus file's bytes)
 *  96  reserved, zero       32 bytes
 * 128  tokens               int32 × token count
 * </pre>
 * The two digests say whether a cached file still matches its corpus and tokenizer.
 */
public record TokenFileHeader(int vocabSize, long tokenCount, long corpusBytes, String tokenizerSha256, String corpusSha256) {
    public static final int SIZE = 128;
    public static final int VERSION = 1;
    static final byte[] MAGIC = "TANDTOKS".getBytes(StandardCharsets.US_ASCII);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The file size this header implies. */
    public long fileBytes() {
        return SIZE + 4 * tokenCount;
    }

    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(vocabSize).putLong(tokenCount).putLong(corpusBytes);
        b.put(HexFormat.of().parseHex(tokenizerSha256)).put(HexFormat.of().parseHex(corpusSha256));
        return b.position(0);
    }

    /** Parses a header, or returns null with the reason in {@code why[0]} if it is not one we can read. */
    static TokenFileHeader decode(MemorySegment s, String[] why) {
        if (s.byteSize() < SIZE) {
            why[0] = "shorter than its header";
            return null;
        }
        byte[] magic = s.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            why[0] = "not a Tandem token file";
            return null;
        }
        int version = s.get(I32, 8);
        if (version != VERSION) {
            why[0] = "format version " + version + ", expected " + VERSION;
            return null;
        }
        HexFormat hex = HexFormat.of();
        return new TokenFileHeader(s.get(I32, 12), s.get(I64, 16), s.get(I64, 24),
                hex.formatHex(s.asSlice(32, 32).toArray(ValueLayout.JAVA_BYTE)),
                hex.formatHex(s.asSlice(64, 32).toArray(ValueLayout.JAVA_BYTE)));
    }
}
