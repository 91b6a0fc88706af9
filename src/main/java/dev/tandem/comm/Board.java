package dev.tandem.comm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Shared memory that every rank of one group on one host maps: two slots per rank, which only
 * that rank writes and every other rank reads, and two counters per rank, published with
 * release/acquire ordering like a ring's head and tail. A rank writes a piece of data into a slot
 * once and all its peers copy it out, where a ring would copy it in and out once per peer.
 *
 * <p>Counters count rounds over the board's life, so consecutive operations need no reset:
 * {@code published[r]} is the number of rounds rank r has written, {@code consumed[r]} the number
 * of rounds whose pieces rank r has copied out from every peer. Round g uses slot g mod 2, so a
 * rank may write round g once every peer has consumed round g − 2 ({@code consumed ≥ g − 1}).
 * Each slot starts with the {@link MessageHeader} of the operation that wrote it, so a rank that
 * runs another collective than its peers is told so instead of reading the wrong data.
 *
 * <p>Layout: rank r's published counter @ r·256, its consumed counter @ r·256 + 128 (own cache
 * lines: readers poll the first, writers the second) and its closed flag @ r·256 + 192, set when
 * it closes the group, so peers waiting for it fail at once; slots from {@link #slotsAt} on, each
 * a 128-byte header and then {@code chunk} data bytes.
 */
final class Board implements AutoCloseable {
    private static final long COUNTERS = 256, SLOT_HEADER = 128;
    private static final int NAME_BYTES = 48, HELLO_BYTES = NAME_BYTES + 16;
    private static final byte OK = 1, FAILED = 2;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();

    private final MemorySegment mem;
    private final int rank;
    private final int size;
    private final long chunk;
    private final AutoCloseable release;

    private Board(MemorySegment mem, int rank, int size, long chunk, AutoCloseable release) {
        this.mem = mem;
        this.rank = rank;
        this.size = size;
        this.chunk = chunk;
        this.release = release;
    }

    /**
     * Data bytes per slot for a group of {@code size} ranks: the transport's chunk size
     * ({@link CommOptions#chunkBytes}), less in large groups so that the whole board stays within
     * 64 MiB (8 MiB per slot for 3 ranks, just under 4 MiB for 8), in whole pages, 4 KiB at the least.
     */
    static long chunkFor(int size, long chunkBytes) {
        long budget = ((64L << 20) - slotsAt(size)) / (2L * size) - SLOT_HEADER;
        return Math.max(4096, Math.min(chunkBytes, budget) / 4096 * 4096);
    }

    static long bytesFor(int size, long chunk) {
        return slotsAt(size) + 2L * size * (SLOT_HEADER + chunk);
    }

    private static long slotsAt(int size) {
        return (size * COUNTERS + 4095) / 4096 * 4096;
    }

    /**
     * Creates the group's board, collectively, inside operation {@code op} (its first user). Group
     * rank 0 creates a shared-memory file, with all its memory reserved (a full /dev/shm fails here,
     * not as a bus error later), and sends its name and the board's geometry to every peer; each
     * peer checks the geometry against its own options, maps the file and reports success or
     * failure; rank 0 removes the name (nothing is left behind if a rank dies later) and tells
     * everyone whether all succeeded. So either every rank has the board or every rank fails.
     */
    static Board setUp(Op op, long threshold) {
        int n = op.size();
        long chunk = chunkFor(n, op.options().chunkBytes());
        long bytes = bytesFor(n, chunk);
        MemorySegment hello = op.scratch(0, HELLO_BYTES);
        MemorySegment status = op.scratch(1, n);
        return op.rank() == 0 ? create(op, chunk, threshold, bytes, hello, status) : join(op, chunk, threshold, bytes, hello, status);
    }

    private static Board create(Op op, long chunk, long threshold, long bytes, MemorySegment hello, MemorySegment status) {
        int n = op.size();
        String name = "tandem-board-" + HexFormat.of().formatHex(randomBytes(8));
        ShmFile file = null;
        RuntimeException failure = null;
        try {
            file = ShmFile.createReserved(op.options().shmDirectory().resolve(name), bytes);
        } catch (RuntimeException e) {
            failure = e;
        }
        hello.fill((byte) 0);
        if (file != null) {
            byte[] b = name.getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, hello, 0, b.length);
            hello.set(ValueLayout.JAVA_LONG_UNALIGNED, NAME_BYTES, chunk);
            hello.set(ValueLayout.JAVA_LONG_UNALIGNED, NAME_BYTES + 8, threshold);
        }
        boolean go = false;
        try {
            exchange(op, hello, status);
            go = file != null;
            for (int p = 1; p < n; p++) go &= status.get(ValueLayout.JAVA_BYTE, p) == OK;
            status.set(ValueLayout.JAVA_BYTE, 0, go ? OK : FAILED);
            Transfer[] sends = new Transfer[n - 1];
            for (int p = 1; p < n; p++) sends[p - 1] = op.send(p, status.asSlice(0, 1));
            op.run(sends);
        } finally {
            if (file != null) {
                file.unlink();
                if (!go) file.close();
            }
        }
        if (failure != null) {
            throw new CommException(op.label() + ": cannot create the shared board of " + bytes + " bytes (" + failure.getMessage()
                    + "); free space in " + op.options().shmDirectory() + ", point TANDEM_SHM_DIR elsewhere, or set "
                    + "TANDEM_BOARD_MIN_BYTES=off to gather through the rings", failure);
        }
        if (!go) {
            List<Integer> failed = new ArrayList<>();
            for (int p = 1; p < n; p++) if (status.get(ValueLayout.JAVA_BYTE, p) != OK) failed.add(op.worldRank(p));
            throw new CommException(op.label() + ": rank(s) " + failed + " could not map the shared board (see their errors)");
        }
        return new Board(file.segment(), 0, n, chunk, file);
    }

    private static Board join(Op op, long chunk, long threshold, long bytes, MemorySegment hello, MemorySegment status) {
        ShmFile file = null;
        String problem;
        op.run(op.recvInto(0, hello));
        byte[] b = hello.asSlice(0, NAME_BYTES).toArray(ValueLayout.JAVA_BYTE);
        int len = 0;
        while (len < b.length && b[len] != 0) len++;
        long theirChunk = hello.get(ValueLayout.JAVA_LONG_UNALIGNED, NAME_BYTES);
        long theirThreshold = hello.get(ValueLayout.JAVA_LONG_UNALIGNED, NAME_BYTES + 8);
        if (len == 0) {
            problem = "rank " + op.worldRank(0) + " could not create it (see its error)";
        } else if (theirChunk != chunk || theirThreshold != threshold) {
            problem = "rank " + op.worldRank(0) + " uses slots of " + theirChunk + " bytes from gathers of " + theirThreshold
                    + " bytes on, this rank " + chunk + " and " + threshold + "; every rank of a job needs the same "
                    + "TANDEM_CHUNK_BYTES, TANDEM_BOARD_MIN_BYTES and TANDEM_TREE_THRESHOLD_BYTES";
        } else {
            try {
                file = ShmFile.open(op.options().shmDirectory().resolve(new String(b, 0, len, StandardCharsets.US_ASCII)), bytes);
                problem = null;
            } catch (RuntimeException e) {
                problem = "cannot map it (" + e.getMessage() + "); do all ranks of the group see the same " + op.options().shmDirectory()
                        + "? TANDEM_BOARD_MIN_BYTES=off gathers through the rings";
            }
        }
        boolean go = false;
        try {
            status.set(ValueLayout.JAVA_BYTE, 0, problem == null ? OK : FAILED);
            op.run(op.send(0, status.asSlice(0, 1)));
            op.run(op.recvInto(0, status.asSlice(0, 1)));
            go = status.get(ValueLayout.JAVA_BYTE, 0) == OK;
        } finally {
            if (!go && file != null) file.close();
        }
        // Failing because of another rank's failure: the exit status says so, and the launcher names that rank.
        if (problem != null) {
            String message = op.label() + ": shared board: " + problem;
            throw len == 0 ? new CommException(message, PeerFailureException.EXIT_CODE) : new CommException(message);
        }
        if (!go) {
            throw new CommException(op.label() + ": shared board: another rank of the group could not map it (see its error)",
                    PeerFailureException.EXIT_CODE);
        }
        return new Board(file.segment(), op.rank(), op.size(), chunk, file);
    }

    /** Rank 0 sends {@code hello} to every peer and gathers one status byte from each into {@code status[p]}. */
    private static void exchange(Op op, MemorySegment hello, MemorySegment status) {
        int n = op.size();
        Transfer[] all = new Transfer[2 * (n - 1)];
        for (int p = 1; p < n; p++) {
            all[2 * (p - 1)] = op.send(p, hello);
            all[2 * (p - 1) + 1] = op.recvInto(p, status.asSlice(p, 1));
        }
        op.run(all);
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /** Data bytes per slot: the most one rank puts on the board per round. */
    long chunk() {
        return chunk;
    }

    long published(int rank) {
        return (long) LONG.getAcquire(mem, rank * COUNTERS);
    }

    void publish(int rank, long rounds) {
        LONG.setRelease(mem, rank * COUNTERS, rounds);
    }

    long consumed(int rank) {
        return (long) LONG.getAcquire(mem, rank * COUNTERS + 128);
    }

    void consume(int rank, long rounds) {
        LONG.setRelease(mem, rank * COUNTERS + 128, rounds);
    }

    /** Whether rank {@code rank} has closed its group. */
    boolean closed(int rank) {
        return (long) LONG.getAcquire(mem, rank * COUNTERS + 192) != 0;
    }

    /** The header of rank {@code rank}'s slot for round {@code round}. */
    MemorySegment header(int rank, long round) {
        return mem.asSlice(slotAt(rank, round), MessageHeader.SIZE);
    }

    /** The data bytes of rank {@code rank}'s slot for round {@code round}. */
    MemorySegment data(int rank, long round) {
        return mem.asSlice(slotAt(rank, round) + SLOT_HEADER, chunk);
    }

    private long slotAt(int rank, long round) {
        return slotsAt(size) + (2L * rank + (round & 1)) * (SLOT_HEADER + chunk);
    }

    /** Tells the peers this rank has left, then unmaps the board. */
    @Override
    public void close() {
        LONG.setRelease(mem, rank * COUNTERS + 192, 1L);
        try {
            release.close();
        } catch (Exception e) {
            throw new CommException("cannot unmap the shared board: " + e.getMessage());
        }
    }
}
