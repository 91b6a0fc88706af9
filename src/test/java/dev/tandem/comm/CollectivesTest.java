package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every collective on 1..8 ranks-as-threads against a locally computed reference, random data,
 * sizes 0, 1, prime and large (large enough for the ring algorithms and several chunks), uneven
 * splits. Option sets: defaults; tiny rings/chunks/thresholds that force ring wrap-around,
 * chunking and the bandwidth algorithms even for small sizes; and both again with the
 * single-copy path ({@link DirectPath}) taken by (almost) every message, so copies and reductions
 * of payloads read in place, and their mix with ring messages on one link, are covered too. The
 * buffers come from shared arenas, like tensors: a confined segment cannot be read in place by
 * another rank thread and always goes through the ring.
 */
class CollectivesTest {
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.I32, DType.U8};
    private static final long[] SIZES = {0, 1, 1009, 20_011}; // 20_011 f32 > 64 KiB: ring path with defaults

    static final CommOptions DEFAULT = CommOptions.defaults().withTimeout(java.time.Duration.ofSeconds(60));
    static final CommOptions TINY = DEFAULT.withRingBytes(4096).withChunkBytes(4096).withTreeThresholdBytes(256);

    static Stream<Arguments> worlds() {
        return Stream.of(
                Stream.of(1, 2, 3, 4, 5, 6, 7, 8).map(n -> Arguments.of(n, "default", DEFAULT)),
                Stream.of(2, 3, 4, 7, 8).map(n -> Arguments.of(n, "tiny", TINY)),
                Stream.of(2, 3, 5, 8).map(n -> Arguments.of(n, "direct", DEFAULT.withDirectMinBytes(1))),
                Stream.of(2, 4, 7).map(n -> Arguments.of(n, "tiny+direct", TINY.withDirectMinBytes(512)))).flatMap(s -> s);
    }

    /** {@link #worlds}, and gathers through the shared board ({@link Board}): one round per block, and many. */
    static Stream<Arguments> worldsWithBoard() {
        return Stream.concat(worlds(), Stream.concat(
                Stream.of(3, 4, 5, 8).map(n -> Arguments.of(n, "board", DEFAULT.withBoardMinBytes(1))),
                Stream.of(3, 7).map(n -> Arguments.of(n, "tiny+board", TINY.withBoardMinBytes(512)))));
    }

    private static long seed(int rank, long size, DType type, int salt) {
        return ((rank * 1_000_003L + size) * 31 + type.ordinal()) * 17 + salt;
    }

    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worldsWithBoard")
    void allReduceMatchesReference(int n, String label, CommOptions options) {
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                for (DType type : TYPES) {
                    for (long count : SIZES) {
                        MemorySegment[] inputs = new MemorySegment[n];
                        for (int r = 0; r < n; r++) inputs[r] = TestData.random(arena, type, count, seed(r, count, type, 1));
                        for (ReduceOp op : ReduceOp.values()) {
                            MemorySegment buf = TestData.alloc(arena, type, count);
                            buf.copyFrom(inputs[g.rank()]);
                            g.allReduce(buf, type, count, op);
                            TestData.assertReduced(buf, inputs, type, op, 0, count, type + " " + op + " count=" + count);
                        }
                    }
                }
            }
        });
    }

    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worlds")
    void reduceScatterMatchesReference(int n, String label, CommOptions options) {
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                for (DType type : TYPES) {
                    for (long per : new long[] {0, 1, 211, 3_001}) {
                        MemorySegment[] inputs = new MemorySegment[n];
                        for (int r = 0; r < n; r++) inputs[r] = TestData.random(arena, type, per * n, seed(r, per, type, 2));
                        for (ReduceOp op : ReduceOp.values()) {
                            MemorySegment out = TestData.alloc(arena, type, per);
                            g.reduceScatter(inputs[g.rank()], out, type, per, op);
                            TestData.assertReduced(out, inputs, type, op, g.rank() * per, per, type + " " + op + " per=" + per);
                        }
                    }
                }
            }
        });
    }

    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worldsWithBoard")
    void allGatherEqualAndUneven(int n, String label, CommOptions options) {
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                for (DType type : TYPES) {
                    for (long per : new long[] {0, 1, 997, 4_001}) {
                        long[] even = new long[n];
                        long[] uneven = new long[n];
                        SplittableRandom rnd = new SplittableRandom(per);
                        for (int r = 0; r < n; r++) {
                            even[r] = per;
                            uneven[r] = r % 3 == 1 ? 0 : rnd.nextLong(per + 1);
                        }
                        for (long[] counts : List.of(even, uneven)) {
                            MemorySegment[] inputs = new MemorySegment[n];
                            long total = 0;
                            for (int r = 0; r < n; r++) {
                                inputs[r] = TestData.random(arena, type, counts[r], seed(r, per, type, 3));
                                total += counts[r];
                            }
                            MemorySegment out = TestData.alloc(arena, type, total);
                            if (counts == even) g.allGather(inputs[g.rank()], out, type, per);
                            else g.allGatherV(inputs[g.rank()], out, type, counts);
                            long off = 0;
                            for (int r = 0; r < n; r++) {
                                long b = type.bytes(counts[r]);
                                assertThat(out.asSlice(type.bytes(off), b).mismatch(inputs[r])).as("block %d", r).isEqualTo(-1);
                                off += counts[r];
                            }
                        }
                    }
                }
            }
        });
    }

    /** Blocks of several 64 KiB transport pieces, with the input separate and inside the output. */
    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worldsWithBoard")
    void allGatherOfLargeBlocksInAndOutOfPlace(int n, String label, CommOptions options) {
        long per = 40_000; // 160 KB of F32: three 64 KiB pieces
        DType type = DType.F32;
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment[] inputs = new MemorySegment[n];
                for (int r = 0; r < n; r++) inputs[r] = TestData.random(arena, type, per, seed(r, per, type, 7));
                for (boolean inPlace : new boolean[] {false, true}) {
                    MemorySegment out = TestData.alloc(arena, type, per * n);
                    MemorySegment own = out.asSlice(type.bytes(per * g.rank()), type.bytes(per));
                    MemorySegment in = inPlace ? own : inputs[g.rank()];
                    if (inPlace) own.copyFrom(inputs[g.rank()]);
                    long rounds = g.boardRounds();
                    g.allGather(in, out, type, per);
                    for (int r = 0; r < n; r++) {
                        assertThat(out.asSlice(type.bytes(per * r), type.bytes(per)).mismatch(inputs[r]))
                                .as("block %d, in place %s", r, inPlace).isEqualTo(-1);
                    }
                    assertThat(g.boardRounds() > rounds).as("through the board").isEqualTo(label.contains("board"));
                }
            }
        });
    }

    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worlds")
    void broadcastAndReduceFromEveryRoot(int n, String label, CommOptions options) {
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                for (int root = 0; root < n; root++) {
                    for (long count : SIZES) {
                        DType type = TYPES[(int) ((root + count) % TYPES.length)];
                        MemorySegment[] inputs = new MemorySegment[n];
                        for (int r = 0; r < n; r++) inputs[r] = TestData.random(arena, type, count, seed(r, count, type, 4 + root));
                        MemorySegment buf = TestData.alloc(arena, type, count);
                        buf.copyFrom(inputs[g.rank()]);
                        g.broadcast(buf, type, count, root);
                        assertThat(buf.mismatch(inputs[root])).as("broadcast root %d count %d", root, count).isEqualTo(-1);

                        ReduceOp op = ReduceOp.values()[(int) (count % 3)];
                        buf.copyFrom(inputs[g.rank()]);
                        g.reduce(buf, type, count, op, root);
                        if (g.rank() == root) {
                            TestData.assertReduced(buf, inputs, type, op, 0, count, "reduce root " + root);
                        } else {
                            assertThat(buf.mismatch(inputs[g.rank()])).as("non-root buffer untouched").isEqualTo(-1);
                        }
                    }
                }
            }
        });
    }

    @ParameterizedTest(name = "n={0} {1}")
    @MethodSource("worlds")
    void allToAllEqualAndUneven(int n, String label, CommOptions options) {
        LocalWorld.run(n, options, g -> {
            try (Arena arena = Arena.ofShared()) {
                for (long per : new long[] {0, 1, 503, 2_003}) {
                    DType type = TYPES[(int) (per % TYPES.length)];
                    // counts[i][j]: elements rank i sends to rank j, known to everyone
                    long[][] counts = new long[n][n];
                    SplittableRandom rnd = new SplittableRandom(per + n);
                    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) counts[i][j] = rnd.nextLong(per + 1);
                    for (boolean uneven : new boolean[] {false, true}) {
                        MemorySegment[] inputs = new MemorySegment[n];
                        long[] send = new long[n], recv = new long[n];
                        for (int i = 0; i < n; i++) {
                            long tot = 0;
                            for (int j = 0; j < n; j++) tot += uneven ? counts[i][j] : per;
                            inputs[i] = TestData.random(arena, type, tot, seed(i, per, type, uneven ? 5 : 6));
                        }
                        int me = g.rank();
                        for (int j = 0; j < n; j++) {
                            send[j] = uneven ? counts[me][j] : per;
                            recv[j] = uneven ? counts[j][me] : per;
                        }
                        long outCount = java.util.Arrays.stream(recv).sum();
                        MemorySegment out = TestData.alloc(arena, type, outCount);
                        if (uneven) g.allToAllV(inputs[me], send, out, recv, type);
                        else g.allToAll(inputs[me], out, type, per);
                        long off = 0;
                        for (int i = 0; i < n; i++) {
                            long srcOff = 0;
                            for (int j = 0; j < me; j++) srcOff += uneven ? counts[i][j] : per;
                            MemorySegment expect = inputs[i].asSlice(type.bytes(srcOff), type.bytes(recv[i]));
                            assertThat(out.asSlice(type.bytes(off), type.bytes(recv[i])).mismatch(expect))
                                    .as("from rank %d uneven=%s", i, uneven).isEqualTo(-1);
                            off += recv[i];
                        }
                    }
                }
            }
        });
    }

    /**
     * With the automatic threshold, payloads larger than the ring (1 MiB between threads) are read
     * in place if they are in shared memory; confined and smaller ones go through the ring.
     */
    @org.junit.jupiter.api.Test
    void largeSharedPayloadsAreReadInPlace() {
        LocalWorld.run(2, DEFAULT, g -> {
            long count = 1 << 19; // 2 MiB of f32 per rank
            try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
                MemorySegment in = TestData.random(shared, DType.F32, count, g.rank());
                g.allGather(in, TestData.alloc(shared, DType.F32, 2 * count), DType.F32, count);
                long afterShared = g.readsInPlace();
                assertThat(afterShared).isEqualTo(1);
                MemorySegment confinedIn = TestData.random(confined, DType.F32, count, g.rank());
                g.allGather(confinedIn, TestData.alloc(confined, DType.F32, 2 * count), DType.F32, count);
                g.allGather(in.asSlice(0, 1 << 19), TestData.alloc(shared, DType.F32, 1 << 18), DType.F32, 1 << 17); // 512 KiB
                assertThat(g.readsInPlace()).isEqualTo(afterShared);
            }
        });
    }

    /**
     * Groups that choose between the rings and reading in place ({@link PathChooser}) try both in
     * their first window of each operation, give the reference results either way, and end with
     * every rank on the same choice, also for operations where not every rank hears from rank 0
     * (which way wins depends on the machine, so it is not asserted).
     */
    @org.junit.jupiter.api.Test
    void adaptiveGroupsTryBothWaysAndAgree() {
        CommOptions adaptive = DEFAULT.withDirectMinBytes(CommOptions.ADAPTIVE);
        for (int n : new int[] {2, 3}) {
            int[][] choices = new int[n][];
            long[] reads = new long[n];
            LocalWorld.run(n, adaptive, g -> {
                long per = 40_000; // 160 KB of f32 per rank: payloads above the 64 KiB threshold
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment[] inputs = new MemorySegment[n];
                    for (int r = 0; r < n; r++) inputs[r] = TestData.random(arena, DType.F32, per * n, seed(r, per, DType.F32, 7));
                    MemorySegment all = TestData.alloc(arena, DType.F32, per * n), mine = TestData.alloc(arena, DType.F32, per);
                    int ops = PathChooser.PATTERN.length() + 3; // a window, then steady operations
                    for (int i = 0; i < ops; i++) {
                        g.allGather(inputs[g.rank()].asSlice(0, DType.F32.bytes(per)), all, DType.F32, per);
                        for (int r = 0; r < n; r++) {
                            assertThat(all.asSlice(DType.F32.bytes(r * per), DType.F32.bytes(per))
                                    .mismatch(inputs[r].asSlice(0, DType.F32.bytes(per)))).as("all-gather %d, block %d", i, r).isEqualTo(-1);
                        }
                        g.reduceScatter(inputs[g.rank()], mine, DType.F32, per, ReduceOp.SUM);
                        TestData.assertReduced(mine, inputs, DType.F32, ReduceOp.SUM, g.rank() * per, per, "reduce-scatter " + i);
                        MemorySegment buf = TestData.alloc(arena, DType.F32, per * n);
                        buf.copyFrom(inputs[g.rank()]);
                        g.allReduce(buf, DType.F32, per * n, ReduceOp.SUM);
                        TestData.assertReduced(buf, inputs, DType.F32, ReduceOp.SUM, 0, per * n, "all-reduce " + i);
                        // operations where not every rank hears from rank 0, or sizes differ between ranks
                        buf.copyFrom(inputs[g.rank()]);
                        g.broadcast(buf, DType.F32, per * n, n - 1);
                        assertThat(buf.mismatch(inputs[n - 1])).as("broadcast %d", i).isEqualTo(-1);
                        buf.copyFrom(inputs[g.rank()]);
                        g.reduce(buf, DType.F32, per * n, ReduceOp.SUM, 0);
                        if (g.rank() == 0) TestData.assertReduced(buf, inputs, DType.F32, ReduceOp.SUM, 0, per * n, "reduce " + i);
                        g.allToAll(inputs[g.rank()], buf, DType.F32, per);
                        for (int r = 0; r < n; r++) {
                            assertThat(buf.asSlice(DType.F32.bytes(r * per), DType.F32.bytes(per))
                                    .mismatch(inputs[r].asSlice(DType.F32.bytes(g.rank() * per), DType.F32.bytes(per))))
                                    .as("all-to-all %d from %d", i, r).isEqualTo(-1);
                        }
                        long[] counts = new long[n];
                        java.util.Arrays.fill(counts, g.rank() == 0 ? per : 1); // rank 0 sends far more than the others
                        long[] recv = new long[n];
                        for (int r = 0; r < n; r++) recv[r] = r == 0 ? per : 1;
                        g.allToAllV(inputs[g.rank()], counts, TestData.alloc(arena, DType.F32, per * n), recv, DType.F32);
                    }
                }
                choices[g.rank()] = g.inPlaceChoices();
                reads[g.rank()] = g.readsInPlace();
            });
            for (int r = 0; r < n; r++) {
                // all-gather, reduce-scatter, all-reduce, broadcast, reduce, all-to-all; not all-to-all-v, whose sizes differ by rank
                assertThat(choices[r]).as("n=%d rank %d: six operation keys, as rank 0 chose", n, r).containsExactly(choices[0]);
                assertThat(choices[r][1]).isEqualTo(6);
                // five in-place operations per window: all-gather, reduce-scatter, all-reduce and all-to-all read on every rank
                assertThat(reads[r]).as("n=%d rank %d", n, r).isGreaterThanOrEqualTo(5 * 4);
            }
        }
    }

    /**
     * Over many operations of one key the group runs window after window, each closed by a
     * path_choice all-reduce in the op log, the same ones on every rank (a rank out of step would
     * meet the next user operation's messages there and fail with a mismatch).
     */
    @org.junit.jupiter.api.Test
    void adaptiveGroupsRunTheSameWindowsOnEveryRank() {
        int n = 2, windows = 2, maxOps = 200_000;
        long[][] choiceSeqs = new long[n][];
        LocalWorld.run(n, DEFAULT.withDirectMinBytes(CommOptions.ADAPTIVE), g -> {
            long per = 20_000; // 80 KB blocks
            // The gap after a window grows with how much slower the slower way ran in it (a host
            // whose cores share no cache, or a stall), so the op log (1024 entries) is read every
            // 256 operations and the test runs until it has seen the windows it needs. Every rank
            // stops at the same operation as long as all saw the same windows.
            java.util.TreeSet<Long> seen = new java.util.TreeSet<>();
            try (Arena arena = Arena.ofShared()) {
                MemorySegment in = TestData.random(arena, DType.F32, per, g.rank());
                MemorySegment all = TestData.alloc(arena, DType.F32, per * n);
                for (int i = 1; i <= maxOps && seen.size() < windows; i++) {
                    g.allGather(in, all, DType.F32, per);
                    if (i % 256 == 0) {
                        g.opLog().recent(1024).stream().filter(e -> e.kind() == OpKind.PATH_CHOICE).forEach(e -> seen.add(e.seq()));
                    }
                }
                assertThat(all.asSlice(DType.F32.bytes(g.rank() * per), DType.F32.bytes(per)).mismatch(in)).isEqualTo(-1);
            }
            choiceSeqs[g.rank()] = seen.stream().mapToLong(Long::longValue).toArray();
        });
        assertThat(choiceSeqs[0]).hasSizeGreaterThanOrEqualTo(windows);
        assertThat(choiceSeqs[1]).containsExactly(choiceSeqs[0]);
    }

    /**
     * The board takes over all-gathers from its threshold on, in groups of three or more ranks on
     * one host; two-rank groups keep the rings.
     */
    @org.junit.jupiter.api.Test
    void boardIsSetUpOnceForLargeGathersOfThreeOrMoreRanks() {
        for (int n : new int[] {2, 3}) {
            LocalWorld.run(n, TINY.withBoardMinBytes(4096), g -> {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment in = TestData.random(arena, DType.F32, 1000, g.rank());
                    g.allGather(in.asSlice(0, 400), TestData.alloc(arena, DType.F32, 100L * n), DType.F32, 100);
                    assertThat(g.boardRounds()).as("below the threshold").isZero();
                    // 4000-byte blocks, 4096-byte slots: one round each
                    for (int i = 0; i < 3; i++) g.allGather(in, TestData.alloc(arena, DType.F32, 1000L * n), DType.F32, 1000);
                    assertThat(g.boardRounds()).as("n=%d", n).isEqualTo(n >= 3 ? 3 : 0);
                    g.allGather(in, TestData.alloc(arena, DType.F32, 1000L * n), DType.F32, 1000);
                    assertThat(g.boardRounds()).as("n=%d", n).isEqualTo(n >= 3 ? 4 : 0);
                }
            });
        }
    }
}
