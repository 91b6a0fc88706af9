package dev.tandem.nn;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;

/**
 * A trainable tensor with its Hugging Face GPT-2 name (e.g. {@code h.0.attn.c_attn.weight}).
 * Parameters live in {@link MemoryCategory#PARAMETERS}; their gradients in
 * {@link MemoryCategory#GRADIENTS}.
 */
public final class Parameter extends Var implements AutoCloseable {
    private final String name;
    private final int[] shape;

    Parameter(String name, Tensor value) {
        super(value, MemoryCategory.GRADIENTS);
        this.name = name;
        this.shape = value.shape();
    }

    /** The logical shape, also while a strategy has the values elsewhere (e.g. sharded). */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    public String name() {
        return name;
    }

    /** Whether AdamW applies weight decay: matrices yes, biases and LayerNorm gains no. */
    public boolean decays() {
        return shape.length >= 2 && !name.endsWith("wte.weight") && !name.endsWith("wpe.weight");
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
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(shape);
    }
}
