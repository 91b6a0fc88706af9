package dev.tandem.tensor;

/**
 * Element types. F32 is the compute type; BF16/F16 are storage and communication types;
 * I8/U8 hold quantized states; I32 holds token ids.
 */
public enum DType {
    F32(4), BF16(2), F16(2), I8(1), U8(1), I32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** Bytes needed for {@code elements} elements of this type. */
    public long bytes(long elements) {
        return Math.multiplyExact(elements, byteSize);
    }
}
