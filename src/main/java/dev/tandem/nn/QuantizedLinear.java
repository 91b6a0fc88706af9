package dev.tandem.nn;

import dev.tandem.tensor.QuantKernels;
import dev.tandem.tensor.QuantizedMatrix;

/**
 * {@code y = x·Ŵ + b} for a weight held as packed low-bit codes with per-channel scales, Ŵ[i, o] =
 * scale[o]·(q[i, o] − z[o]) (PEQA; {@link Parameter#quantize}). Forward and backward run the
 * provider's {@link QuantKernels} on the codes: the input gradient through Ŵᵀ and the gradient of
 * the scales (the parameter's value); the codes themselves never change.
 */
final class QuantizedLinear {
    private QuantizedLinear() {}

    static Var forward(Ops ops, Var x, Parameter w, Parameter b) {
        QuantizedMatrix q = w.quantized();
        QuantKernels k = ops.kernels().quant();
        int n = x.value().dim(0), out = q.out();
        Ops.requireCols(x, q.in(), w.name());
        Var y = ops.tape().activation(n, out);
        k.forward(q, w.value().data(), x.value().data(), y.value().data(), n);
        ops.kernels().addRowVector(y.value().data(), b.value().data(), n, out);
        ops.tape().onBackward(y, () -> {
            k.backwardInput(q, w.value().data(), y.grad().data(), x.grad().data(), n);
            if (!w.frozen()) k.backwardScale(q, x.value().data(), y.grad().data(), w.grad().data(), n);
            if (!b.frozen()) ops.kernels().sumRows(y.grad().data(), b.grad().data(), n, out);
        }, Ops.trained(w, b));
        return y;
    }
}
