package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The fast reductions against the reference for every type, on random data of lengths that cross
 * the vector width. A sum or maximum of two floats rounds the same in float32 and in double (the
 * double result rounds once to the same float), so sums, maxima and the BF16 and integer kinds
 * must match bit for bit. An F32 average multiplies by a rounded 1/n where the reference divides:
 * one rounding of 1/n apart, so 1 ulp (6e-8 relative) plus one.
 */
class ReductionParityTest {
    private final ReductionKernels fast = TestKernels.FAST.reductions();
    private final ReductionKernels ref = Kernels.reference().reductions();

    @Property(tries = 40)
    void everyTypeAndOp(@ForAll @IntRange(min = 0, max = 300) int count, @ForAll DType type, @ForAll boolean max) {
        if (!ReductionKernels.supports(type)) return;
        SplittableRandom rng = new SplittableRandom(count * 31L + type.ordinal());
        long bytes = type.bytes(count);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = fill(arena, bytes, type, rng), b = fill(arena, bytes, type, rng);
            MemorySegment d1 = arena.allocate(Math.max(bytes, 1)).asSlice(0, bytes), d2 = arena.allocate(Math.max(bytes, 1)).asSlice(0, bytes);
            if (max) {
                fast.max(type, a, b, d1);
                ref.max(type, a, b, d2);
            } else {
                fast.sum(type, a, b, d1);
                ref.sum(type, a, b, d2);
            }
            assertThat(d1.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(d2.toArray(ValueLayout.JAVA_BYTE));
            // in place, as the collectives use it: dst aliases a
            MemorySegment inPlace = arena.allocate(Math.max(bytes, 1)).asSlice(0, bytes).copyFrom(a);
            if (max) fast.max(type, inPlace, b, inPlace);
            else fast.sum(type, inPlace, b, inPlace);
            assertThat(inPlace.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(d2.toArray(ValueLayout.JAVA_BYTE));
            int divisor = 1 + rng.nextInt(7);
            fast.divide(type, d1, divisor);
            ref.divide(type, d2, divisor);
            if (type != DType.F32) {
                assertThat(d1.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(d2.toArray(ValueLayout.JAVA_BYTE));
            } else {
                for (int i = 0; i < count; i++) {
                    float x = d1.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i), y = d2.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                    assertThat(x).as("element %d / %d", i, divisor).isCloseTo(y, org.assertj.core.data.Offset.offset(2 * Math.ulp(y)));
                }
            }
        }
    }

    private static MemorySegment fill(Arena arena, long bytes, DType type, SplittableRandom rng) {
        MemorySegment s = arena.allocate(Math.max(bytes, 1)).asSlice(0, bytes);
        long n = bytes / type.byteSize();
        for (long i = 0; i < n; i++) {
            float v = (float) (rng.nextDouble() * 200 - 100);
            switch (type) {
                case F32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                case BF16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Precision.floatToBf16(v));
                case I32 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, rng.nextInt());
                case U8 -> s.set(ValueLayout.JAVA_BYTE, i, (byte) rng.nextInt(256));
                default -> throw new IllegalStateException();
            }
        }
        return s;
    }
}
