package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The arithmetic of the collectives (all-reduce, reduce-scatter, reduce): element-wise
 * combination of equally sized buffers of F32, BF16, I32 or U8 elements, sizes in bytes. BF16 is
 * widened to float32, combined and rounded back to nearest-even; integers wrap on overflow. These
 * run on the communication thread, piece by piece as data arrives, so they are not split across
 * the worker pool.
 */
public interface ReductionKernels {

    /** The fast reductions (they hold no threads, so one instance serves every rank). */
    static ReductionKernels fast() {
        return VectorReductions.INSTANCE;
    }

    /** The reference reductions. */
    static ReductionKernels reference() {
        return ScalarReductions.INSTANCE;
    }

    /** {@code dst = a + b} element-wise over {@code dst.byteSize()} bytes; {@code dst} may alias {@code a} or {@code b}. */
    void sum(DType type, MemorySegment a, MemorySegment b, MemorySegment dst);

    /** {@code dst = max(a, b)} element-wise, as {@link Math#max} (NaN wins). */
    void max(DType type, MemorySegment a, MemorySegment b, MemorySegment dst);

    /** Divides every element of {@code x} by {@code divisor} in place (the second half of an average). */
    void divide(DType type, MemorySegment x, int divisor);

    /** Whether {@code type} is one these kernels combine. */
    static boolean supports(DType type) {
        return type == DType.F32 || type == DType.BF16 || type == DType.I32 || type == DType.U8;
    }

    static IllegalArgumentException unsupported(DType type) {
        return new IllegalArgumentException("collectives support F32, BF16, I32 and U8, not " + type);
    }
}
