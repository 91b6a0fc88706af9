package dev.tandem.nn;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The MoE block's MLP as one op, forward next to backward: router logits {@code x·W_router}
 * ([C, E], no bias), {@link Routing} (top-k, capacity), the kept rows packed by expert and run by
 * {@link Experts} (here or on other ranks), and {@code y[t] = Σ_kept gate·expert(x[t])}. A dropped
 * assignment adds nothing, so its token passes through the block's residual alone.
 *
 * <p>The backward adds the load-balancing and z-loss gradients, weighted by their coefficients
 * and by the ops' loss scale (the same seed as the cross-entropy); their values are reported to
 * the ops' {@link RouterLog}, not added to the returned loss.
 */
final class MoELayer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private MoELayer() {}

    static Var forward(Ops ops, Var x, Parameter router, List<ExpertWeights> experts, MoEConfig cfg, int layer) {
        Tape tape = ops.tape();
        Kernels k = ops.kernels();
        int n = x.value().dim(0), c = x.value().dim(1), e = cfg.nExperts(), topK = cfg.topK();
        Tensor logits = tape.scratch(DType.F32, n, e);
        k.gemm(false, false, n, e, c, 1f, x.value().data(), 0, c, router.value().data(), 0, e, 0f, logits.data(), 0, e);
        float[] l = logits.toFloatArray();
        if (cfg.routerSkew() > 0) for (int i = 0; i < l.length; i++) l[i] += cfg.prior(i % e);
        Routing r = Routing.of(l, n, cfg);
        ops.routerLog().record(layer, r);
        int rows = r.keptRows();
        Tensor packed = tape.scratch(DType.F32, rows, c);
        long rowBytes = (long) c * 4;
        for (int a = 0; a < n * topK; a++) {
            if (r.row()[a] >= 0) MemorySegment.copy(x.value().data(), (long) (a / topK) * rowBytes, packed.data(), r.row()[a] * rowBytes, rowBytes);
        }
        Experts.Pass pass = ops.experts().forward(tape, k, layer, experts, packed, r.counts());
        Tensor out = pass.output();
        Var y = tape.activation(n, c);
        for (int a = 0; a < n * topK; a++) {
            if (r.row()[a] >= 0) k.axpy(r.gate()[a], out.data().asSlice(r.row()[a] * rowBytes, rowBytes), y.value().data().asSlice((a / topK) * rowBytes, rowBytes), c);
        }
        double auxWeight = cfg.auxLossCoef() * ops.lossScale(), zWeight = cfg.zLossCoef() * ops.lossScale();
        List<Parameter> params = new ArrayList<>(pass.parameters());
        params.add(router);
        tape.onBackward(y, () -> {
            MemorySegment dy = y.grad().data(), dx = x.grad().data();
            float[] dGate = new float[n * topK];
            try (Tensor dOut = Tensor.zeros(dev.tandem.tensor.MemoryCategory.ACTIVATIONS, rows, c);
                 Tensor dRows = Tensor.zeros(dev.tandem.tensor.MemoryCategory.ACTIVATIONS, rows, c);
                 Tensor dLogits = Tensor.zeros(dev.tandem.tensor.MemoryCategory.ACTIVATIONS, n, e)) {
                for (int a = 0; a < n * topK; a++) {
                    int row = r.row()[a];
                    if (row < 0) continue;
                    long t = (long) (a / topK) * c, o = (long) row * c;
                    double dot = 0;
                    for (int i = 0; i < c; i++) dot += (double) dy.getAtIndex(F, t + i) * out.data().getAtIndex(F, o + i);
                    dGate[a] = (float) dot;
                    k.axpy(r.gate()[a], dy.asSlice(t * 4, rowBytes), dOut.data().asSlice(o * 4, rowBytes), c);
                }
                pass.backward(dOut, dRows);
                for (int a = 0; a < n * topK; a++) {
                    if (r.row()[a] >= 0) k.axpy(1f, dRows.data().asSlice(r.row()[a] * rowBytes, rowBytes), dx.asSlice((a / topK) * rowBytes, rowBytes), c);
                }
                dLogits.copyFrom(r.logitGradient(dGate, auxWeight, zWeight));
                k.gemm(false, true, n, c, e, 1f, dLogits.data(), 0, e, router.value().data(), 0, e, 1f, dx, 0, c);
                k.gemm(true, false, c, e, n, 1f, x.value().data(), 0, c, dLogits.data(), 0, e, 1f, router.grad().data(), 0, e);
            }
        }, params.toArray(Parameter[]::new));
        return y;
    }
}
