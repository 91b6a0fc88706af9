package dev.tandem.ckpt;

import dev.tandem.nn.Split;
import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * One tensor a rank saves, described by what it means rather than where it lived: elements
 * [offset, offset + length) of parameter {@code param} ({@code state} null), or the optimizer
 * state tensor {@code state} (e.g. {@code exp_avg}) of that slice. Under tensor parallelism the
 * offsets count within this rank's part of the parameter, and {@code split} says where that part
 * sits in the whole tensor. Because every piece names its logical range, a loader with another
 * world size, ZeRO stage or tensor-parallel size can reassemble whole tensors and cut them again
 * (resharding).
 *
 * @param name   the tensor's name in the shard file, unique within the checkpoint
 * @param param  the parameter (Hugging Face GPT-2 name)
 * @param offset first element of the parameter this piece covers
 * @param length elements of the parameter this piece covers
 * @param state  optimizer state kind, or null for the parameter's values
 * @param key    the optimizer's own key for a state tensor (what {@code Optimizer.load} expects), else null
 * @param bytes  the tensor's bytes (live memory, or a snapshot copy)
 * @param split  the part of the parameter the offsets count in, or null for the whole parameter
 */
public record Piece(String name, String param, long offset, long length, String state, String key,
                    DType dtype, int[] shape, MemorySegment bytes, Split split) {

    /** Whether element i of this tensor is element offset + i of the parameter or its part (so it can be resharded). */
    public boolean elementwise() {
        if (dtype != DType.F32) return false;
        long n = 1;
        for (int d : shape) n *= d;
        return n == length && (state == null || shape.length == 1);
    }

    public Piece withBytes(MemorySegment other) {
        return new Piece(name, param, offset, length, state, key, dtype, shape, other, split);
    }
}
