package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight matrix W [in, out] (the GPT-2 Conv1D layout) quantized per output channel, asymmetric,
 * to b bits (PEQA): {@code q[i, o] = clamp(round(W[i, o] / s[o]) + z[o], 0, 2^b − 1)} with
 * {@code s[o] = (max_i W[i, o] − min_i W[i, o]) / (2^b − 1)} and the zero point
 * {@code z[o] = clamp(round(−min_i W[i, o] / s[o]), 0, 2^b − 1)}; the weight it stands for is
 * {@code Ŵ[i, o] = scale[o]·(q[i, o] − z[o])}, with the scales kept apart (they are what PEQA
 * trains, starting from s).
 *
 * <p>Packing: each row i of q is a little-endian bit stream of {@code out} codes of b bits
 * (code o in bits o·b .. o·b + b − 1, bit 0 the lowest bit of the row's first byte), and each row
 * starts on a byte: row i is bytes {@code i·rowBytes .. (i + 1)·rowBytes − 1} with
 * {@code rowBytes = ⌈out·b / 8⌉}. 4-bit codes are then two per byte, low nibble first; 3-bit
 * codes are eight per three bytes. Rows on byte boundaries let a kernel unpack any run of rows.
 */
public final class QuantizedMatrix implements AutoCloseable {
    private final int bits, in, out, rowBytes;
    private final Tensor codes;  // U8 [in, rowBytes]
    private final Tensor zeros;  // U8 [out]

    private QuantizedMatrix(int bits, int in, int out, Tensor codes, Tensor zeros) {
        if (bits < 2 || bits > 8) throw new IllegalArgumentException("quantization to " + bits + " bits: 2 to 8 are supported");
        this.bits = bits;
        this.in = in;
        this.out = out;
        this.rowBytes = rowBytes(out, bits);
        if (codes.numel() != (long) in * rowBytes || zeros.numel() != out) {
            throw new IllegalArgumentException("packed codes " + codes + " and zero points " + zeros + " do not fit [" + in + ", " + out
                    + "] at " + bits + " bits");
        }
        this.codes = codes;
        this.zeros = zeros;
    }

    /** Bytes of one packed row of {@code out} codes. */
    public static int rowBytes(int out, int bits) {
        return (int) (((long) out * bits + 7) / 8);
    }

    /** Wraps packed codes and zero points (e.g. read from a file; this object takes them over). */
    public static QuantizedMatrix of(int bits, int in, int out, Tensor codes, Tensor zeros) {
        return new QuantizedMatrix(bits, in, out, codes, zeros);
    }

    /**
     * Quantizes {@code w} [in, out] to {@code bits}; writes the per-channel step s into
     * {@code scales} [out] (float32). A channel whose weights are all equal gets the step that
     * represents its value exactly with the zero point at 0 or 2^b − 1.
     */
    public static QuantizedMatrix quantize(Tensor w, int bits, Tensor scales) {
        int in = w.dim(0), out = w.dim(1), levels = (1 << bits) - 1;
        Tensor codes = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, in, rowBytes(out, bits));
        Tensor zeros = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, out);
        QuantizedMatrix q = new QuantizedMatrix(bits, in, out, codes, zeros);
        MemorySegment ws = w.data();
        for (int o = 0; o < out; o++) {
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < in; i++) {
                float v = ws.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * out + o);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            // The range always holds 0, so a constant channel is represented exactly too.
            min = Math.min(min, 0f);
            max = Math.max(max, 0f);
            float s = max > min ? (max - min) / levels : 1f;
            int z = Math.clamp(Math.round(-min / s), 0, levels);
            scales.set(o, s);
            zeros.data().set(ValueLayout.JAVA_BYTE, o, (byte) z);
            for (int i = 0; i < in; i++) {
                float v = ws.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * out + o);
                q.setCode(i, o, Math.clamp(Math.round(v / s) + z, 0, levels));
            }
        }
        return q;
    }

    public int bits() {
        return bits;
    }

    public int in() {
        return in;
    }

    public int out() {
        return out;
    }

    /** The packed codes, U8 [in, ⌈out·bits/8⌉]. */
    public Tensor codes() {
        return codes;
    }

    /** The zero points, U8 [out]. */
    public Tensor zeros() {
        return zeros;
    }

    public int zero(int o) {
        return Byte.toUnsignedInt(zeros.data().get(ValueLayout.JAVA_BYTE, o));
    }

    /** The code q[i, o]. */
    public int code(int i, int o) {
        long bit = (long) o * bits;
        long at = (long) i * rowBytes + (bit >>> 3);
        int shift = (int) (bit & 7);
        MemorySegment c = codes.data();
        int word = Byte.toUnsignedInt(c.get(ValueLayout.JAVA_BYTE, at));
        if (shift + bits > 8) word |= Byte.toUnsignedInt(c.get(ValueLayout.JAVA_BYTE, at + 1)) << 8;
        return (word >>> shift) & ((1 << bits) - 1);
    }

    private void setCode(int i, int o, int value) {
        long bit = (long) o * bits;
        long at = (long) i * rowBytes + (bit >>> 3);
        int shift = (int) (bit & 7), mask = (1 << bits) - 1;
        MemorySegment c = codes.data();
        int word = Byte.toUnsignedInt(c.get(ValueLayout.JAVA_BYTE, at));
        boolean spans = shift + bits > 8;
        if (spans) word |= Byte.toUnsignedInt(c.get(ValueLayout.JAVA_BYTE, at + 1)) << 8;
        word = (word & ~(mask << shift)) | (value << shift);
        c.set(ValueLayout.JAVA_BYTE, at, (byte) word);
        if (spans) c.set(ValueLayout.JAVA_BYTE, at + 1, (byte) (word >>> 8));
    }

    /**
     * Writes rows {@code row0 .. row0 + rows − 1} of {@code scale[o]·(q[i, o] − z[o])} as float32
     * into {@code dst} [rows, out] (a kernel's panel; the whole matrix is never unpacked at once).
     * With {@code scale} null, the unscaled {@code q − z}.
     */
    public void unpackRows(int row0, int rows, MemorySegment scale, MemorySegment dst) {
        int[] z = new int[out];
        float[] s = new float[out];
        for (int o = 0; o < out; o++) {
            z[o] = zero(o);
            s[o] = scale == null ? 1f : scale.getAtIndex(ValueLayout.JAVA_FLOAT, o);
        }
        int mask = (1 << bits) - 1;
        MemorySegment c = codes.data();
        for (int r = 0; r < rows; r++) {
            long base = (long) (row0 + r) * rowBytes, dstRow = (long) r * out;
            // A 32-bit window slides along the row's bit stream, refilled a byte at a time.
            long window = 0;
            int have = 0;
            long next = base;
            for (int o = 0; o < out; o++) {
                while (have < bits) {
                    window |= (long) Byte.toUnsignedInt(c.get(ValueLayout.JAVA_BYTE, next++)) << have;
                    have += 8;
                }
                int q = (int) (window & mask);
                window >>>= bits;
                have -= bits;
                dst.setAtIndex(ValueLayout.JAVA_FLOAT, dstRow + o, s[o] * (q - z[o]));
            }
        }
    }

    /** Bytes this matrix holds (packed codes and zero points). */
    public long byteSize() {
        return codes.byteSize() + zeros.byteSize();
    }

    @Override
    public void close() {
        codes.close();
        zeros.close();
    }
}
