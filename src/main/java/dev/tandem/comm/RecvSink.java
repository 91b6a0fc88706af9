package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.ReductionKernels;
import java.lang.foreign.MemorySegment;

/**
 * Where received bytes go. Pieces arrive in order and, except the last, are multiples of 8 bytes,
 * so they always hold whole elements. {@link Reduce} combines straight out of the transport
 * buffer, which saves a copy per step in reduce-scatter and all-reduce.
 */
sealed interface RecvSink {
    /** Bytes expected in total. */
    long bytes();

    void accept(MemorySegment piece, long offset);

    /** Where a payload read in place ({@link DirectPath}) can be copied straight to, or null to take it piece by piece through {@link #accept}. */
    MemorySegment directTarget();

    /** Copies the message into {@code dst}. */
    record Copy(MemorySegment dst) implements RecvSink {
        @Override
        public long bytes() {
            return dst.byteSize();
        }

        @Override
        public void accept(MemorySegment piece, long offset) {
            MemorySegment.copy(piece, 0, dst, offset, piece.byteSize());
        }

        @Override
        public MemorySegment directTarget() {
            return dst.isNative() ? dst : null;
        }
    }

    /** {@code dst = base (op) message}, element-wise; {@code base} may be {@code dst} itself. */
    record Reduce(MemorySegment dst, MemorySegment base, DType type, ReduceOp op, ReductionKernels kernels) implements RecvSink {
        @Override
        public long bytes() {
            return dst.byteSize();
        }

        @Override
        public void accept(MemorySegment piece, long offset) {
            long n = piece.byteSize();
            MemorySegment to = dst.asSlice(offset, n), from = base.asSlice(offset, n);
            if (op == ReduceOp.MAX) kernels.max(type, from, piece, to);
            else kernels.sum(type, from, piece, to); // AVG sums here and divides at the end
        }

        @Override
        public MemorySegment directTarget() {
            return null;
        }
    }
}
