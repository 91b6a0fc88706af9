package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference reductions: one element at a time, float arithmetic in double (for a sum or
 * maximum of two floats that rounds to the same float as float32 arithmetic does; an average
 * divides exactly instead of multiplying by a rounded reciprocal).
 */
class ScalarReductions implements ReductionKernels {
    static final ScalarReductions INSTANCE = new ScalarReductions();
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    ScalarReductions() {}

    @Override
    public void sum(DType type, MemorySegment a, MemorySegment b, MemorySegment dst) {
        combine(type, a, b, dst, false);
    }

    @Override
    public void max(DType type, MemorySegment a, MemorySegment b, MemorySegment dst) {
        combine(type, a, b, dst, true);
    }

    void combine(DType type, MemorySegment a, MemorySegment b, MemorySegment dst, boolean max) {
        long n = dst.byteSize();
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i += 4) {
                    double x = a.get(F32, i), y = b.get(F32, i);
                    dst.set(F32, i, (float) (max ? Math.max(x, y) : x + y));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i += 2) {
                    float x = Precision.bf16ToFloat(a.get(I16, i)), y = Precision.bf16ToFloat(b.get(I16, i));
                    dst.set(I16, i, Precision.floatToBf16(max ? Math.max(x, y) : x + y));
                }
            }
            case I32 -> {
                for (long i = 0; i < n; i += 4) {
                    int x = a.get(I32, i), y = b.get(I32, i);
                    dst.set(I32, i, max ? Math.max(x, y) : x + y);
                }
            }
            case U8 -> {
                for (long i = 0; i < n; i++) {
                    int x = a.get(ValueLayout.JAVA_BYTE, i) & 0xff, y = b.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                    dst.set(ValueLayout.JAVA_BYTE, i, (byte) (max ? Math.max(x, y) : x + y));
                }
            }
            default -> throw ReductionKernels.unsupported(type);
        }
    }

    @Override
    public void divide(DType type, MemorySegment seg, int divisor) {
        long n = seg.byteSize();
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i += 4) seg.set(F32, i, (float) ((double) seg.get(F32, i) / divisor));
            }
            case BF16 -> divideBf16(seg, divisor);
            case I32 -> {
                for (long i = 0; i < n; i += 4) seg.set(I32, i, seg.get(I32, i) / divisor);
            }
            case U8 -> {
                for (long i = 0; i < n; i++) {
                    seg.set(ValueLayout.JAVA_BYTE, i, (byte) ((seg.get(ValueLayout.JAVA_BYTE, i) & 0xff) / divisor));
                }
            }
            default -> throw ReductionKernels.unsupported(type);
        }
    }

    static void divideBf16(MemorySegment seg, int divisor) {
        for (long i = 0; i < seg.byteSize(); i += 2) {
            seg.set(I16, i, Precision.floatToBf16(Precision.bf16ToFloat(seg.get(I16, i)) / divisor));
        }
    }
}
