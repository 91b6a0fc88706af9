package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every fast kernel against its scalar reference on random data. Tolerances: the reference
 * accumulates in double, the fast kernels in float with a different summation order, so the
 * error grows like ε_f32·√(terms)·|values|; we allow a relative 1e-5 plus an absolute term
 * scaled by the reduction length.
 */
class KernelParityTest {
    private final Kernels fast = TestKernels.FAST;
    private final Kernels ref = Kernels.reference();

    @AfterEach
    void noLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.OTHER)).isZero();
    }

    static Tensor random(SplittableRandom rng, int... shape) {
        Tensor t = Tensor.zeros(MemoryCategory.OTHER, shape);
        for (long i = 0; i < t.numel(); i++) t.set(i, (float) (rng.nextDouble() * 2 - 1));
        return t;
    }

    static Tensor copy(Tensor t) {
        Tensor c = Tensor.zeros(MemoryCategory.OTHER, t.shape());
        c.copyFrom(t);
        return c;
    }

    static void assertClose(Tensor actual, Tensor expected, double absTol) {
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        assertThat(a).hasSameSizeAs(e);
        for (int i = 0; i < a.length; i++) {
            double tol = absTol + 1e-5 * Math.abs(e[i]);
            assertThat((double) a[i]).as("element %d of %d", i, a.length).isCloseTo(e[i], org.assertj.core.data.Offset.offset(tol));
        }
    }

    @Property(tries = 60)
    void gemmMatchesReference(@ForAll @IntRange(min = 0, max = 70) int m, @ForAll @IntRange(min = 0, max = 70) int n,
                              @ForAll @IntRange(min = 0, max = 70) int k, @ForAll boolean transA, @ForAll boolean transB,
                              @ForAll boolean accumulate) {
        checkGemm(m, n, k, transA, transB, accumulate ? 1f : 0f, 0.75f);
    }

    @Test
    void gemmLargeAndPrimeShapes() {
        int[][] shapes = {{1, 1, 1}, {97, 131, 257}, {256, 768, 64}, {131, 1, 509}, {1, 300, 17}, {200, 200, 0}};
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) checkGemm(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, 0.5f, 1.25f);
        }
    }

    /**
     * Random sizes in 1..600 that cross the blocking boundaries of {@link Gemm}: micro-tile
     * edges ({@link GemmKernel#MR} rows, {@link GemmKernel#NR} columns), the B column block
     * ({@link Gemm#ncFor}) and the split of C across worker threads. Deeper k (several
     * {@link Gemm#KC} slices) is covered by the exact-multiple, NaN and sampled tests below.
     */
    @Test
    void gemmAcrossBlockBoundaries() {
        SplittableRandom rng = new SplittableRandom(2024);
        for (int t = 0; t < 12; t++) {
            checkGemm(1 + rng.nextInt(600), 1 + rng.nextInt(600), 1 + rng.nextInt(600), rng.nextBoolean(), rng.nextBoolean(),
                    rng.nextBoolean() ? 1f : 0f, 1f);
        }
    }

    @Test
    void gemmExactBlockMultiplesAndOneOff() {
        int mr = GemmKernel.MR, nr = GemmKernel.NR, kc = Gemm.KC, nc = Gemm.ncFor(Gemm.KC);
        int[][] shapes = {{mr, nr, kc}, {mr + 1, nr + 1, kc + 1}, {mr - 1, nr - 1, kc - 1}, {2 * mr, nc, 2 * kc},
                {3 * mr + 5, nc + 1, 1}, {1, nc + nr + 3, kc + 7}, {nc + 1, 1, 3}};
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) checkGemm(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, t < 2 ? 0f : 1f, 1f);
        }
    }

    /**
     * A 1024-ish GEMM in every transpose, several k blocks deep and split across threads. The
     * full reference would take seconds, so 3000 random elements are checked, each against the
     * reference kernel run as a 1×1×k GEMM on the same operands.
     */
    @Test
    void gemmLargeSampled() {
        int m = 1031, n = 1024, k = 1000;
        SplittableRandom rng = new SplittableRandom(77);
        for (int t = 0; t < 4; t++) {
            boolean transA = (t & 1) != 0, transB = (t & 2) != 0;
            int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 3, ldc = n + 2;
            float beta = t % 2 == 0 ? 0f : 1f;
            try (Tensor a = random(rng, (transA ? k : m) * lda); Tensor b = random(rng, (transB ? n : k) * ldb);
                 Tensor c = random(rng, m * ldc); Tensor c0 = copy(c); Tensor one = Tensor.zeros(MemoryCategory.OTHER, 1)) {
                fast.gemm(transA, transB, m, n, k, 0.75f, a.data(), 0, lda, b.data(), 0, ldb, beta, c.data(), 0, ldc);
                for (int s = 0; s < 3000; s++) {
                    int i = rng.nextInt(m), j = rng.nextInt(n);
                    one.set(0, c0.get((long) i * ldc + j));
                    ref.gemm(transA, transB, 1, 1, k, 0.75f, a.data(), transA ? i : (long) i * lda, lda,
                            b.data(), transB ? (long) j * ldb : j, ldb, beta, one.data(), 0, 1);
                    double expected = one.get(0), tol = 1e-6 * Math.sqrt(k + 1) * 4 + 1e-5 * Math.abs(expected);
                    assertThat((double) c.get((long) i * ldc + j)).as("C[%d,%d] transA=%s transB=%s", i, j, transA, transB)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(tol));
                }
            }
        }
    }

    /** 3 and 4 workers, on shapes with few rows (columns split) and with many (work shared), against the reference. */
    @Test
    void gemmThreadGrids() {
        for (int threads : new int[] {3, 4}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                Kernels k = Kernels.fast(pool);
                checkGemm(k, 300, 40, 100, false, false, 0f, 1f);
                checkGemm(k, 40, 300, 100, false, true, 1f, 1f);
                checkGemm(k, 250, 260, 90, true, false, 0f, 1f);
                checkGemm(k, 13, 35, 2000, true, true, 0f, 1f);
            }
        }
    }

    /**
     * Threads share the packed operands and claim units of work in whatever order they run, yet
     * every element is computed the same way: 2 and 3 threads equal one thread bit for bit, over
     * several k slices, B blocks and A blocks, rows not a multiple of the micro-tile, the
     * in-place-A path (at most one micro-panel wide), every transpose, and beta 0 over NaN.
     */
    @Test
    void sharedWorkGemmEqualsOneThreadBitForBit() {
        int kc = Gemm.KC, nc = Gemm.ncFor(Gemm.KC), nr = GemmKernel.NR;
        int[][] shapes = {{257, 3 * nc + 7, 2 * kc + 5}, {130, nr, 300}, {131, nr - 3, 2 * kc + 1}, {64, 2 * nc, 33},
                {1021, 190, 64}, {Gemm.MC_MAX + 9, 70, 20}};
        try (WorkerPool two = new WorkerPool(2); WorkerPool three = new WorkerPool(3)) {
            Kernels one = Kernels.fast(WorkerPool.SERIAL);
            for (int[] s : shapes) {
                for (int t = 0; t < 4; t++) {
                    boolean transA = (t & 1) != 0, transB = (t & 2) != 0;
                    float beta = t == 1 ? 1f : 0f;
                    float[] expected = gemmOf(one, s[0], s[1], s[2], transA, transB, beta);
                    assertThat(gemmOf(Kernels.fast(two), s[0], s[1], s[2], transA, transB, beta))
                            .as("2 threads, %dx%dx%d t=%d", s[0], s[1], s[2], t).isEqualTo(expected);
                    assertThat(gemmOf(Kernels.fast(three), s[0], s[1], s[2], transA, transB, beta))
                            .as("3 threads, %dx%dx%d t=%d", s[0], s[1], s[2], t).isEqualTo(expected);
                }
            }
        }
    }

    /** C after {@code C = 0.5·op(A)·op(B) + beta·C} on fixed random data; C starts as NaN when beta is 0. */
    private static float[] gemmOf(Kernels kernels, int m, int n, int k, boolean transA, boolean transB, float beta) {
        SplittableRandom rng = new SplittableRandom(m * 31L + n * 7L + k);
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1;
        try (Tensor a = random(rng, (transA ? k : m) * lda + 1); Tensor b = random(rng, (transB ? n : k) * ldb + 1);
             Tensor c = random(rng, m * ldc + 1)) {
            if (beta == 0f) for (long i = 0; i < c.numel(); i++) c.set(i, Float.NaN);
            kernels.gemm(transA, transB, m, n, k, 0.5f, a.data(), 1, lda, b.data(), 1, ldb, beta, c.data(), 1, ldc);
            return c.toFloatArray();
        }
    }

    @Test
    void gemmBetaZeroIgnoresNaNAcrossKBlocks() {
        int m = 37, n = 70, k = 2 * Gemm.KC + 5;
        SplittableRandom rng = new SplittableRandom(9);
        try (Tensor a = random(rng, m, k); Tensor b = random(rng, k, n);
             Tensor c1 = Tensor.zeros(MemoryCategory.OTHER, m, n); Tensor c2 = Tensor.zeros(MemoryCategory.OTHER, m, n)) {
            for (long i = 0; i < c1.numel(); i++) c1.set(i, Float.NaN);
            fast.gemm(false, false, m, n, k, 1f, a.data(), 0, k, b.data(), 0, n, 0f, c1.data(), 0, n);
            ref.gemm(false, false, m, n, k, 1f, a.data(), 0, k, b.data(), 0, n, 0f, c2.data(), 0, n);
            assertClose(c1, c2, 1e-6 * Math.sqrt(k + 1) * 4);
        }
    }

    /** Batches that are split over threads (6, 8) and ones computed one GEMM at a time (1, 3). */
    @Property(tries = 16)
    void batchedGemmAllTransposes(@ForAll @IntRange(min = 1, max = 9) int batch, @ForAll @IntRange(min = 1, max = 80) int m,
                                  @ForAll @IntRange(min = 1, max = 80) int n, @ForAll @IntRange(min = 1, max = 80) int k,
                                  @ForAll boolean transA, @ForAll boolean transB, @ForAll boolean accumulate) {
        SplittableRandom rng = new SplittableRandom(batch * 1_000_003L + m * 1009L + n * 31L + k);
        int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3;
        long strideA = (long) (transA ? k : m) * lda + 5, strideB = (long) (transB ? n : k) * ldb + 7, strideC = (long) m * ldc + 11;
        float beta = accumulate ? 1f : 0f;
        try (Tensor a = random(rng, (int) (batch * strideA) + 2); Tensor b = random(rng, (int) (batch * strideB) + 2);
             Tensor c1 = random(rng, (int) (batch * strideC) + 2); Tensor c2 = copy(c1)) {
            fast.gemmBatched(batch, transA, transB, m, n, k, 0.5f, a.data(), 2, lda, strideA, b.data(), 1, ldb, strideB,
                    beta, c1.data(), 2, ldc, strideC);
            ref.gemmBatched(batch, transA, transB, m, n, k, 0.5f, a.data(), 2, lda, strideA, b.data(), 1, ldb, strideB,
                    beta, c2.data(), 2, ldc, strideC);
            assertClose(c1, c2, 1e-6 * Math.sqrt(k + 1) * 4);
        }
    }

    private void checkGemm(int m, int n, int k, boolean transA, boolean transB, float beta, float alpha) {
        checkGemm(fast, m, n, k, transA, transB, beta, alpha);
    }

    private void checkGemm(Kernels fast, int m, int n, int k, boolean transA, boolean transB, float beta, float alpha) {
        SplittableRandom rng = new SplittableRandom(m * 31L + n * 7L + k);
        // Leading dimensions larger than the logical width exercise strided access.
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1;
        try (Tensor a = random(rng, (transA ? k : m) * lda + 1);
             Tensor b = random(rng, (transB ? n : k) * ldb + 1);
             Tensor c1 = random(rng, m * ldc + 1);
             Tensor c2 = copy(c1)) {
            fast.gemm(transA, transB, m, n, k, alpha, a.data(), 1, lda, b.data(), 1, ldb, beta, c1.data(), 1, ldc);
            ref.gemm(transA, transB, m, n, k, alpha, a.data(), 1, lda, b.data(), 1, ldb, beta, c2.data(), 1, ldc);
            assertClose(c1, c2, 1e-6 * Math.sqrt(k + 1) * 4);
        }
    }

    @Test
    void gemmBetaZeroIgnoresNaNInOutput() {
        try (Tensor a = Tensor.of(MemoryCategory.OTHER, new float[] {1, 2}, 1, 2);
             Tensor b = Tensor.of(MemoryCategory.OTHER, new float[] {3, 4}, 2, 1);
             Tensor c = Tensor.of(MemoryCategory.OTHER, new float[] {Float.NaN}, 1, 1)) {
            fast.gemm(false, false, 1, 1, 2, 1f, a.data(), 0, 2, b.data(), 0, 1, 0f, c.data(), 0, 1);
            assertThat(c.get(0)).isEqualTo(11f);
        }
    }

    @Test
    void batchedGemmMatchesReference() {
        SplittableRandom rng = new SplittableRandom(5);
        int batch = 6, m = 33, n = 17, k = 40;
        try (Tensor a = random(rng, batch, m, k); Tensor b = random(rng, batch, n, k);
             Tensor c1 = Tensor.zeros(MemoryCategory.OTHER, batch, m, n); Tensor c2 = Tensor.zeros(MemoryCategory.OTHER, batch, m, n)) {
            fast.gemmBatched(batch, false, true, m, n, k, 1f, a.data(), 0, k, (long) m * k, b.data(), 0, k, (long) n * k, 0f, c1.data(), 0, n, (long) m * n);
            ref.gemmBatched(batch, false, true, m, n, k, 1f, a.data(), 0, k, (long) m * k, b.data(), 0, k, (long) n * k, 0f, c2.data(), 0, n, (long) m * n);
            assertClose(c1, c2, 1e-5);
        }
    }

    @Property(tries = 30)
    void elementwiseKernelsMatchReference(@ForAll @IntRange(min = 0, max = 5000) int n) {
        SplittableRandom rng = new SplittableRandom(n);
        try (Tensor x = random(rng, n); Tensor y = random(rng, n);
             Tensor o1 = random(rng, n); Tensor o2 = copy(o1)) {
            fast.add(x.data(), y.data(), o1.data(), n);
            ref.add(x.data(), y.data(), o2.data(), n);
            assertClose(o1, o2, 1e-7);
            fast.axpy(0.3f, x.data(), o1.data(), n);
            ref.axpy(0.3f, x.data(), o2.data(), n);
            assertClose(o1, o2, 1e-6);
            fast.scale(o1.data(), -1.7f, n);
            ref.scale(o2.data(), -1.7f, n);
            assertClose(o1, o2, 1e-6);
            fast.geluForward(x.data(), o1.data(), n);
            ref.geluForward(x.data(), o2.data(), n);
            assertClose(o1, o2, 1e-6);
            fast.geluBackward(x.data(), y.data(), o1.data(), n);
            ref.geluBackward(x.data(), y.data(), o2.data(), n);
            assertClose(o1, o2, 1e-6);
            assertThat(fast.sum(x.data(), n)).isCloseTo(ref.sum(x.data(), n), org.assertj.core.data.Offset.offset(1e-4));
            assertThat(fast.squaredNorm(x.data(), n)).isCloseTo(ref.squaredNorm(x.data(), n), org.assertj.core.data.Offset.offset(1e-4));
            assertThat(fast.max(x.data(), n)).isEqualTo(ref.max(x.data(), n));
        }
    }

    @Property(tries = 30)
    void rowKernelsMatchReference(@ForAll @IntRange(min = 1, max = 40) int rows, @ForAll @IntRange(min = 1, max = 300) int cols) {
        SplittableRandom rng = new SplittableRandom(rows * 1000L + cols);
        try (Tensor x = random(rng, rows, cols); Tensor w = random(rng, cols); Tensor b = random(rng, cols);
             Tensor o1 = Tensor.zeros(MemoryCategory.OTHER, rows, cols); Tensor o2 = Tensor.zeros(MemoryCategory.OTHER, rows, cols);
             Tensor mean1 = Tensor.zeros(MemoryCategory.OTHER, rows); Tensor mean2 = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor rstd1 = Tensor.zeros(MemoryCategory.OTHER, rows); Tensor rstd2 = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor dOut = random(rng, rows, cols);
             Tensor dx1 = random(rng, rows, cols); Tensor dx2 = copy(dx1);
             Tensor dw1 = random(rng, cols); Tensor dw2 = copy(dw1); Tensor db1 = random(rng, cols); Tensor db2 = copy(db1)) {
            fast.softmaxRows(x.data(), o1.data(), rows, cols);
            ref.softmaxRows(x.data(), o2.data(), rows, cols);
            assertClose(o1, o2, 1e-6);

            fast.layerNormForward(x.data(), w.data(), b.data(), o1.data(), mean1.data(), rstd1.data(), rows, cols, 1e-5f);
            ref.layerNormForward(x.data(), w.data(), b.data(), o2.data(), mean2.data(), rstd2.data(), rows, cols, 1e-5f);
            // rstd can reach 1/√eps ≈ 316 for a 1-column row, amplifying float rounding of x − mean.
            assertClose(o1, o2, 1e-4);
            assertClose(rstd1, rstd2, 1e-3);
            fast.layerNormBackward(dOut.data(), x.data(), w.data(), mean2.data(), rstd2.data(), dx1.data(), dw1.data(), db1.data(), rows, cols);
            ref.layerNormBackward(dOut.data(), x.data(), w.data(), mean2.data(), rstd2.data(), dx2.data(), dw2.data(), db2.data(), rows, cols);
            assertClose(dx1, dx2, 1e-3);
            assertClose(dw1, dw2, 1e-4 * rows);
            assertClose(db1, db2, 1e-5 * rows);

            fast.addRowVector(o1.data(), b.data(), rows, cols);
            ref.addRowVector(o2.data(), b.data(), rows, cols);
            assertClose(o1, o2, 1e-4);
            fast.sumRows(dOut.data(), dw1.data(), rows, cols);
            ref.sumRows(dOut.data(), dw2.data(), rows, cols);
            assertClose(dw1, dw2, 1e-4 * rows);
        }
    }

    @Property(tries = 30)
    void crossEntropyAndEmbeddingMatchReference(@ForAll @IntRange(min = 1, max = 20) int rows,
                                                @ForAll @IntRange(min = 1, max = 500) int vocab) {
        SplittableRandom rng = new SplittableRandom(rows * 7919L + vocab);
        try (Tensor logits = random(rng, rows, vocab); Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, rows);
             Tensor loss1 = Tensor.zeros(MemoryCategory.OTHER, rows); Tensor loss2 = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor lse1 = Tensor.zeros(MemoryCategory.OTHER, rows); Tensor lse2 = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor d1 = Tensor.zeros(MemoryCategory.OTHER, rows, vocab); Tensor d2 = Tensor.zeros(MemoryCategory.OTHER, rows, vocab)) {
            for (int r = 0; r < rows; r++) targets.setInt(r, r == 0 && rows > 1 ? -1 : rng.nextInt(vocab));
            for (int r = 0; r < rows; r++) logits.set((long) r * vocab, 30f); // large logit: stability
            fast.crossEntropyForward(logits.data(), targets.data(), loss1.data(), lse1.data(), rows, vocab);
            ref.crossEntropyForward(logits.data(), targets.data(), loss2.data(), lse2.data(), rows, vocab);
            assertClose(loss1, loss2, 1e-5);
            fast.crossEntropyBackward(logits.data(), targets.data(), lse2.data(), 0.5f, d1.data(), rows, vocab);
            ref.crossEntropyBackward(logits.data(), targets.data(), lse2.data(), 0.5f, d2.data(), rows, vocab);
            assertClose(d1, d2, 1e-6);

            int dim = vocab % 70 + 1, tableRows = 13;
            try (Tensor table = random(rng, tableRows, dim); Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, rows);
                 Tensor o1 = Tensor.zeros(MemoryCategory.OTHER, rows, dim); Tensor o2 = Tensor.zeros(MemoryCategory.OTHER, rows, dim);
                 Tensor g1 = Tensor.zeros(MemoryCategory.OTHER, tableRows, dim); Tensor g2 = Tensor.zeros(MemoryCategory.OTHER, tableRows, dim)) {
                for (int r = 0; r < rows; r++) ids.setInt(r, rng.nextInt(tableRows));
                fast.embeddingForward(table.data(), ids.data(), o1.data(), rows, dim);
                ref.embeddingForward(table.data(), ids.data(), o2.data(), rows, dim);
                assertClose(o1, o2, 0);
                fast.embeddingBackward(o1.data(), ids.data(), g1.data(), rows, dim);
                ref.embeddingBackward(o1.data(), ids.data(), g2.data(), rows, dim);
                assertClose(g1, g2, 1e-6);
            }
        }
    }

    /**
     * The vocabulary-parallel backward: a part of the vocabulary starting at class {@code first},
     * the whole row's log-sum-exp, targets inside the part, outside it (another rank's) and absent.
     */
    @Property(tries = 20)
    void crossEntropyBackwardOfAVocabularyPart(@ForAll @IntRange(min = 1, max = 20) int rows,
                                               @ForAll @IntRange(min = 1, max = 300) int part, @ForAll @IntRange(min = 0, max = 3) int shard) {
        SplittableRandom rng = new SplittableRandom(rows * 31L + part * 7L + shard);
        int first = shard * part, vocab = 4 * part;
        try (Tensor logits = random(rng, rows, part); Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, rows);
             Tensor lse = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor d1 = Tensor.zeros(MemoryCategory.OTHER, rows, part); Tensor d2 = Tensor.zeros(MemoryCategory.OTHER, rows, part)) {
            for (int r = 0; r < rows; r++) {
                targets.setInt(r, r % 5 == 4 ? -1 : rng.nextInt(vocab));
                lse.set(r, (float) (Math.log(vocab) + rng.nextDouble()));
            }
            fast.crossEntropyBackward(logits.data(), targets.data(), lse.data(), first, 0.25f, d1.data(), rows, part);
            ref.crossEntropyBackward(logits.data(), targets.data(), lse.data(), first, 0.25f, d2.data(), rows, part);
            assertClose(d1, d2, 1e-6);
        }
    }

    @Test
    void crossEntropyAliasedBackwardOverwritesLogits() {
        SplittableRandom rng = new SplittableRandom(1);
        int rows = 3, vocab = 37;
        try (Tensor logits = random(rng, rows, vocab); Tensor copy = copy(logits);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, rows);
             Tensor loss = Tensor.zeros(MemoryCategory.OTHER, rows); Tensor lse = Tensor.zeros(MemoryCategory.OTHER, rows);
             Tensor expected = Tensor.zeros(MemoryCategory.OTHER, rows, vocab)) {
            targets.setInt(0, 3); targets.setInt(1, 0); targets.setInt(2, 36);
            fast.crossEntropyForward(logits.data(), targets.data(), loss.data(), lse.data(), rows, vocab);
            ref.crossEntropyBackward(copy.data(), targets.data(), lse.data(), 1f, expected.data(), rows, vocab);
            fast.crossEntropyBackward(logits.data(), targets.data(), lse.data(), 1f, logits.data(), rows, vocab);
            assertClose(logits, expected, 1e-6);
            MemorySegment unused = logits.data();
            assertThat(unused.byteSize()).isEqualTo(4L * rows * vocab);
        }
    }
}
