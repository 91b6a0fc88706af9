package dev.tandem.data;

import dev.tandem.TandemException;

/**
 * Deterministic random training batches: each row is a window of {@code blockSize + 1} tokens at a
 * position drawn uniformly from the split (with replacement, as nanoGPT does).
 *
 * <p>The generator is counter-based: the start of row {@code r} of step {@code s} is a hash of
 * (seed, s, r). So the state is just {@link DataPosition} (seed, step), resume is exact, and any
 * subset of rows can be computed on its own: a data-parallel rank or a gradient-accumulation
 * micro-batch fills its rows of the global batch with {@link #batch(long, int, int)} and the union
 * is exactly the single-process batch, which the parity tests rely on.
 */
public final class Batcher implements Batches {
    private final TokenSplit split;
    private final int batchSize;
    private final int blockSize;
    private final long starts;
    private long seed;
    private long step;

    public Batcher(TokenSplit split, int batchSize, int blockSize, long seed) {
        if (batchSize < 1 || blockSize < 1) throw new TandemException("batch size and block size must be positive, got "
                + batchSize + " and " + blockSize);
        if (split.size() < blockSize + 1L) {
            throw new TandemException(split.name() + " split has " + split.size() + " tokens, fewer than block_size + 1 = "
                    + (blockSize + 1L) + "; use a smaller block_size or a larger corpus");
        }
        this.split = split;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.starts = split.size() - blockSize; // valid window starts: 0 .. size - blockSize - 1
        this.seed = seed;
    }

    public int batchSize() {
        return batchSize;
    }

    public int blockSize() {
        return blockSize;
    }

    public DataPosition position() {
        return new DataPosition(seed, step);
    }

    /** Continues from a saved position. */
    public void seek(DataPosition p) {
        this.seed = p.seed();
        this.step = p.step();
    }

    /** The global batch at the current position; then advances one step. */
    public Batch next() {
        Batch b = batch(step, 0, batchSize);
        step++;
        return b;
    }

    /** Rows {@code [firstRow, firstRow + rows)} of the global batch of {@code step}; does not move. */
    @Override
    public Batch batch(long step, int firstRow, int rows) {
        if (firstRow < 0 || rows < 0 || firstRow + rows > batchSize) {
            throw new IllegalArgumentException("rows [" + firstRow + ", " + (firstRow + rows) + ") outside a batch of " + batchSize);
        }
        int[] inputs = new int[rows * blockSize];
        int[] targets = new int[rows * blockSize];
        int[] window = new int[blockSize + 1];
        long bytes = 0;
        for (int r = 0; r < rows; r++) {
            split.copy(windowStart(step, firstRow + r), window, 0, blockSize + 1);
            System.arraycopy(window, 0, inputs, r * blockSize, blockSize);
            System.arraycopy(window, 1, targets, r * blockSize, blockSize);
            for (int t = 1; t <= blockSize; t++) bytes += split.tokenBytes(window[t]);
        }
        return new Batch(rows, blockSize, inputs, targets, bytes);
    }

    /** Where row {@code row} of step {@code step}'s batch starts in the split. */
    public long windowStart(long step, int row) {
        long h = mix(mix(mix(seed) ^ step) ^ row);
        // Lemire's multiply-shift: maps 64 random bits to [0, starts); bias ≤ starts / 2^64.
        return Math.unsignedMultiplyHigh(h, starts);
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche. */
    static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
