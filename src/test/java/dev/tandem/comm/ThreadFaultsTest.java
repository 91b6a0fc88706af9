package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Timeouts, dead peers and mismatched collective order, with ranks as threads. */
class ThreadFaultsTest {
    private static final CommOptions SHORT = CommOptions.defaults().withTimeout(Duration.ofMillis(300));

    /** The errors of all failed ranks of a {@link LocalWorld#run}: its exception's cause and those of the suppressed ones. */
    private static String rankErrors(Throwable e) {
        StringBuilder msgs = new StringBuilder(String.valueOf(e.getCause()));
        for (Throwable s : e.getSuppressed()) msgs.append('\n').append(s.getCause());
        return msgs.toString();
    }

    /** What a rank does in {@link #rank2Silent}. */
    private interface RankWork {
        void run(ProcessGroup g, Arena arena) throws Exception;
    }

    /**
     * Ranks 0 and 1 run {@code before}, then {@code waited}; rank 2 runs {@code before} and then
     * stays alive but silent until both have failed. Groups close only after that: closing is
     * noticed as a failure. Returns each rank's error (null if none).
     */
    private static Throwable[] rank2Silent(List<ProcessGroup> groups, RankWork before, RankWork waited) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(2);
        Throwable[] errors = new Throwable[3];
        Thread[] threads = new Thread[3];
        for (int r = 0; r < 3; r++) {
            ProcessGroup g = groups.get(r);
            int rank = r;
            threads[r] = Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofShared()) {
                    before.run(g, arena);
                    if (rank == 2) {
                        done.await(30, TimeUnit.SECONDS);
                        return;
                    }
                    waited.run(g, arena);
                } catch (Throwable e) {
                    errors[rank] = e;
                } finally {
                    if (rank != 2) done.countDown();
                    try {
                        done.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException ignored) {
                        Thread.currentThread().interrupt();
                    }
                    g.close();
                }
            });
        }
        for (Thread t : threads) t.join();
        return errors;
    }

    @Test
    void silentPeerTimesOutNamingOperationGroupAndPeer() throws Exception {
        List<ProcessGroup> groups = LocalWorld.create(3, SHORT);
        Throwable[] errors = rank2Silent(groups, (g, arena) -> { },
                (g, arena) -> g.allReduce(arena.allocate(4096), DType.F32, 1024, ReduceOp.SUM));
        for (int r = 0; r < 2; r++) {
            assertThat(errors[r]).isInstanceOf(CommTimeoutException.class)
                    .hasMessageContaining("all_reduce #1 in group 'world' on rank " + r)
                    .hasMessageContaining("timed out after 0.3 s");
        }
        // n=3 folds rank 0 into rank 1, so rank 1 waits on rank 2 and rank 0 waits on rank 1:
        // each names the peer it is waiting for; the op logs of all ranks locate the culprit.
        assertThat(errors[1]).hasMessageContaining("not heard from rank 2");
        assertThat(((CommTimeoutException) errors[1]).peers()).containsExactly(2);
        assertThat(((CommTimeoutException) errors[0]).peers()).containsExactly(1);
        assertThat(groups.getFirst().opLog().recent(1).getFirst().error()).contains("timed out");
    }

    @Test
    void peerThatLeavesIsNamedAndGroupBecomesUnusable() {
        assertThatThrownBy(() -> LocalWorld.run(2, SHORT.withTimeout(Duration.ofSeconds(20)), g -> {
            if (g.rank() == 1) return; // leaves (closes its group) without taking part
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(1 << 20);
                try {
                    g.allReduce(buf, DType.F32, 1 << 18, ReduceOp.SUM);
                } catch (PeerFailureException e) {
                    assertThat(e.peer()).isEqualTo(1);
                    assertThatThrownBy(g::barrier).hasMessageContaining("unusable after an earlier failure");
                    throw e;
                }
            }
        })).hasRootCauseInstanceOf(PeerFailureException.class)
                .rootCause().hasMessageContaining("all_reduce #1 in group 'world' on rank 0 failed: rank 1 is gone");
    }

    @Test
    void mismatchedCollectiveOrderIsDetected() {
        assertThatThrownBy(() -> LocalWorld.run(2, SHORT.withTimeout(Duration.ofSeconds(20)), g -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(64);
                if (g.rank() == 0) g.allReduce(buf, DType.F32, 16, ReduceOp.SUM);
                else g.broadcast(buf, DType.F32, 16, 0);
            }
        })).satisfies(e -> {
            assertThat(rankErrors(e)).contains("CollectiveMismatchException")
                    .contains("expected broadcast #1 with 64 bytes, but rank 0 sent all_reduce #1");
        });
    }

    @Test
    void mismatchedSizesAreDetected() {
        assertThatThrownBy(() -> LocalWorld.run(2, SHORT.withTimeout(Duration.ofSeconds(20)), g -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(4096);
                g.allReduce(buf, DType.F32, g.rank() == 0 ? 16 : 32, ReduceOp.SUM);
            }
        })).satisfies(e -> {
            assertThat(rankErrors(e)).contains("collective mismatch").contains("with 64 bytes").contains("with 128 bytes");
        });
    }

    @Test
    void mismatchedSizesOnTheSharedBoardAreDetected() {
        assertThatThrownBy(() -> LocalWorld.run(3, SHORT.withTimeout(Duration.ofSeconds(20)).withBoardMinBytes(1), g -> {
            try (Arena arena = Arena.ofShared()) {
                long per = g.rank() == 2 ? 32 : 16;
                g.allGather(arena.allocate(4 * per), arena.allocate(12 * per), DType.F32, per);
            }
        })).satisfies(e -> {
            assertThat(rankErrors(e)).contains("collective mismatch with rank 2: expected all_gather #1 with 64 bytes, but rank 2 "
                    + "sent all_gather #1 with 128 bytes");
        });
    }

    @Test
    void allGatherVCountsThatDifferBetweenRanksAreDetectedOnTheSharedBoard() {
        assertThatThrownBy(() -> LocalWorld.run(3, SHORT.withTimeout(Duration.ofSeconds(20)).withBoardMinBytes(1), g -> {
            try (Arena arena = Arena.ofShared()) {
                long[] counts = g.rank() == 0 ? new long[] {2, 1, 1} : new long[] {1, 2, 1}; // the same total
                g.allGatherV(arena.allocate(4L * counts[g.rank()]), arena.allocate(16), DType.F32, counts);
            }
        })).satisfies(e -> {
            assertThat(rankErrors(e)).contains("collective mismatch with rank 0: expected all_gather_v #1 with 4 bytes, but rank 0 "
                    + "sent all_gather_v #1 with 8 bytes");
        });
    }

    @Test
    void peerThatLeavesTheSharedBoardIsNamedAtOnce() {
        assertThatThrownBy(() -> LocalWorld.run(3, SHORT.withTimeout(Duration.ofSeconds(60)).withBoardMinBytes(1), g -> {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment in = arena.allocate(4096), out = arena.allocate(3 * 4096);
                g.allGather(in, out, DType.F32, 1024); // sets the board up
                if (g.rank() == 2) return; // leaves (closes its group)
                g.allGather(in, out, DType.F32, 1024);
            }
        })).rootCause().isInstanceOf(PeerFailureException.class)
                .hasMessageContaining("all_gather #2 in group 'world'")
                .hasMessageContaining("rank 2 is gone (it closed its process group)");
    }

    /** On the shared board, a rank waits for a peer's counters instead of a message; a silent peer is still named. */
    @Test
    void silentPeerOnTheSharedBoardTimesOutNamingIt() throws Exception {
        List<ProcessGroup> groups = LocalWorld.create(3,
                CommOptions.defaults().withTimeout(Duration.ofSeconds(5)).withChunkBytes(65536).withBoardMinBytes(1));
        RankWork gather = (g, arena) -> g.allGather(arena.allocate(4096), arena.allocate(3 * 4096), DType.F32, 1024);
        Throwable[] errors = rank2Silent(groups, gather, gather); // the first gather sets the board up
        assertThat(errors[2]).isNull();
        for (int r = 0; r < 2; r++) {
            assertThat(errors[r]).isInstanceOf(CommTimeoutException.class)
                    .hasMessageContaining("all_gather #2 in group 'world' on rank " + r)
                    .hasMessageContaining("timed out after 5.0 s: not heard from rank 2 (shared board: wrote 1 and read 0 of 1 rounds");
            assertThat(((CommTimeoutException) errors[r]).peers()).containsExactly(2);
        }
    }

    /** The board is all or nothing: when rank 0 cannot create it, every rank fails at once, the others naming rank 0. */
    @Test
    void aBoardThatCannotBeCreatedFailsEveryRankWithTheReason(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        String missing = tmp.resolve("no-such-folder").toString();
        List<String> errors = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        CommOptions options = SHORT.withTimeout(Duration.ofSeconds(60)).withBoardMinBytes(1).withShmDir(missing);
        assertThatThrownBy(() -> LocalWorld.run(3, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                g.allGather(arena.allocate(64), arena.allocate(192), DType.F32, 16);
            } catch (CommException e) {
                errors.add(g.rank() + ": " + e.getMessage());
                throw e;
            }
        })).isNotNull();
        assertThat(errors).hasSize(3);
        assertThat(errors).anySatisfy(e -> assertThat(e).startsWith("0: all_gather #1").contains("cannot create the shared board")
                .contains(missing).contains("TANDEM_BOARD_MIN_BYTES=off"));
        for (int r = 1; r < 3; r++) {
            String prefix = r + ": ";
            assertThat(errors).anySatisfy(e -> assertThat(e).startsWith(prefix).contains("rank 0 could not create it"));
        }
    }
}
