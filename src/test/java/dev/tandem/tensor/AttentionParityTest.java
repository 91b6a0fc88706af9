package dev.tandem.tensor;

import static dev.tandem.tensor.KernelParityTest.assertClose;
import static dev.tandem.tensor.KernelParityTest.copy;
import static dev.tandem.tensor.KernelParityTest.random;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fast attention kernels against the reference on random q, k, v and output gradients, over
 * shapes that put query rows below, at and across one vector's width (and with a tail), one or
 * several heads, several sequences.
 *
 * <p>Tolerances: the reference works in double; the fast kernels in float32, with the softmax's
 * exp to about 2 ulp ({@link VectorMath#exp}) and sums over at most T keys or d channels of values
 * in [−1, 1]. Probabilities and outputs then agree to a few float ulps of values of order 1
 * (2e-6 absolute, 1e-5 relative); gradients sum T·d such products twice over (scores, then the
 * key/query sums), so they get 2e-5 absolute plus 1e-4 relative.
 */
class AttentionParityTest {
    private final Kernels fast = TestKernels.FAST;
    private final Kernels ref = Kernels.reference();

    @AfterEach
    void noLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.OTHER)).isZero();
    }

    @Property(tries = 40)
    void forwardAndBackwardMatchTheReference(@ForAll @IntRange(min = 1, max = 3) int batch, @ForAll @IntRange(min = 1, max = 40) int time,
                                             @ForAll @IntRange(min = 1, max = 3) int heads, @ForAll @IntRange(min = 1, max = 24) int headDim,
                                             @ForAll boolean keep) {
        check(new AttentionKernels.Shape(batch, time, heads, heads * headDim), keep, batch * 1_000_003L + time * 1009L + heads * 31L + headDim);
    }

    /** A GPT-2-like head size (64) and more positions than a cache line of keys. */
    @Test
    void gptSizedHead() {
        check(new AttentionKernels.Shape(2, 70, 2, 128), false, 11);
        check(new AttentionKernels.Shape(1, 33, 1, 64), true, 12);
    }

    /** Kept probability rows are exactly what the backward pass would recompute: both ways give the same bits. */
    @Test
    void keptAndRecomputedProbabilitiesGiveTheSameBits() {
        AttentionKernels.Shape s = new AttentionKernels.Shape(2, 37, 3, 3 * 20);
        SplittableRandom rng = new SplittableRandom(5);
        int rows = s.batch() * s.time(), c = s.channels();
        try (Tensor qkv = random(rng, rows, 3 * c); Tensor dOut = random(rng, rows, c);
             Tensor out1 = Tensor.zeros(MemoryCategory.OTHER, rows, c); Tensor out2 = Tensor.zeros(MemoryCategory.OTHER, rows, c);
             Tensor lse = Tensor.zeros(MemoryCategory.OTHER, s.problems() * s.time());
             Tensor probs = Tensor.zeros(MemoryCategory.OTHER, s.problems() * s.time(), s.time());
             Tensor d1 = random(rng, rows, 3 * c); Tensor d2 = copy(d1);
             OffHeap scratch = OffHeap.allocate(fast.attention().scratchBytes(s), MemoryCategory.OTHER)) {
            AttentionKernels k = fast.attention();
            k.forward(s, qkv.data(), out1.data(), lse.data(), false, scratch.segment());
            k.forward(s, qkv.data(), out2.data(), probs.data(), true, scratch.segment());
            assertThat(out2.toFloatArray()).isEqualTo(out1.toFloatArray());
            k.backward(s, qkv.data(), out1.data(), lse.data(), false, dOut.data(), d1.data(), scratch.segment());
            k.backward(s, qkv.data(), out2.data(), probs.data(), true, dOut.data(), d2.data(), scratch.segment());
            assertThat(d2.toFloatArray()).isEqualTo(d1.toFloatArray());
        }
    }

    @Test
    void scratchTooSmallIsRefused() {
        AttentionKernels.Shape s = new AttentionKernels.Shape(1, 8, 1, 8);
        try (Tensor qkv = Tensor.zeros(MemoryCategory.OTHER, 8, 24); Tensor out = Tensor.zeros(MemoryCategory.OTHER, 8, 8);
             Tensor lse = Tensor.zeros(MemoryCategory.OTHER, 8); OffHeap scratch = OffHeap.allocate(16, MemoryCategory.OTHER)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> fast.attention().forward(s, qkv.data(), out.data(), lse.data(), false, scratch.segment()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scratch");
        }
    }

    private void check(AttentionKernels.Shape s, boolean keep, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int rows = s.batch() * s.time(), c = s.channels(), queries = s.problems() * s.time();
        try (Tensor qkv = random(rng, rows, 3 * c); Tensor dOut = random(rng, rows, c);
             Tensor out1 = Tensor.zeros(MemoryCategory.OTHER, rows, c); Tensor out2 = Tensor.zeros(MemoryCategory.OTHER, rows, c);
             Tensor saved1 = keep ? Tensor.zeros(MemoryCategory.OTHER, queries, s.time()) : Tensor.zeros(MemoryCategory.OTHER, queries);
             Tensor saved2 = Tensor.zeros(MemoryCategory.OTHER, saved1.shape());
             Tensor d1 = random(rng, rows, 3 * c); Tensor d2 = copy(d1);
             OffHeap scratch = OffHeap.allocate(fast.attention().scratchBytes(s), MemoryCategory.OTHER)) {
            fast.attention().forward(s, qkv.data(), out1.data(), saved1.data(), keep, scratch.segment());
            ref.attention().forward(s, qkv.data(), out2.data(), saved2.data(), keep, java.lang.foreign.MemorySegment.NULL);
            assertClose(out1, out2, 2e-6);
            // A log-sum-exp is about log(T) + max score, |score| ≤ √d: the same relative error, a larger value.
            assertClose(saved1, saved2, keep ? 2e-6 : 2e-6 * Math.sqrt(s.headDim()));
            fast.attention().backward(s, qkv.data(), out1.data(), saved1.data(), keep, dOut.data(), d1.data(), scratch.segment());
            ref.attention().backward(s, qkv.data(), out2.data(), saved2.data(), keep, dOut.data(), d2.data(), java.lang.foreign.MemorySegment.NULL);
            assertCloseRel(d1, d2, 2e-5, 1e-4);
        }
    }

    static void assertCloseRel(Tensor actual, Tensor expected, double abs, double rel) {
        float[] a = actual.toFloatArray(), e = expected.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertThat((double) a[i]).as("element %d of %d", i, a.length)
                    .isCloseTo(e[i], org.assertj.core.data.Offset.offset(abs + rel * Math.abs(e[i])));
        }
    }
}
