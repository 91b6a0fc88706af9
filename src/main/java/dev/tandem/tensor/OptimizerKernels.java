package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The element-wise parameter updates of the optimizers, over {@code n} float32 elements of a
 * parameter {@code p}, its gradient {@code g} and the optimizer's state, all updated in place.
 * Each element's result depends only on that element, so where a shard boundary falls does not
 * change it.
 */
public interface OptimizerKernels {

    /**
     * One AdamW step (Loshchilov &amp; Hutter) at step {@code t} (1, 2, ...):
     * {@code m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
     * p ← p·decay − lr·m̂/(√v̂ + ε)} with {@code m̂ = m/(1−β1ᵗ)}, {@code v̂ = v/(1−β2ᵗ)} and
     * {@code decay = 1 − lr·weight decay}.
     */
    record AdamW(float beta1, float beta2, float eps, float lr, float decay, long t) {}

    /** {@link AdamW} on {@code p} with first and second moments {@code m} and {@code v}. */
    void adamW(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long n, AdamW step);

    /**
     * One Lion step (Chen et al.) in the reference order: {@code c = β1·m + (1−β1)·g;
     * p ← p·decay − lr·sign(c); m ← β2·m + (1−β2)·g}.
     */
    void lion(MemorySegment p, MemorySegment g, MemorySegment m, long n, float lr, float decay, float beta1, float beta2);

    /**
     * One step of SGD with momentum μ as PyTorch defines it: {@code g' = g + wd·p} (coupled
     * decay), {@code b ← μ·b + g'}, {@code u = g' + μ·b} (Nesterov) or {@code u = b},
     * {@code p ← p − lr·u}. {@code g} itself is not changed.
     */
    void sgd(MemorySegment p, MemorySegment g, MemorySegment b, long n, float lr, float weightDecay, float momentum,
             boolean nesterov);
}
