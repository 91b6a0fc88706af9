package dev.tandem.nn;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode autograd over coarse ops. Forward code allocates its outputs here and records
 * a backward closure; {@link #backward()} runs the closures in reverse order. The tape owns every
 * activation it allocated and frees them (and their gradients) on {@link #close()}, so a training
 * step's activation memory is exactly what this tape holds.
 *
 * <p>Module markers let {@link Hooks} see forward and backward boundaries; parameter use counts
 * let them see when a parameter's gradient is complete (a tied weight is used twice).
 */
public final class Tape implements AutoCloseable {
    private final List<Runnable> backwards = new ArrayList<>();
    private final List<Var> owned = new ArrayList<>();
    private final Map<Parameter, Integer> pendingUses = new IdentityHashMap<>();
    private final Hooks hooks;
    private final boolean recording;

    /** A tape that records for backward and reports to {@code hooks}. */
    public Tape(Hooks hooks) {
        this(hooks, true);
    }

    private Tape(Hooks hooks, boolean recording) {
        this.hooks = hooks;
        this.recording = recording;
    }

    /** A tape for inference: allocates and frees like a training tape but records nothing. */
    public static Tape inference() {
        return inference(Hooks.NONE);
    }

    /** An inference tape that still reports module boundaries (e.g. to gather sharded parameters). */
    public static Tape inference(Hooks hooks) {
        return new Tape(hooks, false);
    }

    public boolean recording() {
        return recording;
    }

    /** A new zeroed activation owned by this tape. */
    public Var activation(int... shape) {
        Var v = new Var(Tensor.zeros(MemoryCategory.ACTIVATIONS, shape), MemoryCategory.ACTIVATIONS);
        owned.add(v);
        return v;
    }

    /** A non-differentiable tensor owned by this tape (saved statistics, token ids). */
    public Tensor scratch(dev.tandem.tensor.DType dtype, int... shape) {
        Var v = new Var(Tensor.allocate(dtype, MemoryCategory.ACTIVATIONS, shape), MemoryCategory.ACTIVATIONS);
        owned.add(v);
        return v.value();
    }

    /**
     * Records {@code backward} for the op that produced {@code output} (null for an op with no
     * differentiable output, such as the loss). The closure accumulates into its inputs' gradients,
     * including those of {@code params}; once the last recorded use of a parameter has run, its
     * gradient is ready. After the closure runs nothing needs {@code output} any more (its consumers
     * ran earlier in reverse order), so its value and gradient are freed at once: activation memory
     * shrinks as the backward pass proceeds instead of peaking at twice the activations.
     */
    public void onBackward(Var output, Runnable backward, Parameter... params) {
        if (!recording) return;
        for (Parameter p : params) pendingUses.merge(p, 1, Integer::sum);
        backwards.add(() -> {
            backward.run();
            if (output != null) {
                output.freeGrad();
                output.value().close();
            }
            for (Parameter p : params) {
                if (pendingUses.merge(p, -1, Integer::sum) == 0) hooks.onGradientReady(p);
            }
        });
    }

    /** Marks the start of {@code module}'s forward pass. */
    public void beginModule(String module) {
        hooks.beforeForward(module);
        if (recording) backwards.add(() -> hooks.afterBackward(module));
    }

    /** Marks the end of {@code module}'s forward pass. */
    public void endModule(String module) {
        hooks.afterForward(module);
        if (recording) backwards.add(() -> hooks.beforeBackward(module));
    }

    /** Runs every recorded backward closure, last first. Call once. */
    public void backward() {
        if (!recording) throw new IllegalStateException("backward() on an inference tape");
        for (int i = backwards.size() - 1; i >= 0; i--) backwards.get(i).run();
        backwards.clear();
    }

    /** Frees every activation and activation gradient this tape allocated. */
    @Override
    public void close() {
        for (Var v : owned) {
            v.freeGrad();
            v.value().close();
        }
        owned.clear();
        backwards.clear();
        pendingUses.clear();
    }
}
