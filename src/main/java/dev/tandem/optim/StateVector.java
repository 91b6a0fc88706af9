package dev.tandem.optim;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One moment vector of an 8-bit optimizer, read and written a block at a time: either
 * block-wise 8-bit ({@code <key>} as U8 codes plus {@code <key>.absmax} as F32, one per block)
 * or plain float32 ({@code <key>} as F32) for small tensors and stable embeddings.
 */
final class StateVector {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final QuantMap map; // null: float32
    private final MemorySegment values; // codes (8-bit) or floats
    private final MemorySegment absmax; // null for float32

    private StateVector(QuantMap map, MemorySegment values, MemorySegment absmax) {
        this.map = map;
        this.values = values;
        this.absmax = absmax;
    }

    /** Registers the tensors of a state of {@code n} elements under {@code key}. */
    static StateVector create(OptimizerState state, String key, long n, QuantMap map, boolean eightBit) {
        int len = Math.toIntExact(n);
        if (!eightBit) return new StateVector(null, state.f32(key, len).data(), null);
        Tensor codes = state.add(key, DType.U8, len);
        Tensor scales = state.f32(key + ".absmax", Blockwise.blocks(n));
        // All-zero codes would decode to the map's most negative value; start at the code of 0.
        byte zero = (byte) map.quantize(0f);
        codes.data().fill(zero);
        return new StateVector(map, codes.data(), scales.data());
    }

    boolean eightBit() {
        return map != null;
    }

    void read(int block, float[] out, int len) {
        if (map != null) {
            Blockwise.dequantize(map, values, absmax, block, out, len);
        } else {
            MemorySegment.copy(values, F, (long) block * Blockwise.BLOCK * 4, out, 0, len);
        }
    }

    void write(int block, float[] in, int len) {
        if (map != null) {
            Blockwise.quantize(map, in, len, values, absmax, block);
        } else {
            MemorySegment.copy(in, 0, values, F, (long) block * Blockwise.BLOCK * 4, len);
        }
    }
}
