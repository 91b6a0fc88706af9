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
    private final Kernels fast = Kernels.fast();
    private final Kernels ref = Kernels.reference();

    @AfterEach
    void noLeaks() {
        assertThat(MemoryAccounting.live(MemoryCategory.OTHER)).isZero();
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

    private void checkGemm(int m, int n, int k, boolean transA, boolean transB, float beta, float alpha) {
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
