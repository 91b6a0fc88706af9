package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The compute kernels a GPT training step needs, on float32 data in off-heap segments.
 * Offsets and leading dimensions count elements, not bytes; matrices are row-major.
 *
 * <p>Two implementations: {@link ScalarKernels}, the plain reference (double accumulation, no
 * cleverness), and {@link VectorKernels}, the fast one (Vector API, multithreaded). Tests compare
 * the fast one against the reference on random data.
 *
 * <p>Convention for backward kernels: they <em>accumulate</em> ({@code +=}) into gradient
 * outputs, because a tensor used by several ops receives the sum of their gradients.
 *
 * <p>The kernels of attention, of the optimizers' updates and of the collectives' reductions are
 * interfaces of their own ({@link #attention()}, {@link #optimizer()}, {@link #parScale()}, {@link #reductions()}),
 * each with its reference and fast twin, so that each file keeps one job; this interface hands
 * out the ones of the same implementation.
 */
public interface Kernels {

    /**
     * The fast kernels, running on {@code pool} (the rank's threads). This and {@link #reference()}
     * are the one choice of kernels; a rank makes it where it is set up and passes the result on.
     */
    static Kernels fast(WorkerPool pool) {
        return new VectorKernels(pool);
    }

    /** Which implementation this is, in a few words, for the line a run starts with. */
    String describe();

    /** The scalar reference kernels (single-threaded). */
    static Kernels reference() {
        return ScalarKernels.INSTANCE;
    }

    /**
     * The threads these kernels run on. Work of the same rank that is not a kernel (e.g. the 8-bit
     * optimizers' block loops) may be split over them too; the reference's pool is the caller alone.
     */
    WorkerPool pool();

    /** Causal self-attention, forward and backward. */
    AttentionKernels attention();

    /** The GEMMs of linear layers with packed low-bit weights (PEQA). */
    QuantKernels quant();

    /** The element-wise updates of the optimizers. */
    OptimizerKernels optimizer();

    /** The element-wise ops of ParScale's aggregation (SiLU, smoothed softmax weights, weighted sum of streams). */
    ParScaleKernels parScale();

    /** The element-wise combinations of the collectives. */
    ReductionKernels reductions();

    /**
     * {@code C = alpha·op(A)·op(B) + beta·C} where op(A) is m×k and op(B) is k×n. With
     * {@code beta == 0} C is overwritten (its old contents, even NaN, are ignored).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
              MemorySegment a, long aOffset, int lda,
              MemorySegment b, long bOffset, int ldb, float beta,
              MemorySegment c, long cOffset, int ldc);

    /** {@code batch} independent GEMMs whose operands start {@code stride*} elements apart. */
    default void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k, float alpha,
                             MemorySegment a, long aOffset, int lda, long strideA,
                             MemorySegment b, long bOffset, int ldb, long strideB, float beta,
                             MemorySegment c, long cOffset, int ldc, long strideC) {
        for (int i = 0; i < batch; i++) {
            gemm(transA, transB, m, n, k, alpha, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                    beta, c, cOffset + i * strideC, ldc);
        }
    }

    /** {@code out = x + y} over n elements ({@code out} may alias either input). */
    void add(MemorySegment x, MemorySegment y, MemorySegment out, long n);

    /** {@code y += alpha·x} over n elements. */
    void axpy(float alpha, MemorySegment x, MemorySegment y, long n);

    /** {@code x *= alpha} over n elements. */
    void scale(MemorySegment x, float alpha, long n);

    /** {@code out[r, :] += bias} for every row of a rows×cols matrix. */
    void addRowVector(MemorySegment out, MemorySegment bias, int rows, int cols);

    /** {@code dBias += Σ_r dOut[r, :]} (the bias gradient of {@link #addRowVector}). */
    void sumRows(MemorySegment dOut, MemorySegment dBias, int rows, int cols);

    /** tanh-approximation GELU: {@code out = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))}. */
    void geluForward(MemorySegment x, MemorySegment out, long n);

    /** {@code dx += dOut · gelu'(x)}. */
    void geluBackward(MemorySegment x, MemorySegment dOut, MemorySegment dx, long n);

    /** Numerically stable softmax of each row of a rows×cols matrix. */
    void softmaxRows(MemorySegment x, MemorySegment out, int rows, int cols);

    /**
     * LayerNorm of each row: {@code out = (x − mean)·rstd·w + b}; saves mean and rstd per row
     * for the backward pass.
     */
    void layerNormForward(MemorySegment x, MemorySegment weight, MemorySegment bias, MemorySegment out,
                          MemorySegment mean, MemorySegment rstd, int rows, int cols, float eps);

    /** Accumulates dx, dWeight and dBias of {@link #layerNormForward}. */
    void layerNormBackward(MemorySegment dOut, MemorySegment x, MemorySegment weight,
                           MemorySegment mean, MemorySegment rstd,
                           MemorySegment dx, MemorySegment dWeight, MemorySegment dBias, int rows, int cols);

    /**
     * Fused softmax cross-entropy forward: for each row, {@code loss = logsumexp(logits) −
     * logits[target]}. Writes per-row losses and log-sum-exps (kept for the backward pass).
     * Rows whose target is negative are ignored (loss 0).
     */
    void crossEntropyForward(MemorySegment logits, MemorySegment targets, MemorySegment losses,
                             MemorySegment logSumExp, int rows, int vocab);

    /**
     * {@code dLogits = scale·(softmax(logits) − onehot(target))} per row, recomputing the softmax
     * from the saved log-sum-exp; {@code dLogits} may alias {@code logits}. Writes, not accumulates.
     */
    default void crossEntropyBackward(MemorySegment logits, MemorySegment targets, MemorySegment logSumExp,
                                      float scale, MemorySegment dLogits, int rows, int vocab) {
        crossEntropyBackward(logits, targets, logSumExp, 0, scale, dLogits, rows, vocab);
    }

    /**
     * {@link #crossEntropyBackward(MemorySegment, MemorySegment, MemorySegment, float, MemorySegment, int, int)}
     * over a part of the vocabulary (vocabulary-parallel): the {@code vocab} columns are classes
     * {@code firstClass} .. {@code firstClass + vocab − 1}, {@code logSumExp} is over each whole row,
     * and a target outside the part adds no one-hot term; rows whose target is negative get zeros.
     */
    void crossEntropyBackward(MemorySegment logits, MemorySegment targets, MemorySegment logSumExp, int firstClass,
                              float scale, MemorySegment dLogits, int rows, int vocab);

    /** {@code out[r, :] = table[ids[r], :]}. */
    void embeddingForward(MemorySegment table, MemorySegment ids, MemorySegment out, int rows, int dim);

    /** {@code dTable[ids[r], :] += dOut[r, :]} (scatter-add). */
    void embeddingBackward(MemorySegment dOut, MemorySegment ids, MemorySegment dTable, int rows, int dim);

    double sum(MemorySegment x, long n);

    float max(MemorySegment x, long n);

    double squaredNorm(MemorySegment x, long n);
}
