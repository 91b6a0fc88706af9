package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Causal multi-head self-attention, {@code softmax(q·kᵀ/√d)·v} per (sequence, head), on float32
 * rows: {@code qkv} is [batch·time, 3C] with q | k | v side by side and each one's heads
 * contiguous (head h in columns h·d .. h·d + d − 1, d = C / heads); the output is [batch·time, C]
 * with the heads merged the same way.
 *
 * <p>What the forward pass saves for the backward pass, in {@code saved}: with
 * {@code keepProbabilities}, the probability rows, [batch·heads·time, time] (row (b, h, i) holds
 * query i's probabilities in its first i + 1 columns; the others are not written); else one
 * log-sum-exp of the scaled scores per query, [batch·heads·time], from which the backward pass
 * recomputes each probability row.
 *
 * <p>Working memory: the caller passes {@code scratch} of at least {@link #scratchBytes} bytes
 * and owns it; its contents need not be anything on entry and are garbage on return. Callers
 * allocate it for the one call and free it after (it is the kernel's own working set, O(T·d)
 * per thread, not an activation kept between passes).
 */
public interface AttentionKernels {

    /** The sizes of one attention call. */
    record Shape(int batch, int time, int heads, int channels) {
        public Shape {
            if (batch < 0 || time < 0 || heads < 1 || channels % heads != 0) {
                throw new IllegalArgumentException("attention shape: batch " + batch + ", time " + time + ", heads " + heads
                        + ", channels " + channels + " (channels must divide by heads)");
            }
        }

        /** Channels per head, d. */
        public int headDim() {
            return channels / heads;
        }

        /** (sequence, head) pairs: the independent attention problems. */
        public int problems() {
            return batch * heads;
        }

        /** {@code 1/√d}, in float as the kernels use it. */
        public float scale() {
            return (float) (1.0 / Math.sqrt(headDim()));
        }
    }

    /** Bytes of {@code scratch} that {@link #forward} and {@link #backward} need for {@code shape}. */
    long scratchBytes(Shape shape);

    /** Writes {@code out} and {@code saved} (see the class comment) from {@code qkv}. */
    void forward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keepProbabilities,
                 MemorySegment scratch);

    /**
     * Accumulates ({@code +=}) the gradient of the loss with respect to {@code qkv} into
     * {@code dQkv}, given the forward pass's input, output, what it saved (and whether those were
     * probabilities) and the output's gradient {@code dOut}.
     */
    void backward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keptProbabilities,
                  MemorySegment dOut, MemorySegment dQkv, MemorySegment scratch);
}
