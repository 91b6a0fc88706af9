package dev.tandem.nn;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;

/**
 * A value in the autograd graph and its gradient. The gradient is allocated (zeroed) the first
 * time a backward kernel accumulates into it, so values nobody differentiates cost nothing.
 */
public class Var {
    private Tensor value;
    private final MemoryCategory gradCategory;
    private Tensor grad;

    Var(Tensor value, MemoryCategory gradCategory) {
        this.value = value;
        this.gradCategory = gradCategory;
    }

    public Tensor value() {
        return value;
    }

    /** The gradient, allocating zeros on first use. */
    public Tensor grad() {
        if (grad == null) grad = Tensor.zeros(gradCategory, value.shape());
        return grad;
    }

    /** The gradient if any backward kernel wrote one, else null. */
    public Tensor gradOrNull() {
        return grad;
    }

    /** Installs an externally owned gradient buffer (e.g. a view into a flat bucket). */
    void setGrad(Tensor grad) {
        this.grad = grad;
    }

    /** Points this variable at other storage (which the caller owns); the old value is not freed. */
    void rebind(Tensor newValue) {
        this.value = newValue;
    }

    void freeGrad() {
        if (grad != null) {
            grad.close();
            grad = null;
        }
    }

    public int[] shape() {
        return value.shape();
    }
}
