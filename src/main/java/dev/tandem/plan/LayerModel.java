package dev.tandem.plan;

/**
 * Lists the kernels of one GPT layer (Megatron-LM style: fused bias+GeLU, fused
 * bias+dropout+residual, fused scale+mask+softmax, attention probabilities materialized) for one
 * micro-batch on one tensor-parallel rank, and times them with {@link KernelTimer}.
 *
 * <p>Memory traffic of the non-GEMM kernels, forward, in bytes (16-bit activations, 1-byte masks),
 * T = b·s tokens: two LayerNorms 2×4·T·h, two bias+dropout+residual 2×7·T·h (all replicated across
 * the tp group unless sequence parallel splits them), bias+GeLU 4·T·f/t, softmax 4 and dropout 5
 * bytes per attention score (b·a/t·s² scores). The backward moves about twice the forward's bytes
 * (it reads the saved input and the incoming gradient and writes a gradient).
 */
public final class LayerModel {
    /** Backward bytes of the element-wise kernels relative to their forward. */
    static final double BACKWARD_BYTES = 2.0;

    private final ModelSpec model;
    private final KernelTimer timer;
    private final CommModel comm;

    public LayerModel(ModelSpec model, KernelTimer timer, CommModel comm) {
        this.model = model;
        this.timer = timer;
        this.comm = comm;
    }

    public LayerCost layer(int tp, boolean sp, int microBatch) {
        double s = model.seq(), h = model.hidden(), f = model.ffnHidden(), t = tp;
        // ParScale's P streams are P× the sequences; their attention also reads the prefix keys.
        double tokens = (double) microBatch * s * model.streams(), keys = s + model.prefix();
        double heads = (double) model.heads() / t * microBatch * model.streams(); // attention matrices per device
        double d = model.headDim();

        // Forward GEMMs (M = tokens): QKV, attention output projection, MLP up, MLP down.
        double[][] gemms = {{tokens, 3 * h / t, h}, {tokens, h, h / t}, {tokens, f / t, h}, {tokens, h, f / t}};
        double fwd = 0, bwd = 0, fwdFlops = 0;
        for (double[] g : gemms) {
            fwd += timer.gemm(g[0], g[1], g[2], 1);
            // data gradient: M×K from M×N · N×K; weight gradient: K×N from K×M · M×N
            bwd += timer.gemm(g[0], g[2], g[1], 1) + timer.gemm(g[2], g[1], g[0], 1);
            fwdFlops += 2 * g[0] * g[1] * g[2];
        }
        // Attention core: scores = Q·Kᵀ (s×s×d), context = P·V (s×d×s), per head; backward: 4 GEMMs.
        double scores = timer.gemm(s, keys, d, heads), context = timer.gemm(s, d, keys, heads);
        double softmaxBytes = 4 * heads * s * keys, dropoutBytes = 5 * heads * s * keys;
        double core = scores + context + timer.memoryBound(softmaxBytes) + timer.memoryBound(dropoutBytes);
        double coreBwd = timer.gemm(s, keys, d, heads) + 3 * timer.gemm(s, d, keys, heads)
                + timer.memoryBound(BACKWARD_BYTES * softmaxBytes) + timer.memoryBound(BACKWARD_BYTES * dropoutBytes);
        double coreFlops = 4 * heads * s * keys * d;

        // Element-wise kernels outside the core: 2 LayerNorms, 2 bias+dropout+residual, bias+GeLU.
        double replicated = (sp ? 1 / t : 1) * tokens * h;
        double[] elementwise = {4 * replicated, 7 * replicated, 4 * replicated, 7 * replicated, 4 * tokens * f / t};
        for (double bytes : elementwise) {
            fwd += timer.memoryBound(bytes);
            bwd += timer.memoryBound(BACKWARD_BYTES * bytes);
        }
        fwd += core;
        bwd += coreBwd;
        fwdFlops += coreFlops;

        // Two tensor-parallel exchanges of the full activation (T·h·2 bytes) per direction.
        double act = tokens * h * 2;
        double tpOne = tp == 1 ? 0 : comm.tensorParallelAllReduce(act, tp);
        return new LayerCost(fwd, bwd, core, 2 * tpOne, 2 * tpOne, fwdFlops, coreFlops);
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
     * (about 20 bytes per logit: cast, softmax, gradient).
     */
    public double output(int tp, int microBatch) {
        double tokens = (double) microBatch * model.seq(), h = model.hidden(), v = (double) model.vocab() / tp;
        double time = timer.gemm(tokens, v, h, 1) + timer.gemm(tokens, h, v, 1) + timer.gemm(h, v, tokens, 1);
        time += timer.memoryBound(4 * tokens * h) + timer.memoryBound(BACKWARD_BYTES * 4 * tokens * h);
        time += timer.memoryBound(14 * tokens * v) + timer.memoryBound(6 * tokens * v);
        return time;
    }

    /** GEMM FLOPs of the output layer for one micro-batch (forward + two backward GEMMs). */
    public double outputFlops(int microBatch) {
        return 3 * 2.0 * microBatch * model.seq() * model.hidden() * model.vocab();
    }
}
