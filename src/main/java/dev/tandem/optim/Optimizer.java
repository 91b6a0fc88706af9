package dev.tandem.optim;

import dev.tandem.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Updates parameters from their gradients. Holds its state off-heap under OPTIMIZER_STATE.
 *
 * <p>Checkpoints see every optimizer the same way: {@link #state()} names each state tensor
 * (e.g. {@code h.0.attn.c_attn.weight.exp_avg}) and {@link #load} copies such a map back in,
 * together with the step count. Nothing else about an optimizer needs saving.
 */
public interface Optimizer extends AutoCloseable {
    /** One update with learning rate {@code lr}; gradients must be final (clipped, reduced). */
    void step(float lr);

    /** The parameter slices this optimizer updates (whole parameters on one rank). */
    List<ParamSlice> slices();

    /** Number of steps taken (bias correction uses it). */
    long steps();

    /**
     * The optimizer's state as named tensors, live (not copies), in a fixed order. A checkpoint
     * writes them as they are; dtypes may be F32 or U8 (8-bit codes).
     */
    Map<String, Tensor> state();

    /**
     * Restores a state written from {@link #state()} of an optimizer of the same kind over the
     * same slices, and the step count. Missing, extra or ill-shaped tensors are errors.
     */
    void load(Map<String, Tensor> state, long steps);

    @Override
    void close();
}
