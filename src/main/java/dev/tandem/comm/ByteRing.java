package dev.tandem.comm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A single-producer single-consumer byte ring over a memory segment: in-process memory for
 * ranks-as-threads, a memory-mapped file for ranks-as-processes on one host. The head (bytes
 * written) and tail (bytes read) counters sit on their own cache lines and are published with
 * release/acquire ordering, so no lock or system call is on the data path.
 *
 * <p>Layout: head @0, tail @64, writer-closed @128, reader-closed @192, then the words of the
 * single-copy path ({@link DirectPath}): payloads read in place @256 (counted by the reader), the
 * writer's process id @320 and the address of its probe word @384 (published at set-up), whether
 * the reader can read the writer's memory @448 (0 unknown, 1 yes, 2 no); data @512. The writer
 * keeps every message 8-byte aligned (see {@link RingLink}), so readers see whole elements.
 */
final class ByteRing {
    static final long DATA = 512;
    private static final long HEAD = 0, TAIL = 64, WRITER_CLOSED = 128, READER_CLOSED = 192;
    private static final long DIRECT_READS = 256, WRITER_PID = 320, WRITER_PROBE = 384, READER_CAN_READ = 448;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    /**
     * Mixed into a seal's position, so that a seal's top bits are set: it can never equal an
     * address (the word of a payload read in place) or a small count, and ordinary data left from
     * an earlier lap of the ring matches the seal of its position with negligible probability.
     */
    private static final long SEAL_KEY = 0x9E3779B97F4A7C15L;

    private final MemorySegment ctrl;
    private final MemorySegment data;
    private final long capacity;
    private final long mask;
    private long head; // used only by the writer
    private long tailSeen; // the reader's tail as the writer last read it; used only by the writer
    private long tail; // used only by the reader

    ByteRing(MemorySegment segment) {
        this.ctrl = segment;
        this.capacity = segment.byteSize() - DATA;
        if (capacity < 4096 || Long.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("ring capacity must be a power of two >= 4096: " + capacity);
        }
        this.mask = capacity - 1;
        this.data = segment.asSlice(DATA, capacity);
        this.head = (long) LONG.getAcquire(segment, HEAD);
        this.tail = (long) LONG.getAcquire(segment, TAIL);
        this.tailSeen = tail;
    }

    /** Segment size for a ring holding {@code capacity} data bytes. */
    static long segmentBytes(long capacity) {
        return DATA + capacity;
    }

    long capacity() {
        return capacity;
    }

    // ---- writer side ----

    /**
     * Free bytes: at least {@code wanted} where the ring has them, possibly more. The reader's tail
     * is read again only when the free space last seen falls short of {@code wanted}. Reading it is
     * a cache miss whenever the reader has consumed since (it writes the tail after every message),
     * and it is the writer's first step, so reading it every time put a core-to-core transfer in
     * front of every small message. Seen this way, the tail moves only every ring's worth of them.
     */
    long writable(long wanted) {
        long free = capacity - (head - tailSeen);
        if (free >= wanted) return free;
        tailSeen = (long) LONG.getAcquire(ctrl, TAIL);
        return capacity - (head - tailSeen);
    }

    void put(MemorySegment src, long srcOffset, long n) {
        long pos = head & mask;
        long first = Math.min(n, capacity - pos);
        MemorySegment.copy(src, srcOffset, data, pos, first);
        if (first < n) MemorySegment.copy(src, srcOffset + first, data, 0, n - first);
        head += n;
    }

    void skip(long n) {
        head += n;
    }

    /** The writer's position: where the next byte put goes (bytes written since the ring began). */
    long head() {
        return head;
    }

    /**
     * Marks the message whose first word is at {@code position} as written in full: stores that
     * word's seal with release ordering, after everything put before it. A reader that finds the
     * seal at its tail may read the whole message without looking at the head, which is another
     * cache line the writer has just changed: that saves one transfer between cores per message.
     */
    void seal(long position) {
        LONG.setRelease(data, position & mask, position ^ SEAL_KEY);
    }

    void publish() {
        LONG.setRelease(ctrl, HEAD, head);
    }

    // ---- reader side ----

    long readable() {
        return (long) LONG.getAcquire(ctrl, HEAD) - tail;
    }

    /** Whether the message at the tail was sealed by the writer ({@link #seal}): then all of it is readable. */
    boolean sealedAtTail() {
        return isSealAtTail((long) LONG.getAcquire(data, tail & mask));
    }

    /**
     * Whether {@code word}, the first word of the message at the tail, is its seal: a reader that
     * saw no seal yet, then the head moved past the message, reads the seal with the message.
     */
    boolean isSealAtTail(long word) {
        return word == (tail ^ SEAL_KEY);
    }

    /** The contiguous readable bytes at the tail, at most {@code max} (caller checked readable()). */
    MemorySegment peek(long max) {
        long pos = tail & mask;
        return data.asSlice(pos, Math.min(max, capacity - pos));
    }

    /** Copies {@code n} bytes from the tail into {@code dst} (handles the wrap) without consuming. */
    void copyOut(MemorySegment dst, long n) {
        long pos = tail & mask;
        long first = Math.min(n, capacity - pos);
        MemorySegment.copy(data, pos, dst, 0, first);
        if (first < n) MemorySegment.copy(data, 0, dst, first, n - first);
    }

    void consume(long n) {
        tail += n;
        LONG.setRelease(ctrl, TAIL, tail);
    }

    // ---- the single-copy path ----

    /** Reader: one more payload was read in place from the writer's memory. */
    void countDirectRead() {
        LONG.getAndAddRelease(ctrl, DIRECT_READS, 1L);
    }

    /** Writer: how many payloads the reader has read in place so far. */
    long directReads() {
        return (long) LONG.getAcquire(ctrl, DIRECT_READS);
    }

    /** Writer, at set-up: where the reader can find this process and a word to test reading it. */
    void publishWriter(long pid, long probeAddress) {
        LONG.setRelease(ctrl, WRITER_PID, pid);
        LONG.setRelease(ctrl, WRITER_PROBE, probeAddress);
    }

    long writerPid() {
        return (long) LONG.getAcquire(ctrl, WRITER_PID);
    }

    long writerProbe() {
        return (long) LONG.getAcquire(ctrl, WRITER_PROBE);
    }

    /** Reader, at set-up: whether it can read the writer's memory. */
    void setReaderCanRead(boolean yes) {
        LONG.setRelease(ctrl, READER_CAN_READ, yes ? 1L : 2L);
    }

    boolean readerCanRead() {
        return (long) LONG.getAcquire(ctrl, READER_CAN_READ) == 1L;
    }

    // ---- shutdown flags, so a peer that leaves is noticed instead of waited for ----

    void closeWriter() {
        LONG.setRelease(ctrl, WRITER_CLOSED, 1L);
    }

    void closeReader() {
        LONG.setRelease(ctrl, READER_CLOSED, 1L);
    }

    boolean writerClosed() {
        return (long) LONG.getAcquire(ctrl, WRITER_CLOSED) != 0;
    }

    boolean readerClosed() {
        return (long) LONG.getAcquire(ctrl, READER_CLOSED) != 0;
    }
}
