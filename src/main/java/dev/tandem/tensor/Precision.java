package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/** Conversions between float32 and the 16-bit storage types. */
public final class Precision {
    private Precision() {}

    /**
     * float32 → bfloat16 bits with round-to-nearest-even. NaN stays a (quiet) NaN; values that
     * round past the largest bf16 become infinity, as IEEE rounding demands.
     */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // quiet NaN, keep sign
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7fff + lsb;
        return (short) (rounded >>> 16);
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds a float32 to the nearest bf16 value and back (what a bf16 round trip keeps). */
    public static float roundToBf16(float value) {
        return bf16ToFloat(floatToBf16(value));
    }

    static void f32ToBf16(MemorySegment src, MemorySegment dst, long n) {
        for (long i = 0; i < n; i++) {
            dst.setAtIndex(Tensor.U16, i, floatToBf16(src.getAtIndex(Tensor.F32, i)));
        }
    }

    static void bf16ToF32(MemorySegment src, MemorySegment dst, long n) {
        for (long i = 0; i < n; i++) {
            dst.setAtIndex(Tensor.F32, i, bf16ToFloat(src.getAtIndex(Tensor.U16, i)));
        }
    }
}
