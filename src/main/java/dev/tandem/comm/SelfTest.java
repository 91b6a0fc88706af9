package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Runs every collective on a real group and checks each result against a reference computed
 * locally (every rank can generate every other rank's random input from the seed). Used by
 * {@code tandem comm-selftest} to test ranks-as-processes over shared memory and TCP.
 */
public final class SelfTest {
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.I32, DType.U8};
    private static final long[] SIZES = {0, 1, 1009, 8_009}; // run with a low TANDEM_TREE_THRESHOLD_BYTES to cover the rings

    private SelfTest() {}

    /** Returns the number of checks that passed; throws {@link IllegalStateException} on a wrong result. */
    public static int run(ProcessGroup g, long seed) {
        int n = g.size(), me = g.rank();
        int checks = 0;
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES) {
                for (long count : SIZES) {
                    MemorySegment[] in = new MemorySegment[n];
                    for (int r = 0; r < n; r++) in[r] = random(arena, t, count * n, seed + 131L * r + count + 7L * t.ordinal());
                    long bytes = t.bytes(count);
                    for (ReduceOp op : ReduceOp.values()) {
                        MemorySegment buf = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                        buf.copyFrom(in[me].asSlice(0, bytes));
                        g.allReduceAsync(buf, t, count, op).await();
                        checkReduced(buf, in, t, op, 0, count, "all_reduce " + t + " " + op + " count " + count);
                        MemorySegment out = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                        g.reduceScatter(in[me], out, t, count, op);
                        checkReduced(out, in, t, op, me * count, count, "reduce_scatter " + t + " " + op + " count " + count);
                        checks += 2;
                    }
                    MemorySegment all = arena.allocate(Math.max(1, bytes * n)).asSlice(0, bytes * n);
                    g.allGather(in[me].asSlice(0, bytes), all, t, count);
                    for (int r = 0; r < n; r++) same(all.asSlice(r * bytes, bytes), in[r].asSlice(0, bytes), "all_gather " + t + " block " + r);
                    long[] counts = new long[n];
                    long total = 0;
                    for (int r = 0; r < n; r++) total += counts[r] = (count * (r + 1)) % (count + 1);
                    MemorySegment v = arena.allocate(Math.max(1, t.bytes(total))).asSlice(0, t.bytes(total));
                    g.allGatherV(in[me].asSlice(0, t.bytes(counts[me])), v, t, counts);
                    long off = 0;
                    for (int r = 0; r < n; r++) {
                        same(v.asSlice(off, t.bytes(counts[r])), in[r].asSlice(0, t.bytes(counts[r])), "all_gather_v " + t + " block " + r);
                        off += t.bytes(counts[r]);
                    }
                    int root = (int) (count % n);
                    MemorySegment b = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                    b.copyFrom(in[me].asSlice(0, bytes));
                    g.broadcast(b, t, count, root);
                    same(b, in[root].asSlice(0, bytes), "broadcast " + t + " root " + root);
                    b.copyFrom(in[me].asSlice(0, bytes));
                    g.reduce(b, t, count, ReduceOp.SUM, root);
                    if (me == root) checkReduced(b, in, t, ReduceOp.SUM, 0, count, "reduce " + t);
                    MemorySegment a2a = arena.allocate(Math.max(1, bytes * n)).asSlice(0, bytes * n);
                    g.allToAll(in[me], a2a, t, count);
                    for (int r = 0; r < n; r++) same(a2a.asSlice(r * bytes, bytes), in[r].asSlice(me * bytes, bytes), "all_to_all " + t + " from " + r);
                    checks += 5;
                }
            }
            checks += largeGathers(g, arena, seed);
            g.barrier();
            MemorySegment token = arena.allocate(4);
            if (n > 1) {
                if (me == 0) {
                    token.set(ValueLayout.JAVA_INT, 0, 1);
                    g.send(token, DType.I32, 1, 1);
                    g.recv(token, DType.I32, 1, n - 1);
                    if (token.get(ValueLayout.JAVA_INT, 0) != n) throw new IllegalStateException("send/recv ring token is wrong");
                } else {
                    g.recv(token, DType.I32, 1, me - 1);
                    token.set(ValueLayout.JAVA_INT, 0, token.get(ValueLayout.JAVA_INT, 0) + 1);
                    g.send(token, DType.I32, 1, (me + 1) % n);
                }
            }
            checks += 2;
        }
        return checks;
    }

    /**
     * All-gathers with blocks above the size from which groups on one host choose between the
     * rings and reading in place ({@link PathChooser}), enough of them for a whole window of
     * tries and the steady operations after it: both ways, and the switch between them, checked.
     */
    private static int largeGathers(ProcessGroup g, Arena arena, long seed) {
        int n = g.size(), me = g.rank();
        long count = 20_000; // 80 KB of f32 per rank
        long bytes = DType.F32.bytes(count);
        MemorySegment[] in = new MemorySegment[n];
        for (int r = 0; r < n; r++) in[r] = random(arena, DType.F32, count, seed + 977L * r);
        MemorySegment all = arena.allocate(bytes * n);
        int rounds = PathChooser.PATTERN.length() + 3;
        for (int i = 0; i < rounds; i++) {
            all.fill((byte) 0);
            g.allGather(in[me], all, DType.F32, count);
            for (int r = 0; r < n; r++) same(all.asSlice(r * bytes, bytes), in[r], "large all_gather " + i + " block " + r);
        }
        return rounds;
    }

    static MemorySegment random(Arena arena, DType t, long count, long seed) {
        MemorySegment s = arena.allocate(Math.max(1, t.bytes(count)), 64).asSlice(0, t.bytes(count));
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < count; i++) {
            switch (t) {
                case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rnd.nextDouble() * 2 - 1));
                case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, Precision.floatToBf16((float) (rnd.nextDouble() * 2 - 1)));
                case I32 -> s.setAtIndex(ValueLayout.JAVA_INT, i, rnd.nextInt());
                default -> s.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
            }
        }
        return s;
    }

    private static double get(MemorySegment s, DType t, long i) {
        return switch (t) {
            case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case BF16 -> Precision.bf16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case I32 -> s.getAtIndex(ValueLayout.JAVA_INT, i);
            default -> s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
        };
    }

    private static void checkReduced(MemorySegment got, MemorySegment[] in, DType t, ReduceOp op, long first, long count, String what) {
        int n = in.length;
        boolean integer = t == DType.I32 || t == DType.U8;
        double tol = op == ReduceOp.MAX || integer ? 0 : t == DType.F32 ? 1e-5 * n : 0.01 * n * n;
        for (long i = 0; i < count; i++) {
            double want;
            if (op == ReduceOp.MAX) {
                want = Double.NEGATIVE_INFINITY;
                for (MemorySegment s : in) want = Math.max(want, get(s, t, first + i));
            } else if (integer) {
                long sum = 0;
                for (MemorySegment s : in) sum += (long) get(s, t, first + i);
                long w = t == DType.I32 ? (int) sum : sum & 0xff;
                want = op == ReduceOp.AVG ? (t == DType.I32 ? (int) w / n : w / n) : w;
            } else {
                double sum = 0;
                for (MemorySegment s : in) sum += get(s, t, first + i);
                want = op == ReduceOp.AVG ? sum / n : sum;
            }
            double v = get(got, t, i);
            if (!(Math.abs(v - want) <= tol)) {
                throw new IllegalStateException(what + ": element " + i + " is " + v + ", expected " + want);
            }
        }
    }

    private static void same(MemorySegment got, MemorySegment want, String what) {
        long m = got.mismatch(want);
        if (m >= 0) throw new IllegalStateException(what + ": differs at byte " + m);
    }
}
