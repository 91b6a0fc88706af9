package dev.tandem.nn;

import dev.tandem.tensor.AttentionKernels;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.Tensor;

/**
 * Causal multi-head self-attention core, {@code softmax(q·kᵀ/√d)·v}, as an op on the tape; the
 * arithmetic is the provider's ({@link AttentionKernels}). By default (selective recomputation)
 * it never stores the T×T probability matrix: the forward pass keeps one log-sum-exp per (batch,
 * head, query) and the backward pass recomputes each probability row from it (as flash attention
 * does), so activation memory grows linearly with T. Without recomputation
 * ({@link Ops#keepsAttentionProbabilities}) the forward pass stores the probability rows the
 * backward pass would compute, with the same arithmetic, so both ways give the same bits; the
 * T×T matrix per head is the memory this costs.
 *
 * <p>The kernels' working memory (O(T·d) per thread) is allocated for each call and freed after
 * it, counted as {@link MemoryCategory#OTHER}: it is not an activation kept between the passes.
 */
final class CausalAttention {
    private CausalAttention() {}

    /**
     * @param qkv [batch·time, 3·C] (q | k | v, heads contiguous within each)
     * @return y [batch·time, C] with heads merged
     */
    static Var forward(Ops ops, Var qkv, int batch, int time, int heads) {
        Tape tape = ops.tape();
        AttentionKernels k = ops.kernels().attention();
        AttentionKernels.Shape shape = new AttentionKernels.Shape(batch, time, heads, qkv.value().dim(1) / 3);
        Var y = tape.activation(batch * time, shape.channels());
        // Saved for backward: the probabilities (row (b, h, i) holds query i's in its first i + 1
        // columns) when they are kept, else one log-sum-exp per query.
        boolean keep = ops.keepsAttentionProbabilities();
        Tensor saved = keep ? tape.scratch(DType.F32, batch * heads * time, time) : tape.scratch(DType.F32, batch * heads * time);
        try (OffHeap scratch = OffHeap.allocate(k.scratchBytes(shape), MemoryCategory.OTHER)) {
            k.forward(shape, qkv.value().data(), y.value().data(), saved.data(), keep, scratch.segment());
        }
        tape.onBackward(y, () -> {
            try (OffHeap scratch = OffHeap.allocate(k.scratchBytes(shape), MemoryCategory.OTHER)) {
                k.backward(shape, qkv.value().data(), y.value().data(), saved.data(), keep, y.grad().data(), qkv.grad().data(),
                        scratch.segment());
            }
        });
        return y;
    }
}
