package dev.tandem.plan;

/**
 * Lists the kernels of one transformer layer for one micro-batch on one tensor-parallel rank and
 * times them with {@link KernelTimer}: the weight GEMMs (QKV with grouped-query K and V, output
 * projection, the MLP or the experts), the attention core ({@link AttentionKernel}), and the
 * element-wise kernels Megatron-LM fuses (bias+GeLU or SwiGLU, bias+dropout+residual, LayerNorm,
 * rotary embedding).
 *
 * <p>Memory traffic of the non-GEMM kernels, forward, in bytes (16-bit activations, 1-byte masks),
 * T = b·s tokens: two LayerNorms 2×4·T·h, two bias+dropout+residual 2×7·T·h (all replicated across
 * the tp group unless sequence parallel splits them), bias+GeLU 4·T·f/t or SwiGLU 6·T·f/t (reads
 * gate and up, writes their product), RoPE 4·T·(h + kv_dim)/t (reads and writes Q and K). The
 * materialized attention core writes softmax 4 and dropout 5 bytes per score (b·a/t·s² scores);
 * the flash kernel keeps the scores on chip. The backward moves about twice the forward's bytes
 * (it reads the saved input and the incoming gradient and writes a gradient). FP8 GEMMs add a cast
 * of each GEMM input (read 2 bytes, write 1) in both directions.
 *
 * <p>An MoE layer's experts run as a batch of GEMMs over the tokens routed to them, padded to
 * capacity ({@link MoeShape#computedExperts()} rows per token), with the router GEMM before them
 * and, when an expert group spreads the experts over ep ranks, a dispatch and a combine all-to-all
 * of those rows in each direction.
 */
public final class LayerModel {
    /** Backward bytes of the element-wise kernels relative to their forward. */
    static final double BACKWARD_BYTES = 2.0;
    /** A flash backward runs five s²-sized GEMMs (QKᵀ again, dV, dP, dQ, dK) against the forward's two. */
    static final double FLASH_BACKWARD = 2.5;

    /** What a layer's cost depends on besides the model: the cost model's cache key. */
    public record Shape(int tp, boolean sp, int microBatch, AttentionKernel attention, TrainingPrecision precision, int ep) {
        static Shape of(Plan c, int globalBatch) {
            int ep = c.experts().mode() == ExpertLayout.Mode.FSSDP ? c.dp() : c.ep();
            return new Shape(c.tp(), c.sequenceParallel(), c.rowsPerMicroBatch(globalBatch), c.attention(), c.precision(), ep);
        }
    }

    private final ModelSpec model;
    private final KernelTimer timer;
    private final CommModel comm;

    public LayerModel(ModelSpec model, KernelTimer timer, CommModel comm) {
        this.model = model;
        this.timer = timer;
        this.comm = comm;
    }

    /** A dense layer with materialized attention in 16-bit GEMMs, no expert group. */
    public LayerCost layer(int tp, boolean sp, int microBatch) {
        return layer(new Shape(tp, sp, microBatch, AttentionKernel.MATERIALIZED, TrainingPrecision.MIXED, 1));
    }

    public LayerCost layer(Shape shape) {
        Hardware hw = timer.hardware();
        KernelTimer matrices = timer.withPeak(shape.precision().gemmPeak(hw));
        KernelTimer attention = timer.withPeak(shape.precision().attentionPeak(hw));
        int tp = shape.tp();
        double s = model.seq(), h = model.hidden(), f = model.ffnHidden(), t = tp;
        // ParScale's P streams are P× the sequences; their attention also reads the prefix keys.
        double tokens = (double) shape.microBatch() * s * model.streams(), keys = s + model.prefix();
        double heads = (double) model.heads() / t * shape.microBatch() * model.streams(); // attention matrices per device
        double d = model.headDim();
        // K and V heads are split over tp, or replicated when tp exceeds them (Megatron-LM's GQA).
        double kv = Math.max(1.0, (double) model.kvHeads() / t) * d;
        double moe = model.moeFraction(), dense = 1 - moe;
        boolean fp8 = shape.precision() == TrainingPrecision.FP8;

        Sum fwd = new Sum(), bwd = new Sum();
        // Attention projections (M = tokens): Q, K, V together, then the output projection.
        gemm(matrices, fwd, bwd, tokens, h / t + 2 * kv, h, 1, 1);
        gemm(matrices, fwd, bwd, tokens, h, h / t, 1, 1);
        double up = model.mlp().upWidth(model.ffnHidden());
        if (dense > 0) {
            gemm(matrices, fwd, bwd, tokens, up / t, h, 1, dense);
            gemm(matrices, fwd, bwd, tokens, h, f / t, 1, dense);
        }
        double a2aFwd = 0, a2aBwd = 0;
        if (moe > 0) {
            MoeShape e = model.moe();
            int ep = Math.max(1, shape.ep());
            double local = (double) e.experts() / ep, rows = tokens * e.computedExperts(), perExpert = rows / local;
            gemm(attention, fwd, bwd, tokens, e.experts(), h, 1, moe); // router
            gemm(matrices, fwd, bwd, perExpert, up / t, h, local, moe);
            gemm(matrices, fwd, bwd, perExpert, h, f / t, local, moe);
            fwd.add(moe * timer.memoryBound(6 * tokens * e.experts())); // router softmax and top-k
            // Dispatch before the experts and combine after them, in each direction.
            double bytes = 2 * rows * h;
            double one = comm.allToAll(bytes, ep, comm.spanning((long) ep * tp));
            a2aFwd = moe * 2 * one;
            a2aBwd = moe * 2 * one;
        }

        // The attention core.
        double core, coreBwd, coreFlops = 4 * heads * s * keys * d, recomputedFlops;
        if (shape.attention() == AttentionKernel.FLASH) {
            // One fused kernel: the causal mask skips half of the s×s blocks (not the prefix keys).
            double causal = (s / 2 + model.prefix()) / keys;
            double pair = attention.gemmCompute(s, keys, d, heads) + attention.gemmCompute(s, d, keys, heads);
            core = causal * pair + timer.launch();
            coreBwd = causal * FLASH_BACKWARD * pair + timer.launch();
            recomputedFlops = 0;
        } else {
            double scores = attention.gemm(s, keys, d, heads), context = attention.gemm(s, d, keys, heads);
            double softmaxBytes = 4 * heads * s * keys, dropoutBytes = 5 * heads * s * keys;
            core = scores + context + timer.memoryBound(softmaxBytes) + timer.memoryBound(dropoutBytes);
            coreBwd = attention.gemm(s, keys, d, heads) + 3 * attention.gemm(s, d, keys, heads)
                    + timer.memoryBound(BACKWARD_BYTES * softmaxBytes) + timer.memoryBound(BACKWARD_BYTES * dropoutBytes);
            recomputedFlops = coreFlops;
        }
        fwd.add(core);
        bwd.add(coreBwd);
        fwd.flops += coreFlops;

        // Element-wise kernels outside the core: 2 LayerNorms, 2 bias+dropout+residual, the MLP's activation, RoPE.
        double replicated = (shape.sp() ? 1 / t : 1) * tokens * h;
        double activation = (model.mlp() == MlpType.SWIGLU ? 6 : 4) * tokens * f / t * (dense + moe * model.moe().computedExperts());
        double rope = model.positions() == Positions.ROPE ? 4 * tokens * (h / t + kv) : 0;
        double casts = fp8 ? 3 * tokens * (h + h / t + h + f / t) : 0;
        for (double bytes : new double[] {4 * replicated, 7 * replicated, 4 * replicated, 7 * replicated, activation, rope, casts}) {
            if (bytes == 0) continue;
            fwd.add(timer.memoryBound(bytes));
            bwd.add(timer.memoryBound(BACKWARD_BYTES * bytes));
        }

        // Two tensor-parallel exchanges of the full activation (T·h·2 bytes) per direction.
        double act = tokens * h * 2;
        double tpOne = tp == 1 ? 0 : comm.tensorParallelAllReduce(act, tp);
        double recomputed = shape.attention() == AttentionKernel.FLASH ? 0 : core;
        return new LayerCost(fwd.seconds, bwd.seconds, recomputed, 2 * tpOne, 2 * tpOne, fwd.flops, recomputedFlops, a2aFwd, a2aBwd);
    }

    private static final class Sum {
        double seconds, flops;

        void add(double x) {
            seconds += x;
        }
    }

    /**
     * A weight GEMM of M×N×K ({@code batch} of them), forward and its two backward GEMMs (data
     * gradient M×K from M×N · N×K, weight gradient K×N from K×M · M×N), counted with {@code weight}
     * (the fraction of layers that have it).
     */
    private static void gemm(KernelTimer k, Sum fwd, Sum bwd, double m, double n, double kk, double batch, double weight) {
        fwd.add(weight * k.gemm(m, n, kk, batch));
        bwd.add(weight * (k.gemm(m, kk, n, batch) + k.gemm(kk, n, m, batch)));
        fwd.flops += weight * 2 * m * n * kk * batch;
    }

    /**
     * Seconds of the word/position embedding (first stage) for one micro-batch, forward + backward:
     * lookup, add and dropout (11 bytes per element forward, twice that backward).
     */
    public double embedding(int microBatch) {
        double th = (double) microBatch * model.seq() * model.hidden();
        return timer.memoryBound(11 * th) + timer.memoryBound(BACKWARD_BYTES * 11 * th);
    }

    /** The all-reduce that combines a vocabulary-parallel embedding lookup (forward only). */
    public double embeddingTensorParallel(int tp, int microBatch) {
        double th = (double) microBatch * model.seq() * model.hidden();
        return tp == 1 ? 0 : comm.tensorParallelAllReduce(2 * th, tp);
    }

    /**
     * Seconds of the output layer (last stage) for one micro-batch: final LayerNorm, logits GEMM
     * (T × V/t × h) with its two backward GEMMs, and the vocabulary-parallel cross-entropy in FP32
     * (about 20 bytes per logit: cast, softmax, gradient). It stays 16-bit in an FP8 plan.
     */
    public double output(int tp, int microBatch, TrainingPrecision precision) {
        KernelTimer k = timer.withPeak(precision.attentionPeak(timer.hardware()));
        double tokens = (double) microBatch * model.seq(), h = model.hidden(), v = (double) model.vocab() / tp;
        double time = k.gemm(tokens, v, h, 1) + k.gemm(tokens, h, v, 1) + k.gemm(h, v, tokens, 1);
        time += timer.memoryBound(4 * tokens * h) + timer.memoryBound(BACKWARD_BYTES * 4 * tokens * h);
        time += timer.memoryBound(14 * tokens * v) + timer.memoryBound(6 * tokens * v);
        return time;
    }

    /** The output layer in 16 bits. */
    public double output(int tp, int microBatch) {
        return output(tp, microBatch, TrainingPrecision.MIXED);
    }

    /** GEMM FLOPs of the output layer for one micro-batch (forward + two backward GEMMs). */
    public double outputFlops(int microBatch) {
        return 3 * 2.0 * microBatch * model.seq() * model.hidden() * model.vocab();
    }
}
