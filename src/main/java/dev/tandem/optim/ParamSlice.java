package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A contiguous run of one parameter's elements that this rank updates, with the memory holding
 * those elements' values and gradients. On one rank a slice is a whole parameter; under ZeRO a
 * rank's shard of the flattened parameters is cut into slices at parameter boundaries, so an
 * optimizer never needs to know how parameters are distributed.
 *
 * @param name   the parameter's name (for parameter groups and checkpoints)
 * @param shape  the full parameter's shape (matrix optimizers need whole matrices)
 * @param offset index of the first element within the parameter
 * @param length number of elements
 * @param value  float32 values of those elements
 * @param grad   float32 gradients of those elements
 */
public record ParamSlice(String name, int[] shape, boolean decays, long offset, long length,
                         MemorySegment value, MemorySegment grad) {

    public ParamSlice {
        if (value.byteSize() != length * 4 || grad.byteSize() != length * 4) {
            throw new IllegalArgumentException("slice of " + name + ": segments do not hold " + length + " floats");
        }
    }

    /** The whole parameter as one slice (the single-rank case). */
    public static ParamSlice whole(Parameter p) {
        return new ParamSlice(p.name(), p.shape(), p.decays(), 0, p.numel(), p.value().data(), p.grad().data());
    }

    public static List<ParamSlice> wholes(List<Parameter> params) {
        List<ParamSlice> out = new ArrayList<>(params.size());
        for (Parameter p : params) out.add(whole(p));
        return out;
    }

    /**
     * The name its optimizer state goes by: the parameter's name, plus {@code @offset} when the
     * slice is not whole (a ZeRO shard), so shards of one parameter never collide in a checkpoint.
     */
    public String stateKey() {
        return isWhole() ? name : name + "@" + offset;
    }

    /** Whether this slice covers its whole parameter. */
    public boolean isWhole() {
        long n = 1;
        for (int d : shape) n *= d;
        return offset == 0 && length == n;
    }
}
