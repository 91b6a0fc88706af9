package dev.tandem.nn;

import dev.tandem.tensor.Tensor;

/**
 * How the tokens of a micro-batch form sequences: which tokens attend to which, and which
 * position embedding each token gets. The model asks its ops ({@link Ops#withSequences}) and
 * never knows the answer's kind: {@link #WHOLE} (each row is one sequence from position 0),
 * packed documents ({@link PackedDocuments}: attention stays inside a document and positions
 * restart at each one), or one shard of a sequence spread over a context-parallel group (a
 * strategy given to the ops from outside, as expert parallelism is).
 */
public interface Sequences {
    /**
     * The position (row of {@code wpe}) of each of the batch·time tokens as an I32 tensor owned by
     * {@code tape}, or null when token t of every row is at position t.
     */
    Tensor positions(Tape tape, int batch, int time);

    /** Attention over {@code qkv} [batch·time, 3C] as this layout allows it; returns y [batch·time, C]. */
    Var attention(Ops ops, Var qkv, int batch, int time, int heads);

    /** Each row one sequence: causal attention over the row, positions 0 .. time − 1. */
    Sequences WHOLE = new Sequences() {
        @Override
        public Tensor positions(Tape tape, int batch, int time) {
            return null;
        }

        @Override
        public Var attention(Ops ops, Var qkv, int batch, int time, int heads) {
            return CausalAttention.forward(ops, qkv, batch, time, heads);
        }
    };
}
