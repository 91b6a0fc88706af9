package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.data.DocumentTokens;
import dev.tandem.parallel.context.TokenSequence;
import java.util.ArrayList;
import java.util.List;

/**
 * The sequences of a hybrid data/context-parallel step ({@code parallel.hdp}): {@code batchSize}
 * whole documents, unpadded, one per sequence, drawn with replacement as hash(seed, step, i) mod
 * the number of documents, so every rank draws the same ones and a resume draws them again. A
 * sequence spans at most {@code block_size} tokens (the positions the model has): cp ranks of
 * block_size / cp tokens each; a longer document is refused before training.
 */
final class DocumentSequences {
    private final DocumentTokens docs;
    private final int batchSize;
    private final long seed;

    DocumentSequences(DocumentTokens docs, int batchSize, long seed, int blockSize, int cp) {
        for (int d = 0; d < docs.count(); d++) {
            int predictions = docs.length(d) - 1;
            if (predictions > blockSize) {
                throw new TandemException("training document " + d + " is " + predictions + " tokens long, longer than cp × context = "
                        + cp + " × " + ceilDiv(blockSize, cp) + " (model.block_size " + blockSize + ") that one sequence can span with "
                        + "parallel.hdp: raise model.block_size (and parallel.cp with it, to keep block_size / cp tokens per rank), split "
                        + "the document, or use parallel.hdp = false (packing cuts long documents)");
            }
        }
        this.docs = docs;
        this.batchSize = batchSize;
        this.seed = seed;
    }

    /** Tokens one rank holds of a sequence: ⌈block_size / cp⌉, so a block_size sequence spans at most cp ranks. */
    static int capacity(int blockSize, int cp) {
        return ceilDiv(blockSize, cp);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    List<TokenSequence> step(long step) {
        List<TokenSequence> out = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            long h = mix(mix(mix(seed) ^ step) ^ i);
            out.add(TokenSequence.of(docs.document((int) Math.unsignedMultiplyHigh(h, docs.count()))));
        }
        return out;
    }

    /** SplitMix64's finaliser, as the batchers draw with. */
    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
