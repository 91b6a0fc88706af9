package dev.tandem.train;

import dev.tandem.data.Batch;
import dev.tandem.nn.PackedDocuments;
import dev.tandem.nn.Sequences;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.parallel.islands.Islands;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;

/** The trainer's evaluation: validation loss over the fixed windows, and its mean over islands. */
final class Validation {
    private Validation() {}

    /**
     * Each island evaluated its own model (between outer steps, and always with NoLoCo, the islands'
     * models differ): the mean over islands of the validation loss and bits per byte, each island's
     * loss, and the mean over islands of the training loss since the last evaluation. Every rank
     * takes part, so every rank logs the same numbers.
     */
    static EvalMetrics overIslands(Islands islands, EvalMetrics own, double trainLoss) {
        double[][] rows = islands.gatherForMetrics(own.loss(), own.bitsPerByte(), trainLoss);
        double[] losses = new double[rows.length];
        double loss = 0, bpb = 0, train = 0;
        for (int i = 0; i < rows.length; i++) {
            losses[i] = rows[i][0];
            loss += rows[i][0] / rows.length;
            bpb += rows[i][1] / rows.length;
            train += rows[i][2] / rows.length;
        }
        return new EvalMetrics(own.step(), loss, bpb, own.tokens(), losses, train);
    }

    /** How a batch's rows form sequences: its packed documents, or each row one sequence. */
    static Sequences sequences(Batch b) {
        return b.documents() == null ? Sequences.WHOLE : new PackedDocuments(b.documents());
    }

    /** Mean validation loss (nats/token) and bits per byte over the fixed evaluation windows. */
    static EvalMetrics evaluate(ParallelModel pm, Iterable<Batch> batches, long step) {
        double nats = 0;
        long tokens = 0, bytes = 0;
        for (Batch b : batches) {
            try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize());
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize())) {
                b.copyTo(ids, targets);
                nats += pm.evaluate(ids, targets, sequences(b)) * b.counted();
                tokens += b.counted();
                bytes += b.targetBytes();
            }
        }
        // Tokens without a tokenizer stand for no known bytes: no bits per byte.
        return new EvalMetrics(step, nats / tokens, bytes == 0 ? Double.NaN : nats / (Math.log(2) * bytes), tokens);
    }
}
