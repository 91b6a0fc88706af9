package dev.tandem.nn;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.ParScaleKernels;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The ops of parallel scaling (ParScale, Chen et al. 2025), forward next to backward. P streams
 * run the same blocks as one batch of P·B sequences, stream-major (rows of stream p come p·B·T
 * rows in); they differ only by each layer's learned prefix keys and values, which every query of
 * the stream attends to before its own causal context. After the final LayerNorm the P hidden
 * states of a token are combined:
 *
 * <pre>
 *   z = [h_0 | h_1 | … | h_{P−1}]                      [N, P·C]
 *   g = aggregate.2(SiLU(aggregate.0(z)))              Linear(P·C → C), Linear(C → P)
 *   w = (1 − ε)·softmax(g) + ε/P                       label smoothing, ε = 0.01: every stream keeps ≥ ε/P
 *   out = Σ_p w_p·h_p                                  [N, C], into the tied output head
 * </pre>
 *
 * Everything computes through the kernel provider: the element-wise aggregation ops through
 * {@link ParScaleKernels} (a scalar reference and a vector twin), the matrices through its GEMM
 * ({@link Ops#linear}), attention through its kernels, and the prefix and stream copies are
 * block copies and the provider's axpy.
 */
public final class ParScale {
    /** The aggregation's label smoothing ε. */
    public static final float SMOOTHING = 0.01f;
    /** Prefix tokens per stream and layer, as in the paper. */
    public static final int DEFAULT_PREFIX = 48;

    private ParScale() {}

    /** {@code x} [N, C] → [P·N, C]: the same rows once per stream. */
    static Var replicate(Ops ops, Var x, int streams) {
        int n = x.value().dim(0), c = x.value().dim(1);
        long bytes = (long) n * c * 4;
        Var y = ops.tape().activation(streams * n, c);
        for (int p = 0; p < streams; p++) MemorySegment.copy(x.value().data(), 0, y.value().data(), p * bytes, bytes);
        ops.tape().onBackward(y, () -> {
            for (int p = 0; p < streams; p++) ops.kernels().axpy(1f, y.grad().data().asSlice(p * bytes, bytes), x.grad().data(), (long) n * c);
        });
        return y;
    }

    /**
     * {@code qkv} [S·T, 3C] of S = P·B sequences → [S·(L + T), 3C]: each sequence gets L rows in
     * front whose keys and values are its stream's prefix ([P, L, C] each) and whose queries are
     * zero. Causal attention over the result lets every token see all L prefix rows and the tokens
     * up to itself; the prefix rows' own outputs are dropped ({@link #dropPrefix}).
     */
    static Var prependPrefix(Ops ops, Var qkv, Parameter prefixK, Parameter prefixV, int streams, int seqs, int time) {
        int prefix = prefixK.value().dim(1), c = prefixK.value().dim(2), width = 3 * c, batch = seqs / streams;
        Var y = ops.tape().activation(seqs * (prefix + time), width);
        MemorySegment src = qkv.value().data(), dst = y.value().data(), pk = prefixK.value().data(), pv = prefixV.value().data();
        long row = (long) width * 4, cb = (long) c * 4;
        for (int s = 0; s < seqs; s++) {
            int p = s / batch;
            long out = (long) s * (prefix + time) * row;
            for (int j = 0; j < prefix; j++) {
                long at = ((long) p * prefix + j) * cb;
                MemorySegment.copy(pk, at, dst, out + j * row + cb, cb);
                MemorySegment.copy(pv, at, dst, out + j * row + 2 * cb, cb);
            }
            MemorySegment.copy(src, (long) s * time * row, dst, out + prefix * row, time * row);
        }
        ops.tape().onBackward(y, () -> {
            MemorySegment dy = y.grad().data(), dx = qkv.grad().data();
            for (int s = 0; s < seqs; s++) {
                int p = s / batch;
                long out = (long) s * (prefix + time) * row;
                ops.kernels().axpy(1f, dy.asSlice(out + prefix * row, time * row), dx.asSlice((long) s * time * row, time * row),
                        (long) time * width);
                for (int j = 0; j < prefix; j++) {
                    long at = ((long) p * prefix + j) * cb;
                    if (!prefixK.frozen()) ops.kernels().axpy(1f, dy.asSlice(out + j * row + cb, cb), prefixK.grad().data().asSlice(at, cb), c);
                    if (!prefixV.frozen()) ops.kernels().axpy(1f, dy.asSlice(out + j * row + 2 * cb, cb), prefixV.grad().data().asSlice(at, cb), c);
                }
            }
        }, Ops.trained(prefixK, prefixV));
        return y;
    }

    /** {@code y} [S·(L + T), C] → [S·T, C]: each sequence without its L prefix rows. */
    static Var dropPrefix(Ops ops, Var y, int seqs, int prefix, int time) {
        int c = y.value().dim(1);
        long row = (long) c * 4;
        Var x = ops.tape().activation(seqs * time, c);
        for (int s = 0; s < seqs; s++) {
            MemorySegment.copy(y.value().data(), ((long) s * (prefix + time) + prefix) * row, x.value().data(), (long) s * time * row, time * row);
        }
        ops.tape().onBackward(x, () -> {
            for (int s = 0; s < seqs; s++) {
                ops.kernels().axpy(1f, x.grad().data().asSlice((long) s * time * row, time * row),
                        y.grad().data().asSlice(((long) s * (prefix + time) + prefix) * row, time * row), (long) time * c);
            }
        });
        return x;
    }

    /**
     * The aggregation (class comment) of {@code h} [P·N, C], the final LayerNorm's output, with the
     * model's {@code aggregate.*} parameters → [N, C].
     */
    static Var aggregate(Ops ops, Var h, GPT model) {
        int streams = model.config().parscale();
        Var w = weights(ops, h, model);
        return weightedSum(ops, h, w, streams);
    }

    /** The smoothed aggregation weights [N, P] of {@code h} [P·N, C]: each row sums to 1 and every entry is ≥ ε/P. */
    static Var weights(Ops ops, Var h, GPT model) {
        int streams = model.config().parscale();
        Var z = sideBySide(ops, h, streams);
        Var a = silu(ops, ops.linear(z, model.param("aggregate.0.weight"), model.param("aggregate.0.bias")));
        return smoothedSoftmax(ops, ops.linear(a, model.param("aggregate.2.weight"), model.param("aggregate.2.bias")), SMOOTHING);
    }

    /** {@code h} [P·N, C] → [N, P·C]: row n holds stream 0's row n, then stream 1's, and so on. */
    static Var sideBySide(Ops ops, Var h, int streams) {
        int n = h.value().dim(0) / streams, c = h.value().dim(1);
        long row = (long) c * 4;
        Var z = ops.tape().activation(n, streams * c);
        for (int p = 0; p < streams; p++) {
            for (int i = 0; i < n; i++) MemorySegment.copy(h.value().data(), ((long) p * n + i) * row, z.value().data(), ((long) i * streams + p) * row, row);
        }
        ops.tape().onBackward(z, () -> {
            for (int p = 0; p < streams; p++) {
                for (int i = 0; i < n; i++) {
                    ops.kernels().axpy(1f, z.grad().data().asSlice(((long) i * streams + p) * row, row),
                            h.grad().data().asSlice(((long) p * n + i) * row, row), c);
                }
            }
        });
        return z;
    }

    /** SiLU, {@code y = a·σ(a)}; {@code dy/da = σ(a)·(1 + a·(1 − σ(a)))}. */
    static Var silu(Ops ops, Var a) {
        Var y = ops.tape().activation(a.shape());
        long n = a.value().numel();
        ParScaleKernels k = ops.kernels().parScale();
        k.silu(a.value().data(), y.value().data(), n);
        ops.tape().onBackward(y, () -> k.siluBackward(a.value().data(), y.grad().data(), a.grad().data(), n));
        return y;
    }

    /** Row-wise {@code w = (1 − ε)·softmax(g) + ε/P}; backward {@code dg = (1 − ε)·s ⊙ (dw − ⟨s, dw⟩)}. */
    static Var smoothedSoftmax(Ops ops, Var g, float eps) {
        int n = g.value().dim(0), p = g.value().dim(1);
        Var w = ops.tape().activation(n, p);
        Tensor soft = ops.tape().scratch(DType.F32, n, p);
        ParScaleKernels k = ops.kernels().parScale();
        ops.kernels().softmaxRows(g.value().data(), soft.data(), n, p);
        k.smooth(soft.data(), w.value().data(), n, p, eps);
        ops.tape().onBackward(w, () -> k.smoothBackward(soft.data(), w.grad().data(), g.grad().data(), n, p, eps));
        return w;
    }

    /** {@code out[n] = Σ_p w[n, p]·h[p·N + n]} for h [P·N, C] and w [N, P]. */
    static Var weightedSum(Ops ops, Var h, Var w, int streams) {
        int n = h.value().dim(0) / streams, c = h.value().dim(1);
        Var out = ops.tape().activation(n, c);
        ParScaleKernels k = ops.kernels().parScale();
        k.weightedSum(h.value().data(), w.value().data(), out.value().data(), n, streams, c);
        ops.tape().onBackward(out, () -> k.weightedSumBackward(h.value().data(), w.value().data(), out.grad().data(), h.grad().data(),
                w.grad().data(), n, streams, c));
        return out;
    }
}
