package dev.tandem.optim;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Block-wise 8-bit storage of one state vector: a uint8 code per element and one float32 absmax
 * per block of {@link #BLOCK} elements, so an outlier only costs precision inside its own block.
 * The optimizers dequantize a block into floats, update it, and quantize it back.
 */
final class Blockwise {
    /** Block size for optimizer states (the current reference's; the paper used 2048). */
    static final int BLOCK = 256;
    /** Tensors with fewer elements keep float32 state: 8-bit saves little there and costs accuracy. */
    static final int MIN_8BIT_NUMEL = 4096;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Blockwise() {}

    static int blocks(long n) {
        return Math.toIntExact((n + BLOCK - 1) / BLOCK);
    }

    /** {@code out[i] = code[codes[start + i]] · absmax[block]} for the block starting at element {@code start}. */
    static void dequantize(QuantMap map, MemorySegment codes, MemorySegment absmax, int block, float[] out, int len) {
        long start = (long) block * BLOCK;
        float a = absmax.getAtIndex(F, block);
        for (int i = 0; i < len; i++) out[i] = map.code(Byte.toUnsignedInt(codes.get(ValueLayout.JAVA_BYTE, start + i))) * a;
    }

    /** Stores {@code values} as codes relative to the block's new absmax (max |value|). */
    static void quantize(QuantMap map, float[] values, int len, MemorySegment codes, MemorySegment absmax, int block) {
        float a = 0f;
        for (int i = 0; i < len; i++) a = Math.max(a, Math.abs(values[i]));
        absmax.setAtIndex(F, block, a);
        long start = (long) block * BLOCK;
        float inv = a > 0 ? 1f / a : 0f;
        for (int i = 0; i < len; i++) {
            codes.set(ValueLayout.JAVA_BYTE, start + i, (byte) map.quantize(values[i] * inv));
        }
    }
}
