package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise reduction kernels on raw segments. F32 uses the Vector API (these loops are the
 * compute part of all-reduce and run at memory speed); BF16 is widened to f32, combined, and
 * rounded back to nearest-even; integers wrap on overflow.
 */
final class Reductions {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private Reductions() {}

    /** {@code dst = a (op) b} element-wise over equally sized segments; AVG combines as SUM. */
    static void combine(MemorySegment dst, MemorySegment a, MemorySegment b, DType type, ReduceOp op) {
        boolean max = op == ReduceOp.MAX;
        switch (type) {
            case F32 -> combineF32(dst, a, b, max);
            case BF16 -> combineBf16(dst, a, b, max);
            case I32 -> combineI32(dst, a, b, max);
            case U8 -> combineU8(dst, a, b, max);
            default -> throw unsupported(type);
        }
    }

    static IllegalArgumentException unsupported(DType type) {
        return new IllegalArgumentException("collectives support F32, BF16, I32 and U8, not " + type);
    }

    private static void combineF32(MemorySegment dst, MemorySegment a, MemorySegment b, boolean max) {
        long n = dst.byteSize();
        long step = F.vectorByteSize();
        long i = 0;
        for (; i + step <= n; i += step) {
            FloatVector x = FloatVector.fromMemorySegment(F, a, i, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(F, b, i, NATIVE);
            (max ? x.max(y) : x.add(y)).intoMemorySegment(dst, i, NATIVE);
        }
        for (; i < n; i += 4) {
            float x = a.get(F32, i), y = b.get(F32, i);
            dst.set(F32, i, max ? Math.max(x, y) : x + y);
        }
    }

    private static void combineBf16(MemorySegment dst, MemorySegment a, MemorySegment b, boolean max) {
        long n = dst.byteSize();
        for (long i = 0; i < n; i += 2) {
            float x = bf16ToFloat(a.get(I16, i)), y = bf16ToFloat(b.get(I16, i));
            dst.set(I16, i, floatToBf16(max ? Math.max(x, y) : x + y));
        }
    }

    private static void combineI32(MemorySegment dst, MemorySegment a, MemorySegment b, boolean max) {
        long n = dst.byteSize();
        for (long i = 0; i < n; i += 4) {
            int x = a.get(I32, i), y = b.get(I32, i);
            dst.set(I32, i, max ? Math.max(x, y) : x + y);
        }
    }

    private static void combineU8(MemorySegment dst, MemorySegment a, MemorySegment b, boolean max) {
        long n = dst.byteSize();
        for (long i = 0; i < n; i++) {
            int x = a.get(ValueLayout.JAVA_BYTE, i) & 0xff, y = b.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            dst.set(ValueLayout.JAVA_BYTE, i, (byte) (max ? Math.max(x, y) : x + y));
        }
    }

    /** Divides every element by {@code divisor} in place (the second half of AVG). */
    static void divide(MemorySegment seg, DType type, int divisor) {
        long n = seg.byteSize();
        switch (type) {
            case F32 -> {
                float inv = 1.0f / divisor; // one rounding, identical on every rank
                for (long i = 0; i < n; i += 4) seg.set(F32, i, seg.get(F32, i) * inv);
            }
            case BF16 -> {
                for (long i = 0; i < n; i += 2) seg.set(I16, i, floatToBf16(bf16ToFloat(seg.get(I16, i)) / divisor));
            }
            case I32 -> {
                for (long i = 0; i < n; i += 4) seg.set(I32, i, seg.get(I32, i) / divisor);
            }
            case U8 -> {
                for (long i = 0; i < n; i++) {
                    seg.set(ValueLayout.JAVA_BYTE, i, (byte) ((seg.get(ValueLayout.JAVA_BYTE, i) & 0xff) / divisor));
                }
            }
            default -> throw unsupported(type);
        }
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest, ties to even; NaN stays a (quiet) NaN. */
    static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) return (short) ((x >>> 16) | 0x0040);
        x += 0x7fff + ((x >>> 16) & 1);
        return (short) (x >>> 16);
    }
}
