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
        to.set(INT, 0, MAGIC);
        to.set(INT, 4, groupId);
        to.set(INT, 8, kind.ordinal());
        to.set(INT, 12, srcRank);
        to.set(LONG, 16, seq);
        to.set(LONG, 24, bytes);
    }

    static MessageHeader read(MemorySegment from) {
        int magic = from.get(INT, 0);
        if (magic != MAGIC) {
            throw new IllegalStateException(String.format("corrupt message header (magic %08x)", magic));
        }
        int kind = from.get(INT, 8);
        if (kind < 0 || kind >= KINDS.length) throw new IllegalStateException("corrupt message header (kind " + kind + ")");
        return new MessageHeader(from.get(INT, 4), KINDS[kind], from.get(LONG, 16), from.get(INT, 12), from.get(LONG, 24));
    }

    /** Throws {@link Mismatch} unless {@code actual} is the message this header expects. */
    void check(MessageHeader actual) {
        if (!equals(actual)) throw new Mismatch(this, actual);
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
