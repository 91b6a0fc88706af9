package dev.tandem.comm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The 32 bytes in front of every message: which group, operation kind and sequence number the
 * message belongs to, who sent it and how many payload bytes follow. The receiver compares it
 * with what it expects, which turns a mismatched collective order into a clear error.
 */
record MessageHeader(int groupId, OpKind kind, long seq, int srcRank, long bytes) {
    static final int SIZE = 32;
    private static final int MAGIC = 0x54444d31; // "TDM1"
    private static final OpKind[] KINDS = OpKind.values();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    void write(MemorySegment to) {
        write(to, 0);
    }

    /** Writes this header at {@code offset} of {@code to} (no slice: this runs for every message). */
    void write(MemorySegment to, long offset) {
        to.set(INT, offset, MAGIC);
        to.set(INT, offset + 4, groupId);
        to.set(INT, offset + 8, kind.ordinal());
        to.set(INT, offset + 12, srcRank);
        to.set(LONG, offset + 16, seq);
        to.set(LONG, offset + 24, bytes);
    }

    static MessageHeader read(MemorySegment from) {
        return read(from, 0);
    }

    static MessageHeader read(MemorySegment from, long offset) {
        int magic = from.get(INT, offset);
        if (magic != MAGIC) {
            throw new IllegalStateException(String.format("corrupt message header (magic %08x)", magic));
        }
        int kind = from.get(INT, offset + 8);
        if (kind < 0 || kind >= KINDS.length) throw new IllegalStateException("corrupt message header (kind " + kind + ")");
        return new MessageHeader(from.get(INT, offset + 4), KINDS[kind], from.get(LONG, offset + 16), from.get(INT, offset + 12),
                from.get(LONG, offset + 24));
    }

    /** Throws {@link Mismatch} unless {@code actual} is the message this header expects. */
    void check(MessageHeader actual) {
        if (!equals(actual)) throw new Mismatch(this, actual);
    }

    /**
     * As {@link #check} for the header at {@code offset} of {@code from}, reading it in place: a
     * header object is made only for the error (this runs for every message received).
     */
    void checkAt(MemorySegment from, long offset) {
        if (from.get(INT, offset) != MAGIC || from.get(INT, offset + 4) != groupId || from.get(INT, offset + 8) != kind.ordinal()
                || from.get(INT, offset + 12) != srcRank || from.get(LONG, offset + 16) != seq || from.get(LONG, offset + 24) != bytes) {
            check(read(from, offset));
        }
    }

    String describe() {
        return kind.label() + " #" + seq + " (" + bytes + " bytes, group id " + Integer.toHexString(groupId) + ")";
    }

    /** Internal signal from a link; the exchange turns it into a {@link CollectiveMismatchException}. */
    static final class Mismatch extends RuntimeException {
        final MessageHeader expected;
        final MessageHeader actual;

        Mismatch(MessageHeader expected, MessageHeader actual) {
            super(null, null, false, false);
            this.expected = expected;
            this.actual = actual;
        }
    }
}
