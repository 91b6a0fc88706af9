package dev.tandem.optim;

import dev.tandem.TandemException;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The named state tensors of one optimizer, so that every optimizer exports and imports its
 * state the same way. Tensors are allocated here (counted under OPTIMIZER_STATE) and freed by
 * {@link #close()}. Keys are {@code <parameter>.<kind>} for a whole parameter and
 * {@code <parameter>@<offset>.<kind>} for a slice of one (a ZeRO shard), so shards of the same
 * parameter on different ranks never collide in a checkpoint.
 */
final class OptimizerState implements AutoCloseable {
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** The key prefix of a slice: its parameter name, plus the offset when it is not whole. */
    static String prefix(ParamSlice s) {
        return s.stateKey();
    }

    /** Allocates a zero-filled state tensor under {@code key}. */
    Tensor add(String key, DType dtype, int... shape) {
        if (tensors.containsKey(key)) throw new IllegalArgumentException("duplicate optimizer state " + key);
        Tensor t = Tensor.allocate(dtype, MemoryCategory.OPTIMIZER_STATE, shape);
        tensors.put(key, t);
        return t;
    }

    Tensor f32(String key, int... shape) {
        return add(key, DType.F32, shape);
    }

    Map<String, Tensor> view() {
        return Collections.unmodifiableMap(tensors);
    }

    /** Copies {@code source} into the registered tensors; names, dtypes and shapes must match exactly. */
    void load(Map<String, Tensor> source) {
        for (String k : source.keySet()) {
            if (!tensors.containsKey(k)) throw new TandemException("optimizer state has no tensor named '" + k + "'");
        }
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor src = source.get(e.getKey());
            Tensor dst = e.getValue();
            if (src == null) throw new TandemException("optimizer state '" + e.getKey() + "' is missing");
            if (src.dtype() != dst.dtype() || !Arrays.equals(src.shape(), dst.shape())) {
                throw new TandemException("optimizer state '" + e.getKey() + "' is " + src + ", expected " + dst);
            }
            if (src != dst) dst.copyFrom(src);
        }
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
    }
}
