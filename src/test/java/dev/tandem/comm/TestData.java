package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Random buffers and element access for checking collectives against plain references. */
final class TestData {
    private TestData() {}

    static MemorySegment alloc(Arena arena, DType type, long count) {
        return arena.allocate(Math.max(1, type.bytes(count)), 64).asSlice(0, type.bytes(count));
    }

    /** Deterministic contents for (seed, rank) so every rank can compute every other rank's input. */
    static MemorySegment random(Arena arena, DType type, long count, long seed) {
        MemorySegment s = alloc(arena, type, count);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < count; i++) {
            switch (type) {
                case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (rnd.nextDouble() * 2 - 1));
                case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT, i, Precision.floatToBf16((float) (rnd.nextDouble() * 2 - 1)));
                case I32 -> s.setAtIndex(ValueLayout.JAVA_INT, i, rnd.nextInt());
                case U8 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return s;
    }

    static double get(MemorySegment s, DType type, long i) {
        return switch (type) {
            case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case BF16 -> Precision.bf16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case I32 -> s.getAtIndex(ValueLayout.JAVA_INT, i);
            case U8 -> s.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** Reference reduction of element i over the inputs, in the semantics of the collectives. */
    static double reduce(MemorySegment[] inputs, DType type, long i, ReduceOp op) {
        int n = inputs.length;
        if (op == ReduceOp.MAX) {
            double m = Double.NEGATIVE_INFINITY;
            for (MemorySegment in : inputs) m = Math.max(m, get(in, type, i));
            return m;
        }
        if (type == DType.I32 || type == DType.U8) {
            long sum = 0;
            for (MemorySegment in : inputs) sum += (long) get(in, type, i);
            long wrapped = type == DType.I32 ? (int) sum : sum & 0xff;
            return op == ReduceOp.AVG ? (type == DType.I32 ? (int) wrapped / n : wrapped / n) : wrapped;
        }
        double sum = 0;
        for (MemorySegment in : inputs) sum += get(in, type, i);
        return op == ReduceOp.AVG ? sum / n : sum;
    }

    /** Allowed error: float sums depend on the order of additions; bf16 rounds at every step. */
    static double tolerance(DType type, ReduceOp op, int n) {
        if (op == ReduceOp.MAX || type == DType.I32 || type == DType.U8) return 0;
        return type == DType.F32 ? 1e-5 * n : 0.01 * n * n;
    }

    /** Fails on the first element of {@code actual} that differs from the reference by more than the tolerance. */
    static void assertReduced(MemorySegment actual, MemorySegment[] inputs, DType type, ReduceOp op, long firstInput,
                              long count, String what) {
        double tol = tolerance(type, op, inputs.length);
        for (long i = 0; i < count; i++) {
            double want = reduce(inputs, type, firstInput + i, op);
            double got = get(actual, type, i);
            if (!(Math.abs(got - want) <= tol)) {
                throw new AssertionError(what + ": element " + i + " is " + got + ", expected " + want + " +- " + tol);
            }
        }
    }
}
