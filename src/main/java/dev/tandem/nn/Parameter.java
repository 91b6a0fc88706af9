package dev.tandem.nn;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.QuantizedMatrix;
import dev.tandem.tensor.Tensor;

/**
 * A trainable tensor with its Hugging Face GPT-2 name (e.g. {@code h.0.attn.c_attn.weight}).
 * Parameters live in {@link MemoryCategory#PARAMETERS}; their gradients in
 * {@link MemoryCategory#GRADIENTS}. Under tensor parallelism a parameter holds this rank's part
 * of the whole tensor ({@link #shard}); everything built on top (ZeRO units, optimizers,
 * clipping) then works on that part as the parameter, and {@link #split()} says where it sits.
 */
public final class Parameter extends Var implements AutoCloseable {
    private final String name;
    private int[] shape;
    private Sharding sharding;
    private QuantizedMatrix quantized;
    private boolean frozen;

    Parameter(String name, Tensor value) {
        super(value, MemoryCategory.GRADIENTS);
        this.name = name;
        this.shape = value.shape();
    }

    /**
     * A parameter-shaped buffer of zeros outside any model: a strategy's temporary copy of another
     * rank's parameter (an expert replica), with a gradient of its own.
     */
    public static Parameter detached(String name, int... shape) {
        return new Parameter(name, Tensor.zeros(MemoryCategory.PARAMETERS, shape));
    }

    /**
     * The shape of what this rank holds (the whole tensor, or its tensor-parallel part), also
     * while a strategy has the values elsewhere (ZeRO-3 shards).
     */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    public String name() {
        return name;
    }

    /** Whether AdamW applies weight decay: matrices yes; biases, LayerNorm gains, embeddings and ParScale prefixes no. */
    public boolean decays() {
        return shape.length >= 2 && !name.endsWith("wte.weight") && !name.endsWith("wpe.weight") && !name.contains(".prefix_");
    }

    /**
     * The packed low-bit weight when this matrix is quantized (PEQA), else null; then
     * {@link #value()} holds the per-output-channel scales [out], which are what trains.
     */
    public QuantizedMatrix quantized() {
        return quantized;
    }

    /**
     * Replaces the float32 matrix [in, out] by {@code bits}-bit codes per output channel and keeps
     * the channels' scales [out] as this parameter's value (PEQA); the float32 values are freed.
     */
    public void quantize(int bits) {
        if (quantized != null || sharding != null || shape.length != 2 || gradOrNull() != null) {
            throw new IllegalStateException(name + " " + java.util.Arrays.toString(shape) + " cannot be quantized"
                    + (quantized != null ? ": already quantized" : sharding != null ? ": it is split" : ""));
        }
        Tensor scales = Tensor.zeros(MemoryCategory.PARAMETERS, shape[1]);
        useQuantized(QuantizedMatrix.quantize(value(), bits, scales), scales);
    }

    /** Takes over {@code codes} and {@code scales} [out] as this matrix (a quantized model read from a file). */
    public void useQuantized(QuantizedMatrix codes, Tensor scales) {
        if (codes.in() != shape[0] || codes.out() != shape[1] || scales.numel() != shape[1]) {
            throw new IllegalArgumentException(name + java.util.Arrays.toString(shape) + ": quantized [" + codes.in() + ", " + codes.out() + "]");
        }
        Tensor old = value();
        rebind(scales);
        old.close();
        this.quantized = codes;
        this.shape = scales.shape();
    }

    /** Whether this parameter is left as it is by training (no gradient, no optimizer state). */
    public boolean frozen() {
        return frozen;
    }

    /** Leaves this parameter out of training: ops compute no gradient for it and no optimizer sees it. */
    public void freeze() {
        this.frozen = true;
    }

    /** How this parameter is split for tensor parallelism, or null when every rank holds it whole. */
    public Sharding sharding() {
        return sharding;
    }

    /** Where this rank's values sit in the whole tensor. */
    public Split split() {
        return sharding == null ? Split.whole(shape) : sharding.split();
    }

    /**
     * Keeps only this rank's part of the whole values, as {@code sharding} says, and frees the
     * rest. Called once, by a tensor-parallel strategy, before anything else holds the values.
     */
    public void shard(Sharding sharding) {
        Split split = sharding.split();
        if (this.sharding != null || gradOrNull() != null || !java.util.Arrays.equals(split.fullShape(), shape)) {
            throw new IllegalStateException(name + " " + java.util.Arrays.toString(shape) + " cannot take " + split
                    + (this.sharding != null ? ": already split" : gradOrNull() != null ? ": it has a gradient" : ""));
        }
        Tensor whole = value();
        Tensor part = Tensor.zeros(MemoryCategory.PARAMETERS, split.localShape());
        for (Split.Run r : split.runs(0, split.localNumel())) {
            java.lang.foreign.MemorySegment.copy(whole.data(), r.full() * 4, part.data(), r.local() * 4, r.length() * 4);
        }
        rebind(part);
        whole.close();
        this.shape = part.shape();
        this.sharding = sharding;
    }

    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Installs a gradient buffer owned by someone else (a parallel strategy's flat bucket). */
    public void useGradBuffer(Tensor buffer) {
        setGrad(buffer);
    }

    /**
     * Moves this parameter's values into {@code storage} (same shape; owned by the caller, e.g. a
     * view into a flat buffer of a parallel strategy) and frees the parameter's own storage.
     */
    public void moveTo(Tensor storage) {
        if (!java.util.Arrays.equals(storage.shape(), shape)) {
            throw new IllegalArgumentException(name + ": storage " + storage + " does not match " + value());
        }
        storage.copyFrom(value());
        Tensor old = value();
        rebind(storage);
        old.close();
    }

    /** Points the values at {@code storage} without copying (a strategy's gathered buffer, or null when released). */
    public void bindValue(Tensor storage) {
        rebind(storage);
    }

    /** Forgets the current gradient buffer without freeing it (it belongs to a strategy). */
    public void unbindGrad() {
        setGrad(null);
    }

    /** Frees this parameter's own gradient (after the optimizer consumed it). */
    public void releaseGrad() {
        freeGrad();
    }

    @Override
    public void close() {
        freeGrad();
        if (value() != null) value().close();
        if (quantized != null) quantized.close();
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(shape);
    }
}
