package dev.tandem.nn;

import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Reverse-mode autograd over coarse ops. Forward code allocates its outputs here and records
 * a backward closure; {@link #backward()} runs the closures in reverse order. The tape owns every
 * activation it allocated and frees them (and their gradients) on {@link #close()}, so a training
 * step's activation memory is exactly what this tape holds.
 *
 * <p>Module markers let {@link Hooks} see forward and backward boundaries; parameter use counts
 * let them see when a parameter's gradient is complete (a tied weight is used twice).
 * {@link #recomputed} runs a module with full activation recomputation.
 */
public final class Tape implements AutoCloseable {
    private final List<Runnable> backwards = new ArrayList<>();
    private final List<Var> owned = new ArrayList<>();
    private final Map<Parameter, Integer> pendingUses = new IdentityHashMap<>();
    private final Map<String, Long> moduleStart = new HashMap<>();
    private final Map<String, Long> keptByModule = new LinkedHashMap<>();
    private final Hooks hooks;
    private final boolean recording;
    private final List<Parameter> parameterUses; // a forward-only tape's record of its ops' parameters, else null

    /** A tape that records for backward and reports to {@code hooks}. */
    public Tape(Hooks hooks) {
        this(hooks, true, null);
    }

    private Tape(Hooks hooks, boolean recording, List<Parameter> parameterUses) {
        this.hooks = hooks;
        this.recording = recording;
        this.parameterUses = parameterUses;
    }

    /** A tape for inference: allocates and frees like a training tape but records nothing. */
    public static Tape inference() {
        return inference(Hooks.NONE);
    }

    /** An inference tape that still reports module boundaries (e.g. to gather sharded parameters). */
    public static Tape inference(Hooks hooks) {
        return new Tape(hooks, false, null);
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
        if (!recording) {
            if (parameterUses != null) Collections.addAll(parameterUses, params);
            return;
        }
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

    /**
     * Full activation recomputation of one module: runs {@code forward} on {@code input} keeping
     * none of its activations but the output, and records one backward step that runs
     * {@code forward} again on a recording tape and then that tape's backward. What hooks see does
     * not change: the module markers around this call fire once each, so the recomputed forward
     * runs between the module's beforeBackward and afterBackward (where a sharding strategy has
     * gathered its parameters), and each parameter's gradient is reported ready once, after the
     * module's backward, counting every use the first forward made. Markers of modules nested in
     * {@code forward} reach the hooks from both runs, as a forward without and one with backward.
     * On a tape that does not record (evaluation, a forward without backward) this is
     * {@code forward} on a tape of its own that is closed once the output is out: the module's
     * inner activations are freed at its end, so an evaluation under full recompute holds one
     * module's activations at a time, as training does, not the whole forward's.
     *
     * @param forward the module's forward on the given tape; must return an activation it allocated
     */
    public Var recomputed(Var input, BiFunction<Tape, Var, Var> forward) {
        if (!recording) {
            Var output;
            try (Tape once = new Tape(hooks, false, parameterUses)) {
                output = forward.apply(once, input);
                if (!once.owned.remove(output)) return output; // not one of its activations: nothing to take over
            }
            owned.add(output);
            return output;
        }
        List<Parameter> uses = new ArrayList<>();
        Var output;
        try (Tape once = new Tape(markersOnly(hooks), false, uses)) {
            output = forward.apply(once, input);
            if (!once.owned.remove(output)) {
                throw new IllegalStateException("a recomputed module must return an activation it computed, not its input");
            }
        }
        owned.add(output);
        onBackward(output, () -> {
            try (Tape again = new Tape(markersOnly(hooks), true, null)) {
                Var replayed = forward.apply(again, input);
                // The replayed output takes over the output's gradient buffer (no second copy).
                replayed.setGrad(output.grad());
                output.setGrad(null);
                again.backward();
            }
        }, uses.toArray(Parameter[]::new));
        return output;
    }

    /**
     * The module markers of {@code hooks} without gradient readiness, which the tape that owns a
     * recomputed module reports itself.
     */
    private static Hooks markersOnly(Hooks hooks) {
        return new Hooks() {
            @Override
            public void beforeForward(String module) {
                hooks.beforeForward(module);
            }

            @Override
            public void afterForward(String module) {
                hooks.afterForward(module);
            }

            @Override
            public void beforeBackward(String module) {
                hooks.beforeBackward(module);
            }

            @Override
            public void afterBackward(String module) {
                hooks.afterBackward(module);
            }
        };
    }

    /**
     * Runs {@code action} when the backward pass reaches this point of the forward pass: after
     * the backward of everything recorded later, before that of everything recorded earlier.
     * Nothing on a tape that does not record.
     */
    public void atBackward(Runnable action) {
        if (recording) backwards.add(action);
    }

    /** Marks the start of {@code module}'s forward pass. */
    public void beginModule(String module) {
        moduleStart.put(module, MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS));
        hooks.beforeForward(module);
        if (recording) backwards.add(() -> hooks.afterBackward(module));
    }

    /** Marks the end of {@code module}'s forward pass. */
    public void endModule(String module) {
        hooks.afterForward(module);
        if (recording) backwards.add(() -> hooks.beforeBackward(module));
        Long start = moduleStart.remove(module);
        if (start != null) keptByModule.merge(module, MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS) - start, Long::sum);
    }

    /**
     * Activation bytes each module's forward left live for its backward on this tape, by module
     * name in forward order: the growth of live {@link MemoryCategory#ACTIVATIONS} between its
     * markers. Read it after the forward pass. The accounting is per process, so the numbers are
     * exact where one rank runs per process (not with ranks as threads of one JVM).
     */
    public Map<String, Long> activationBytesByModule() {
        return Collections.unmodifiableMap(keptByModule);
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
        moduleStart.clear();
    }
}
