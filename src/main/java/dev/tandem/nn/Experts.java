package dev.tandem.nn;

import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.util.List;

/**
 * Where an MoE block's experts run on the rows routed to them. The model hands over the rows
 * packed by expert; {@link #LOCAL} computes every expert here, and an expert-parallel strategy
 * (given to the ops from outside) sends each expert's rows to the rank that holds it.
 */
public interface Experts {
    /**
     * Runs the experts of block {@code layer} on {@code rows} [Σ counts, C], packed by expert
     * ({@code counts[e]} rows of expert e, in expert order). Buffers it keeps for the backward
     * belong to {@code tape}.
     */
    Pass forward(Tape tape, Kernels kernels, int layer, List<ExpertWeights> experts, Tensor rows, int[] counts);

    /**
     * Runs block {@code layer}'s attention ({@code attention} computes it on {@code tape}); a
     * strategy that moves expert weights between ranks starts moving them around it, so that the
     * transfer overlaps the attention's forward or backward. Every block's attention passes here,
     * dense blocks' too.
     */
    default Var duringAttention(Tape tape, int layer, java.util.function.Supplier<Var> attention) {
        return attention.get();
    }

    /** One forward's result and its backward. */
    interface Pass {
        /** The experts' outputs, packed like the input rows. */
        Tensor output();

        /** Adds the input rows' gradient to {@code dRows} given the outputs' {@code dOutput}; accumulates the expert parameters' gradients. */
        void backward(Tensor dOutput, Tensor dRows);

        /** The parameters whose gradients {@link #backward} writes on this rank. */
        List<Parameter> parameters();
    }

    /** Every expert computed on this rank. */
    Experts LOCAL = (tape, kernels, layer, experts, rows, counts) -> {
        int c = rows.dim(1), n = rows.dim(0), f = experts.getFirst().fcWeight().value().dim(1);
        Tensor h = tape.scratch(dev.tandem.tensor.DType.F32, n, f);
        Tensor act = tape.scratch(dev.tandem.tensor.DType.F32, n, f);
        Tensor out = tape.scratch(dev.tandem.tensor.DType.F32, n, c);
        ExpertRows.run(counts, c, f, (e, r0, m, xr, hr) -> ExpertMlp.forward(kernels, experts.get(e), rows.data().asSlice(xr, (long) m * c * 4),
                h.data().asSlice(hr, (long) m * f * 4), act.data().asSlice(hr, (long) m * f * 4), out.data().asSlice(xr, (long) m * c * 4), m, c));
        List<Parameter> params = experts.stream().flatMap(w -> w.all().stream()).toList();
        return new Pass() {
            @Override
            public Tensor output() {
                return out;
            }

            @Override
            public void backward(Tensor dOutput, Tensor dRows) {
                ExpertRows.run(counts, c, f, (e, r0, m, xr, hr) -> ExpertMlp.backward(kernels, experts.get(e),
                        rows.data().asSlice(xr, (long) m * c * 4), h.data().asSlice(hr, (long) m * f * 4), act.data().asSlice(hr, (long) m * f * 4),
                        dOutput.data().asSlice(xr, (long) m * c * 4), dRows.data().asSlice(xr, (long) m * c * 4), m, c));
            }

            @Override
            public List<Parameter> parameters() {
                return params;
            }
        };
    };
}
