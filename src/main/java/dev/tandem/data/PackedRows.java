package dev.tandem.data;

import dev.tandem.TandemException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * A split of a document corpus packed into rows of {@code blockSize} tokens ({@link Packing}),
 * served as batches that keep each row's document lengths. Training rows are drawn as {@link
 * Batcher} draws windows: row r of step s is packed row hash(seed, s, r) mod count, with
 * replacement, so a batch depends on (seed, step) alone and a resume is exact. Evaluation takes
 * the first rows in order, the same every time.
 */
public final class PackedRows {
    private final List<Packing.Row> rows;
    private final int blockSize;
    private final IntUnaryOperator tokenBytes;

    /** @param tokenBytes UTF-8 bytes a token id stands for (0 when unknown): for bits per byte */
    public PackedRows(String split, DocumentTokens docs, int blockSize, IntUnaryOperator tokenBytes) {
        this.rows = Packing.pack(docs, blockSize);
        if (rows.isEmpty()) throw new TandemException("the " + split + " documents pack into no rows of " + blockSize + " tokens");
        this.blockSize = blockSize;
        this.tokenBytes = tokenBytes;
    }

    public int count() {
        return rows.size();
    }

    /** Training batches of {@code batchSize} rows drawn with {@code seed}. */
    public Batches sampler(long seed, int batchSize) {
        return (step, firstRow, n) -> {
            if (firstRow < 0 || n < 0 || firstRow + n > batchSize) {
                throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + n) + ") outside a batch of " + batchSize);
            }
            int[] picked = new int[n];
            for (int r = 0; r < n; r++) {
                long h = Batcher.mix(Batcher.mix(Batcher.mix(seed) ^ step) ^ (firstRow + r));
                picked[r] = (int) Math.unsignedMultiplyHigh(h, rows.size());
            }
            return batch(picked);
        };
    }

    /** The first {@code maxRows} rows (all if fewer, or if 0), in batches of {@code batchSize} rows. */
    public List<Batch> evalBatches(int batchSize, int maxRows) {
        int n = maxRows > 0 ? Math.min(maxRows, rows.size()) : rows.size();
        List<Batch> out = new ArrayList<>();
        for (int first = 0; first < n; first += batchSize) {
            int[] picked = new int[Math.min(batchSize, n - first)];
            for (int r = 0; r < picked.length; r++) picked[r] = first + r;
            out.add(batch(picked));
        }
        return out;
    }

    private Batch batch(int[] picked) {
        int[] inputs = new int[picked.length * blockSize], targets = new int[picked.length * blockSize];
        int[][] lengths = new int[picked.length][];
        long bytes = 0;
        for (int r = 0; r < picked.length; r++) {
            Packing.Row row = rows.get(picked[r]);
            System.arraycopy(row.inputs(), 0, inputs, r * blockSize, blockSize);
            System.arraycopy(row.targets(), 0, targets, r * blockSize, blockSize);
            lengths[r] = row.lengths();
            for (int t : row.targets()) if (t >= 0) bytes += tokenBytes.applyAsInt(t);
        }
        return new Batch(picked.length, blockSize, inputs, targets, bytes, lengths);
    }
}
