package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void accountingCountsAndFreesEveryCategory() {
        long before = MemoryAccounting.current().liveTotal();
        try (Tensor p = Tensor.zeros(MemoryCategory.PARAMETERS, 10, 10);
             Tensor g = Tensor.allocate(DType.BF16, MemoryCategory.GRADIENTS, 7);
             Tensor s = Tensor.allocate(DType.U8, MemoryCategory.OPTIMIZER_STATE, 5)) {
            assertThat(MemoryAccounting.current().live(MemoryCategory.PARAMETERS)).isGreaterThanOrEqualTo(400);
            assertThat(MemoryAccounting.current().liveTotal() - before).isEqualTo(400 + 14 + 5);
            Tensor view = p.slice(2, 5);
            view.close(); // views own nothing
            assertThat(MemoryAccounting.current().liveTotal() - before).isEqualTo(419);
            assertThat(view.shape()).containsExactly(3, 10);
            assertThat(s.ownsStorage()).isTrue();
            assertThat(g.byteSize()).isEqualTo(14);
        }
        assertThat(MemoryAccounting.current().liveTotal()).isEqualTo(before);
    }

    @Test
    void closeIsIdempotent() {
        long before = MemoryAccounting.current().liveTotal();
        Tensor t = Tensor.zeros(MemoryCategory.ACTIVATIONS, 3);
        t.close();
        t.close();
        assertThat(MemoryAccounting.current().liveTotal()).isEqualTo(before);
    }

    @Test
    void viewsAndSlicesShareStorage() {
        try (Tensor t = Tensor.of(MemoryCategory.OTHER, new float[] {0, 1, 2, 3, 4, 5}, 3, 2)) {
            Tensor row = t.slice(1, 2);
            row.set(0, 42f);
            assertThat(t.get(2)).isEqualTo(42f);
            assertThat(t.view(6).get(2)).isEqualTo(42f);
            assertThat(t.strides()).containsExactly(2L, 1L);
            assertThatThrownBy(() -> t.view(4)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> t.slice(2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties go to the even (1.0).
        assertThat(Precision.roundToBf16(1f + 0x1p-8f)).isEqualTo(1f);
        // 1.0078125 + 2^-8 is halfway between 1.0078125 (odd mantissa) and 1.015625: goes up.
        assertThat(Precision.roundToBf16(1.0078125f + 0x1p-8f)).isEqualTo(1.015625f);
        assertThat(Precision.roundToBf16(1f + 0x1p-7f + 0x1p-10f)).isEqualTo(1.0078125f);
        assertThat(Float.isNaN(Precision.roundToBf16(Float.NaN))).isTrue();
        assertThat(Precision.roundToBf16(Float.POSITIVE_INFINITY)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Precision.roundToBf16(Float.MAX_VALUE)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Property(tries = 2000)
    void bf16RoundingIsNearest(@ForAll float x) {
        if (!Float.isFinite(x) || Math.abs(x) > 3e38f) return;
        float r = Precision.roundToBf16(x);
        // r is a bf16 value (low 16 bits zero) and no other bf16 value is closer.
        assertThat(Float.floatToRawIntBits(r) & 0xffff).isZero();
        int bits = Float.floatToRawIntBits(r);
        float up = Float.intBitsToFloat(bits + 0x10000);
        float down = Float.intBitsToFloat(bits - 0x10000);
        double err = Math.abs((double) x - r);
        // Neighbours one bf16 ulp away (skipping the bit patterns that are not finite floats).
        if (Float.isFinite(up)) assertThat(err).isLessThanOrEqualTo(Math.abs((double) x - up));
        if (Float.isFinite(down)) assertThat(err).isLessThanOrEqualTo(Math.abs((double) x - down));
    }

    @Test
    void conversionsRoundTrip() {
        try (Tensor t = Tensor.of(MemoryCategory.OTHER, new float[] {1.5f, -2.25f, 3e-3f, 65504f}, 4);
             Tensor bf = t.convert(DType.BF16, MemoryCategory.OTHER);
             Tensor back = bf.convert(DType.F32, MemoryCategory.OTHER);
             Tensor half = t.convert(DType.F16, MemoryCategory.OTHER)) {
            assertThat(back.get(0)).isEqualTo(1.5f);
            assertThat(back.get(1)).isEqualTo(-2.25f);
            assertThat(back.get(2)).isEqualTo(Precision.roundToBf16(3e-3f));
            assertThat(half.get(3)).isEqualTo(65504f);
            assertThat(bf.dtype()).isEqualTo(DType.BF16);
        }
    }

    @Test
    void intAndByteTypes() {
        try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 3);
             Tensor q = Tensor.allocate(DType.U8, MemoryCategory.OTHER, 2);
             Tensor s = Tensor.allocate(DType.I8, MemoryCategory.OTHER, 2)) {
            ids.setInt(2, 50256);
            assertThat(ids.getInt(2)).isEqualTo(50256);
            q.set(0, 255);
            assertThat(q.get(0)).isEqualTo(255f);
            s.set(1, -128);
            assertThat(s.get(1)).isEqualTo(-128f);
        }
    }

    @Test
    void workerPoolCoversEveryIndexOnce() {
        int n = 100_003;
        int[] hits = new int[n];
        try (WorkerPool pool = new WorkerPool(3)) {
            pool.parallelFor(n, 10, (a, b) -> {
                for (int i = a; i < b; i++) hits[i]++;
            });
        }
        for (int h : hits) assertThat(h).isEqualTo(1);
    }
}
