package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense row-major tensor over an off-heap {@link MemorySegment}. A tensor either owns its
 * storage (allocated with {@link #allocate}; freed by {@link #close()}) or is a view of another
 * tensor's storage ({@link #view}, {@link #slice}), which never frees anything.
 *
 * <p>Element accessors ({@link #get}, {@link #set}) are for tests, initialisation and small
 * bookkeeping; kernels work on {@link #data()} directly.
 */
public final class Tensor implements AutoCloseable {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    private final OffHeap storage; // null for views
    private final MemorySegment data;
    private final DType dtype;
    private final int[] shape;
    private final long numel;

    private Tensor(OffHeap storage, MemorySegment data, DType dtype, int[] shape) {
        this.storage = storage;
        this.data = data;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.numel = numel(shape);
        if (data.byteSize() != dtype.bytes(numel)) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold "
                    + Arrays.toString(shape) + " " + dtype);
        }
    }

    /** Allocates a zero-filled tensor counted under {@code category}. */
    public static Tensor allocate(DType dtype, MemoryCategory category, int... shape) {
        OffHeap heap = OffHeap.allocate(dtype.bytes(numel(shape)), category);
        return new Tensor(heap, heap.segment(), dtype, shape);
    }

    /** A zero-filled float32 tensor. */
    public static Tensor zeros(MemoryCategory category, int... shape) {
        return allocate(DType.F32, category, shape);
    }

    /** A float32 tensor holding a copy of {@code values}. */
    public static Tensor of(MemoryCategory category, float[] values, int... shape) {
        Tensor t = zeros(category, shape);
        if (values.length != t.numel) {
            t.close();
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        MemorySegment.copy(values, 0, t.data, F32, 0, values.length);
        return t;
    }

    /** Wraps an existing segment (not owned, not accounted): for memory-mapped files and buffers. */
    public static Tensor wrap(MemorySegment segment, DType dtype, int... shape) {
        return new Tensor(null, segment, dtype, shape);
    }

    static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public MemorySegment data() {
        return data;
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis < 0 ? shape.length + axis : axis];
    }

    public long numel() {
        return numel;
    }

    /** Row-major strides in elements. */
    public long[] strides() {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** The same elements under another shape with the same element count. */
    public Tensor view(int... newShape) {
        if (numel(newShape) != numel) {
            throw new IllegalArgumentException("cannot view " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
        }
        return new Tensor(null, data, dtype, newShape);
    }

    /** Rows {@code [start, end)} along the leading dimension, sharing storage. */
    public Tensor slice(int start, int end) {
        if (shape.length == 0 || start < 0 || end > shape[0] || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of " + Arrays.toString(shape));
        }
        long rowBytes = shape[0] == 0 ? 0 : data.byteSize() / shape[0];
        int[] s = shape.clone();
        s[0] = end - start;
        return new Tensor(null, data.asSlice(start * rowBytes, (end - start) * rowBytes), dtype, s);
    }

    public float get(long index) {
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, index);
            case BF16 -> Precision.bf16ToFloat(data.getAtIndex(U16, index));
            case F16 -> Float.float16ToFloat(data.getAtIndex(U16, index));
            case I8 -> data.get(ValueLayout.JAVA_BYTE, index);
            case U8 -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, index));
            case I32 -> data.getAtIndex(I32, index);
        };
    }

    public void set(long index, float value) {
        switch (dtype) {
            case F32 -> data.setAtIndex(F32, index, value);
            case BF16 -> data.setAtIndex(U16, index, Precision.floatToBf16(value));
            case F16 -> data.setAtIndex(U16, index, Float.floatToFloat16(value));
            case I8 -> data.set(ValueLayout.JAVA_BYTE, index, (byte) value);
            case U8 -> data.set(ValueLayout.JAVA_BYTE, index, (byte) (int) value);
            case I32 -> data.setAtIndex(I32, index, (int) value);
        }
    }

    public int getInt(long index) {
        return data.getAtIndex(I32, index);
    }

    public void setInt(long index, int value) {
        data.setAtIndex(I32, index, value);
    }

    /** All elements converted to float (a copy). */
    public float[] toFloatArray() {
        if (dtype == DType.F32) return data.toArray(F32);
        float[] out = new float[Math.toIntExact(numel)];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }

    /** Copies {@code values} into this float32 tensor. */
    public void copyFrom(float[] values) {
        if (dtype != DType.F32 || values.length != numel) {
            throw new IllegalArgumentException("copyFrom: " + values.length + " floats into " + this);
        }
        MemorySegment.copy(values, 0, data, F32, 0, values.length);
    }

    /** Copies all bytes of {@code other} (same dtype and element count) into this tensor. */
    public void copyFrom(Tensor other) {
        if (other.dtype != dtype || other.numel != numel) {
            throw new IllegalArgumentException("copyFrom: " + other + " into " + this);
        }
        MemorySegment.copy(other.data, 0, data, 0, data.byteSize());
    }

    public void fill(float value) {
        if (dtype == DType.F32 && value == 0f) {
            data.fill((byte) 0);
            return;
        }
        for (long i = 0; i < numel; i++) set(i, value);
    }

    /** A new tensor of {@code target} type; F32→BF16/F16 rounds to nearest even. */
    public Tensor convert(DType target, MemoryCategory category) {
        Tensor out = allocate(target, category, shape);
        if (dtype == DType.F32 && target == DType.BF16) {
            Precision.f32ToBf16(data, out.data, numel);
        } else if (dtype == DType.BF16 && target == DType.F32) {
            Precision.bf16ToF32(data, out.data, numel);
        } else {
            for (long i = 0; i < numel; i++) out.set(i, get(i));
        }
        return out;
    }

    public boolean ownsStorage() {
        return storage != null;
    }

    /** Frees owned storage; a no-op for views and wrapped segments. */
    @Override
    public void close() {
        if (storage != null) storage.close();
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype;
    }
}
