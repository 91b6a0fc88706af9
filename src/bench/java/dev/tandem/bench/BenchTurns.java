package dev.tandem.bench;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Makes Tandem and the Open MPI peer of {@code bench comm} take turns, one trial each, so that
 * each pair of trials compared ran within a fraction of a second of each other.
 *
 * <p>Why: on a shared virtual machine the speed of moving data between cores changes by itself,
 * by up to 5×, and holds for seconds at a time (docs/notes/benchmarks-history.md, Round 7). Two
 * runs measured one after the other can fall in different states, and their ratio then says more
 * about the host than about either side; two trials run back to back almost always share one.
 *
 * <p>How: a 16-byte file in shared memory holds, per side, the number of turns given and the
 * number done, as ints (so the C peer reads the same layout with plain atomics). The driver gives
 * one turn at a time and waits until it is done. Every rank of a side waits for its turn, looking
 * once a millisecond and sleeping in between, so the waiting side takes almost no processor time
 * from the running one; rank 0 marks the turn done once every rank has finished its part. The
 * driver looks as seldom: looking every 100 µs, its thread woke 10,000 times a second on the cores
 * the running ranks spin on, and Tandem's ranks, bound to their cores, could not move away from it
 * as Open MPI's unbound ones could (in four short paced runs each way, the lowest 2-rank 1 KiB
 * ratio per run was 0.30–0.79 against 0.65–0.81; docs/notes/benchmarks-history.md, Round 8). A
 * turn now ends up to a millisecond late, which no trial sees.
 */
final class BenchTurns implements AutoCloseable {
    static final int TANDEM = 0;
    static final int MPI = 1;
    private static final long BYTES = 16;
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** A rank gives up waiting after this long: the driver is gone, or the other side hangs. */
    private static final long LONGEST_WAIT_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final long RANK_LOOK_NANOS = 1_000_000;
    private static final long DRIVER_LOOK_NANOS = 1_000_000;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment cells;
    private final Path path;
    private final boolean owner;

    private BenchTurns(Path path, boolean create) {
        this.path = path;
        this.owner = create;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (create) ch.write(java.nio.ByteBuffer.allocate((int) BYTES), 0);
            if (ch.size() != BYTES) throw new IOException(path + " has " + ch.size() + " bytes, expected " + BYTES);
            cells = ch.map(FileChannel.MapMode.READ_WRITE, 0, BYTES, arena);
        } catch (IOException e) {
            arena.close();
            if (create) path.toFile().delete(); // best effort: a failure to delete must not hide the cause
            throw new UncheckedIOException("cannot map the bench's turn file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The driver's side: a fresh turn file (in /dev/shm where there is one), deleted on close. */
    static BenchTurns create() {
        try {
            Path shm = Path.of("/dev/shm");
            Path file = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempFile(shm, "tandem-bench-turns-", "")
                    : Files.createTempFile("tandem-bench-turns-", "");
            return new BenchTurns(file, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the bench's turn file: " + e.getMessage(), e);
        }
    }

    Path path() {
        return path;
    }

    /** The ranks' side of a turn file that the driver created ({@code spec} is "path:side"), or {@link Seat#ALONE} for null. */
    static Seat join(String spec) {
        if (spec == null) return Seat.ALONE;
        int colon = spec.lastIndexOf(':');
        if (colon < 0) throw new TandemException("bench turns: expected path:side, got " + spec);
        return new Seat(new BenchTurns(Path.of(spec.substring(0, colon)), false), Integer.parseInt(spec.substring(colon + 1)));
    }

    /** "path:side", for {@link #join} in another process. */
    String spec(int side) {
        return path + ":" + side;
    }

    /** The arguments that make the C peer (src/bench/mpi/comm_bench.c) take {@code side}'s turns. */
    java.util.List<String> peerArguments(int side) {
        return java.util.List.of("--turns", path.toString(), Integer.toString(side));
    }

    /**
     * The driver's loop: gives turns, one at a time, until both sides have stopped. Turn t goes
     * first to Tandem when t is even and to Open MPI when it is odd, so neither side always runs
     * right after the other's traffic; a side that has stopped (no more turns, or failed) is skipped.
     */
    void alternate(BooleanSupplier tandemRunning, BooleanSupplier mpiRunning) {
        boolean tandemOn = true, mpiOn = true;
        for (int turn = 0; tandemOn || mpiOn; turn++) {
            boolean mpiFirst = turn % 2 == 1;
            if (mpiFirst && mpiOn) mpiOn = take(MPI, turn, mpiRunning);
            if (tandemOn) tandemOn = take(TANDEM, turn, tandemRunning);
            if (!mpiFirst && mpiOn) mpiOn = take(MPI, turn, mpiRunning);
        }
    }

    /**
     * Gives {@code side} its turn {@code turn} and waits until it is done; false (at once) if the
     * side stopped first, i.e. it has no more turns or it failed.
     */
    private boolean take(int side, int turn, BooleanSupplier stillRunning) {
        INT.setVolatile(cells, given(side), turn + 1);
        while ((int) INT.getVolatile(cells, done(side)) <= turn) {
            if (!stillRunning.getAsBoolean()) return false;
            LockSupport.parkNanos(DRIVER_LOOK_NANOS);
        }
        return true;
    }

    private static long given(int side) {
        return side * 8L;
    }

    private static long done(int side) {
        return side * 8L + 4;
    }

    @Override
    public void close() {
        arena.close();
        if (owner) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // a file of 16 bytes in a temporary directory: nothing to lose
            }
        }
    }

    /** One side's own mapping of the file, used by each of its ranks; {@link #ALONE} when nothing paces the run. */
    static final class Seat implements AutoCloseable {
        static final Seat ALONE = new Seat(null, 0);
        private final BenchTurns turns;
        private final int side;

        Seat(BenchTurns turns, int side) {
            this.turns = turns;
            this.side = side;
        }

        /** Sleeps until the driver has given this side turn {@code turn}. */
        void await(int turn) {
            if (turns == null) return;
            long start = System.nanoTime();
            while ((int) INT.getVolatile(turns.cells, given(side)) <= turn) {
                if (System.nanoTime() - start > LONGEST_WAIT_NANOS) {
                    throw new TandemException("bench comm: waited 10 minutes for turn " + turn + " in " + turns.path
                            + "; the driver or the other side has stopped");
                }
                LockSupport.parkNanos(RANK_LOOK_NANOS);
            }
        }

        /** Marks turn {@code turn} done (rank 0, after every rank has finished its part). */
        void done(int turn) {
            if (turns != null) INT.setVolatile(turns.cells, BenchTurns.done(side), turn + 1);
        }

        @Override
        public void close() {
            if (turns != null) turns.close();
        }
    }
}
