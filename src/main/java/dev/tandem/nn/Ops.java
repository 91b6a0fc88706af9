package dev.tandem.nn;

import dev.tandem.plan.Recompute;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The differentiable ops of a GPT, each forward next to its backward (which the forward records
 * on the tape). Activations are 2-D: rows = batch·time, columns = features.
 */
public final class Ops {
    private final Tape tape;
    private final Kernels k;
    private final RecomputePolicy recompute;
    private final boolean keepAttentionProbabilities;
    private final Experts experts;
    private final RouterLog routerLog;
    private final float lossScale;
    private final Sequences sequences;

    /** Ops on {@code tape} with the default recomputation, {@link RecomputePolicy#SELECTIVE}. */
    public Ops(Tape tape, Kernels kernels) {
        this(tape, kernels, RecomputePolicy.SELECTIVE, false, Experts.LOCAL, RouterLog.NONE, 1f, Sequences.WHOLE);
    }

    private Ops(Tape tape, Kernels kernels, RecomputePolicy recompute, boolean keepAttentionProbabilities, Experts experts,
                RouterLog routerLog, float lossScale, Sequences sequences) {
        this.tape = tape;
        this.k = kernels;
        this.recompute = recompute;
        this.keepAttentionProbabilities = keepAttentionProbabilities;
        this.experts = experts;
        this.routerLog = routerLog;
        this.lossScale = lossScale;
        this.sequences = sequences;
    }

    /** The same ops, with every module they run keeping or recomputing its activations as {@code policy} says. */
    public Ops withRecompute(RecomputePolicy policy) {
        return new Ops(tape, k, policy, keepAttentionProbabilities, experts, routerLog, lossScale, sequences);
    }

    /** The same ops, with MoE blocks running their experts through {@code where} (an expert-parallel strategy). */
    public Ops withExperts(Experts where) {
        return new Ops(tape, k, recompute, keepAttentionProbabilities, where, routerLog, lossScale, sequences);
    }

    /** The same ops, with MoE blocks reporting their routing to {@code log}. */
    public Ops withRouterLog(RouterLog log) {
        return new Ops(tape, k, recompute, keepAttentionProbabilities, experts, log, lossScale, sequences);
    }

    /** The same ops, with the router losses' gradients seeded with {@code scale} (the loss's seed). */
    public Ops withLossScale(float scale) {
        return new Ops(tape, k, recompute, keepAttentionProbabilities, experts, routerLog, scale, sequences);
    }

    /**
     * The same ops on micro-batches laid out as {@code layout}: packed documents, or a shard of a
     * sequence spread over a context-parallel group (see {@link Sequences}).
     */
    public Ops withSequences(Sequences layout) {
        return new Ops(tape, k, recompute, keepAttentionProbabilities, experts, routerLog, lossScale, layout);
    }

    Experts experts() {
        return experts;
    }

    RouterLog routerLog() {
        return routerLog;
    }

    float lossScale() {
        return lossScale;
    }

    /** Whether attention keeps its T×T probabilities for backward (recompute mode none). */
    boolean keepsAttentionProbabilities() {
        return keepAttentionProbabilities;
    }

    public Tape tape() {
        return tape;
    }

    public Kernels kernels() {
        return k;
    }

    private static MemorySegment d(Var v) {
        return v.value().data();
    }

    private static MemorySegment g(Var v) {
        return v.grad().data();
    }

    /**
     * Runs {@code body} on {@code x} as the module {@code name}: marks its forward and backward
     * boundaries for {@link Hooks}. This is the one place where a module's activations are kept
     * or recomputed, in the mode the recompute policy gives the module: none keeps everything,
     * attention probabilities included; selective runs the ops as written (attention recomputes
     * its probabilities); full keeps only the module's output and runs the body again in backward
     * ({@link Tape#recomputed}). All three compute the same bits.
     */
    public Var module(String name, Var x, java.util.function.BiFunction<Ops, Var, Var> body) {
        Recompute mode = recompute.modeOf(name);
        tape.beginModule(name);
        Var y = switch (mode) {
            case NONE -> body.apply(new Ops(tape, k, recompute, true, experts, routerLog, lossScale, sequences), x);
            case SELECTIVE -> body.apply(new Ops(tape, k, recompute, false, experts, routerLog, lossScale, sequences), x);
            // The replayed forward is followed at once by its backward, so attention inside it
            // recomputes probabilities too: the transient memory stays linear in T. The replay
            // routes the same tokens again; only the first run reports its routing.
            case FULL -> {
                boolean[] replay = {false};
                yield tape.recomputed(x, (t, in) -> {
                    Ops o = new Ops(t, k, recompute, false, experts, replay[0] ? RouterLog.NONE : routerLog, lossScale, sequences);
                    replay[0] = true;
                    return body.apply(o, in);
                });
            }
        };
        tape.endModule(name);
        return y;
    }

    /**
     * {@code y = x·W + b} with W stored [in, out] (the GPT-2 "Conv1D" layout); column- or
     * row-parallel when W is split ({@link Sharding}).
     */
    public Var linear(Var x, Parameter w, Parameter b) {
        if (w.sharding() != null) return TensorParallelOps.linear(this, x, w, b);
        if (w.quantized() != null) return QuantizedLinear.forward(this, x, w, b);
        int n = x.value().dim(0), in = w.value().dim(0), out = w.value().dim(1);
        requireCols(x, in, w.name());
        Var y = tape.activation(n, out);
        k.gemm(false, false, n, out, in, 1f, d(x), 0, in, d(w), 0, out, 0f, d(y), 0, out);
        k.addRowVector(d(y), d(b), n, out);
        tape.onBackward(y, () -> {
            k.gemm(false, true, n, in, out, 1f, g(y), 0, out, d(w), 0, out, 1f, g(x), 0, in);
            if (!w.frozen()) k.gemm(true, false, in, out, n, 1f, d(x), 0, in, g(y), 0, out, 1f, g(w), 0, out);
            if (!b.frozen()) k.sumRows(g(y), g(b), n, out);
        }, trained(w, b));
        return y;
    }

    /** LayerNorm over the last dimension, eps as given (GPT-2: 1e-5). */
    public Var layerNorm(Var x, Parameter w, Parameter b, float eps) {
        int n = x.value().dim(0), c = x.value().dim(1);
        requireCols(x, c, w.name());
        Var y = tape.activation(n, c);
        Tensor mean = tape.scratch(DType.F32, n);
        Tensor rstd = tape.scratch(DType.F32, n);
        k.layerNormForward(d(x), d(w), d(b), d(y), mean.data(), rstd.data(), n, c, eps);
        // The kernel writes all three gradients; a frozen gain or bias gets a throwaway buffer.
        tape.onBackward(y, () -> k.layerNormBackward(g(y), d(x), d(w), mean.data(), rstd.data(), g(x),
                w.frozen() ? tape.scratch(DType.F32, c).data() : g(w), b.frozen() ? tape.scratch(DType.F32, c).data() : g(b), n, c),
                trained(w, b));
        return y;
    }

    /** tanh-approximation GELU. */
    public Var gelu(Var x) {
        Var y = tape.activation(x.shape());
        long n = x.value().numel();
        k.geluForward(d(x), d(y), n);
        tape.onBackward(y, () -> k.geluBackward(d(x), g(y), g(x), n));
        return y;
    }

    /** Residual connection {@code z = x + y}. */
    public Var add(Var x, Var y) {
        Var z = tape.activation(x.shape());
        long n = x.value().numel();
        k.add(d(x), d(y), d(z), n);
        tape.onBackward(z, () -> {
            k.axpy(1f, g(z), g(x), n);
            k.axpy(1f, g(z), g(y), n);
        });
        return z;
    }

    /**
     * Token plus position embedding: {@code x[b, t] = wte[ids[b, t]] + wpe[offset + t]}.
     * {@code ids} is an I32 tensor [batch, time]. Vocabulary-parallel when wte is split.
     */
    public Var embed(Tensor ids, Parameter wte, Parameter wpe, int positionOffset) {
        int batch = ids.dim(0), time = ids.dim(1), c = wte.value().dim(1), vocab = wte.split().fullShape()[0];
        if (positionOffset + time > wpe.value().dim(0)) {
            throw new IllegalArgumentException("sequence of " + (positionOffset + time) + " tokens exceeds block_size "
                    + wpe.value().dim(0));
        }
        for (long i = 0; i < ids.numel(); i++) {
            int id = ids.getInt(i);
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + vocab);
        }
        Tensor positions = sequences.positions(tape, batch, time);
        if (wte.sharding() != null) {
            if (positions != null) throw new IllegalArgumentException("packed or context-parallel sequences with a vocabulary-parallel embedding (tp > 1)");
            return TensorParallelOps.embed(this, ids, wte, wpe, positionOffset);
        }
        int n = batch * time;
        Var x = tape.activation(n, c);
        k.embeddingForward(d(wte), ids.data(), d(x), n, c);
        if (positions != null) {
            tape.onBackward(x, () -> {
                if (!wte.frozen()) k.embeddingBackward(g(x), ids.data(), g(wte), n, c);
            }, trained(wte));
            return addPositionRows(x, wpe, positions, positionOffset);
        }
        MemorySegment pos = d(wpe).asSlice((long) positionOffset * c * 4, (long) time * c * 4);
        for (int b = 0; b < batch; b++) {
            MemorySegment rows = d(x).asSlice((long) b * time * c * 4, (long) time * c * 4);
            k.add(rows, pos, rows, (long) time * c);
        }
        tape.onBackward(x, () -> {
            if (!wte.frozen()) k.embeddingBackward(g(x), ids.data(), g(wte), n, c);
            if (!wpe.frozen()) k.sumRows(g(x), g(wpe).asSlice((long) positionOffset * c * 4, (long) time * c * 4), batch, time * c);
        }, trained(wte, wpe));
        return x;
    }

    /**
     * Output head tied to the token embedding and the fused softmax cross-entropy: logits =
     * x·wteᵀ, loss = mean over rows with a non-negative target. The backward pass is seeded with
     * {@code lossScale} (e.g. 1/micro-batches) and overwrites the logits with their gradient, so
     * the [rows, vocab] matrix exists once. Vocabulary-parallel when wte is split: each rank
     * computes only its vocabulary's logits.
     *
     * @return the mean loss in nats (a double copied out; not differentiated further)
     */
    public double tiedCrossEntropy(Var x, Parameter wte, Tensor targets, float lossScale) {
        if (wte.sharding() != null) return TensorParallelOps.tiedCrossEntropy(this, x, wte, targets, lossScale);
        int n = x.value().dim(0), c = x.value().dim(1), vocab = wte.value().dim(0);
        requireCols(x, c, wte.name());
        Tensor logits = tape.scratch(DType.F32, n, vocab);
        Tensor losses = tape.scratch(DType.F32, n);
        Tensor lse = tape.scratch(DType.F32, n);
        k.gemm(false, true, n, vocab, c, 1f, d(x), 0, c, d(wte), 0, c, 0f, logits.data(), 0, vocab);
        k.crossEntropyForward(logits.data(), targets.data(), losses.data(), lse.data(), n, vocab);
        int counted = 0;
        for (int i = 0; i < n; i++) if (targets.getInt(i) >= 0) counted++;
        double loss = counted == 0 ? 0 : k.sum(losses.data(), n) / counted;
        float scale = counted == 0 ? 0f : lossScale / counted;
        tape.onBackward(null, () -> {
            k.crossEntropyBackward(logits.data(), targets.data(), lse.data(), scale, logits.data(), n, vocab);
            k.gemm(false, false, n, c, vocab, 1f, logits.data(), 0, vocab, d(wte), 0, c, 1f, g(x), 0, c);
            if (!wte.frozen()) k.gemm(true, false, vocab, c, n, 1f, logits.data(), 0, vocab, d(x), 0, c, 1f, g(wte), 0, c);
        }, trained(wte));
        return loss;
    }

    /**
     * A mixture of experts in place of an MLP: top-k routing of x [N, C] to {@code experts} with
     * {@code router} [C, E]; see {@link MoELayer}.
     */
    public Var moe(Var x, Parameter router, java.util.List<ExpertWeights> experts, MoEConfig cfg, int layer) {
        requireCols(x, router.value().dim(0), router.name());
        return MoELayer.forward(this, x, router, experts, cfg, layer);
    }

    /**
     * Block {@code layer}'s attention, computed by {@code attention}, handed to the experts'
     * strategy, which may move expert weights meanwhile ({@link Experts#duringAttention}).
     */
    public Var blockAttention(int layer, java.util.function.Supplier<Var> attention) {
        return experts.duringAttention(tape, layer, attention);
    }

    /** Causal multi-head self-attention over {@code qkv} [batch·time, 3C]; see {@link CausalAttention}. */
    public Var attention(Var qkv, int batch, int time, int heads) {
        return sequences.attention(this, qkv, batch, time, heads);
    }

    /** Logits x·wteᵀ without a loss (generation). */
    public Tensor tiedLogits(Var x, Parameter wte) {
        if (wte.sharding() != null) {
            throw new IllegalStateException("logits of a vocabulary-parallel model: generate from a whole model "
                    + "(TensorParallel.gatherModel, or the saved model files)");
        }
        int n = x.value().dim(0), c = x.value().dim(1), vocab = wte.value().dim(0);
        Tensor logits = tape.scratch(DType.F32, n, vocab);
        k.gemm(false, true, n, vocab, c, 1f, d(x), 0, c, d(wte), 0, c, 0f, logits.data(), 0, vocab);
        return logits;
    }

    /**
     * Token embedding alone, {@code x[b·t] = wte[ids[b, t]]}: the stable embedding normalizes it
     * before {@link #addPositions} (plain GPT-2 uses the fused {@link #embed}).
     */
    public Var embedTokens(Tensor ids, Parameter wte) {
        int n = Math.toIntExact(ids.numel()), c = wte.value().dim(1), vocab = wte.value().dim(0);
        for (long i = 0; i < n; i++) {
            int id = ids.getInt(i);
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + vocab);
        }
        Var x = tape.activation(n, c);
        k.embeddingForward(d(wte), ids.data(), d(x), n, c);
        tape.onBackward(x, () -> {
            if (!wte.frozen()) k.embeddingBackward(g(x), ids.data(), g(wte), n, c);
        }, trained(wte));
        return x;
    }

    /** {@code y[b, t] = x[b, t] + wpe[offset + t]} for x [batch·time, C]. */
    public Var addPositions(Var x, Parameter wpe, int batch, int positionOffset) {
        int n = x.value().dim(0), c = x.value().dim(1), time = n / batch;
        requireCols(x, wpe.value().dim(1), wpe.name());
        Tensor positions = sequences.positions(tape, batch, time);
        if (positions != null) {
            Var y = tape.activation(n, c);
            k.axpy(1f, d(x), d(y), (long) n * c);
            tape.onBackward(y, () -> k.axpy(1f, g(y), g(x), (long) n * c));
            return addPositionRows(y, wpe, positions, positionOffset);
        }
        if (positionOffset + time > wpe.value().dim(0)) {
            throw new IllegalArgumentException("sequence of " + (positionOffset + time) + " tokens exceeds block_size "
                    + wpe.value().dim(0));
        }
        Var y = tape.activation(n, c);
        long rowBytes = (long) time * c * 4;
        MemorySegment pos = d(wpe).asSlice((long) positionOffset * c * 4, rowBytes);
        for (int b = 0; b < batch; b++) k.add(d(x).asSlice(b * rowBytes, rowBytes), pos, d(y).asSlice(b * rowBytes, rowBytes), (long) time * c);
        tape.onBackward(y, () -> {
            k.axpy(1f, g(y), g(x), (long) n * c);
            if (!wpe.frozen()) k.sumRows(g(y), g(wpe).asSlice((long) positionOffset * c * 4, rowBytes), batch, time * c);
        }, trained(wpe));
        return y;
    }

    /**
     * {@code x[r] += wpe[offset + positions[r]]} in place for the rows of a fresh activation x, with
     * the positions a {@link Sequences} layout gives (restarting per document, or a shard's global
     * positions); its backward scatter-adds x's gradient into wpe's before the backward of the op
     * that produced x (recorded earlier) runs and frees that gradient.
     */
    private Var addPositionRows(Var x, Parameter wpe, Tensor positions, int positionOffset) {
        int n = x.value().dim(0), c = x.value().dim(1), rows = wpe.value().dim(0);
        for (long i = 0; i < positions.numel(); i++) {
            int at = positionOffset + positions.getInt(i);
            if (at < 0 || at >= rows) throw new IllegalArgumentException("position " + at + " outside block_size " + rows);
            positions.setInt(i, at);
        }
        Tensor pos = tape.scratch(DType.F32, n, c);
        k.embeddingForward(d(wpe), positions.data(), pos.data(), n, c);
        k.add(d(x), pos.data(), d(x), (long) n * c);
        tape.onBackward(null, () -> {
            if (!wpe.frozen()) k.embeddingBackward(g(x), positions.data(), g(wpe), n, c);
        }, trained(wpe));
        return x;
    }

    /** The parameters among {@code params} that get a gradient (not {@link Parameter#frozen() frozen}). */
    static Parameter[] trained(Parameter... params) {
        int n = 0;
        for (Parameter p : params) if (!p.frozen()) n++;
        if (n == params.length) return params;
        Parameter[] out = new Parameter[n];
        n = 0;
        for (Parameter p : params) if (!p.frozen()) out[n++] = p;
        return out;
    }

    static void requireCols(Var x, int cols, String param) {
        if (x.value().rank() != 2 || x.value().dim(1) != cols) {
            throw new IllegalArgumentException("input " + x.value() + " does not match " + param + " (expects " + cols + " columns)");
        }
    }
}
