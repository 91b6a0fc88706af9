package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Sequences;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.tensor.Kernels;
import java.util.SplittableRandom;

/**
 * Ring attention on this rank's shard against single-rank causal attention over the whole
 * sequence (which every rank computes itself from the same seed): the shard's outputs and its
 * rows' q, k and v gradients must match within {@link #TOLERANCE} of the largest element (float
 * reordering of the online softmax). Throws an AssertionError naming the first difference.
 */
final class RingAttentionCheck {
    static final double TOLERANCE = 2e-5;
    /** Lengths checked: divisible by 2·cp for cp 1, 2 and 4, and not. */
    static final int[] LENGTHS = {8, 13, 24, 37};
    private static final int HEADS = 2, CHANNELS = 16;

    private RingAttentionCheck() {}

    static void run(ProcessGroup ring, Kernels kernels) {
        for (int length : LENGTHS) check(ring, kernels, length);
    }

    private static void check(ProcessGroup ring, Kernels kernels, int length) {
        int c3 = 3 * CHANNELS;
        SplittableRandom rng = new SplittableRandom(length);
        float[] qkv = new float[length * c3], dOut = new float[length * CHANNELS];
        for (int i = 0; i < qkv.length; i++) qkv[i] = (float) rng.nextGaussian();
        for (int i = 0; i < dOut.length; i++) dOut[i] = (float) rng.nextGaussian();
        float[][] whole = attention(kernels, Sequences.WHOLE, qkv, dOut, length);
        RingAttention shard = new RingAttention(ring, length);
        int[] positions = shard.chunks().positions(ring.rank());
        float[] myQkv = new float[positions.length * c3], myDOut = new float[positions.length * CHANNELS];
        for (int i = 0; i < positions.length; i++) {
            System.arraycopy(qkv, positions[i] * c3, myQkv, i * c3, c3);
            System.arraycopy(dOut, positions[i] * CHANNELS, myDOut, i * CHANNELS, CHANNELS);
        }
        float[][] sharded = attention(kernels, shard, myQkv, myDOut, positions.length);
        compare("output", length, whole[0], sharded[0], positions, CHANNELS);
        compare("qkv gradient", length, whole[1], sharded[1], positions, c3);
    }

    /** {output, qkv gradient} of attention laid out as {@code layout} over one row of {@code time} tokens. */
    private static float[][] attention(Kernels kernels, Sequences layout, float[] qkv, float[] dOut, int time) {
        try (Tape tape = new Tape(Hooks.NONE)) {
            Var x = tape.activation(time, 3 * CHANNELS);
            x.value().copyFrom(qkv);
            Var y = new Ops(tape, kernels).withSequences(layout).attention(x, 1, time, HEADS);
            float[] out = y.value().toFloatArray();
            y.grad().copyFrom(dOut);
            tape.backward();
            return new float[][] {out, x.grad().toFloatArray()};
        }
    }

    private static void compare(String what, int length, float[] whole, float[] shard, int[] positions, int width) {
        float scale = 1e-3f;
        for (float v : whole) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < positions.length; i++) {
            for (int e = 0; e < width; e++) {
                float expected = whole[positions[i] * width + e], actual = shard[i * width + e];
                if (Math.abs(expected - actual) > TOLERANCE * scale) {
                    throw new AssertionError("ring attention " + what + ", length " + length + ", token " + positions[i] + ", element " + e
                            + ": " + actual + ", single rank " + expected);
                }
            }
        }
    }
}
