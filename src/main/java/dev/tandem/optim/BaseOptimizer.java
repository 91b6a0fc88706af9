package dev.tandem.optim;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.List;
import java.util.Map;

/** The bookkeeping every optimizer shares: its slices, named state, groups and step count. */
abstract class BaseOptimizer implements Optimizer {
    protected final List<ParamSlice> slices;
    protected final OptimizerState state = new OptimizerState();
    protected final ParamGroups groups;
    /** The kernels this optimizer computes with (the rank's provider). */
    protected final Kernels kernels;
    protected long t;

    BaseOptimizer(List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        this.slices = List.copyOf(slices);
        this.groups = groups;
        this.kernels = kernels;
    }

    /** The learning rate of slice {@code s} (its group's multiplier applied). */
    protected float lr(ParamSlice s, float lr) {
        return lr * groups.lrScale(s.name());
    }

    @Override
    public List<ParamSlice> slices() {
        return slices;
    }

    @Override
    public long steps() {
        return t;
    }

    @Override
    public Map<String, Tensor> state() {
        return state.view();
    }

    @Override
    public void load(Map<String, Tensor> source, long steps) {
        state.load(source);
        this.t = steps;
    }

    @Override
    public void close() {
        state.close();
    }
}
