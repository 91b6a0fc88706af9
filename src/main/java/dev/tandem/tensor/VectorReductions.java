package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast reductions: F32 through the Vector API (these loops are the compute part of an
 * all-reduce and run at memory speed), an F32 average as one multiplication by the reciprocal
 * (one rounding of 1/n, identical on every rank); the other types as the reference computes them.
 */
final class VectorReductions extends ScalarReductions {
    static final VectorReductions INSTANCE = new VectorReductions();
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private VectorReductions() {}

    @Override
    void combine(DType type, MemorySegment a, MemorySegment b, MemorySegment dst, boolean max) {
        if (type != DType.F32) {
            super.combine(type, a, b, dst, max);
            return;
        }
        long n = dst.byteSize();
        long step = S.vectorByteSize();
        long i = 0;
        for (; i + step <= n; i += step) {
            FloatVector x = FloatVector.fromMemorySegment(S, a, i, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, b, i, NATIVE);
            (max ? x.max(y) : x.add(y)).intoMemorySegment(dst, i, NATIVE);
        }
        for (; i < n; i += 4) {
            float x = a.get(F32, i), y = b.get(F32, i);
            dst.set(F32, i, max ? Math.max(x, y) : x + y);
        }
    }

    @Override
    public void divide(DType type, MemorySegment seg, int divisor) {
        if (type != DType.F32) {
            super.divide(type, seg, divisor);
            return;
        }
        float inv = 1.0f / divisor; // one rounding, identical on every rank
        for (long i = 0; i < seg.byteSize(); i += 4) seg.set(F32, i, seg.get(F32, i) * inv);
    }
}
