package dev.tandem.data;

import dev.tandem.TandemException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The validation split cut into fixed, non-overlapping windows in order: window {@code i} has
 * inputs {@code [i·T, i·T + T)} and targets shifted by one. Every evaluation sees the same tokens,
 * so validation losses are comparable across steps and runs. The last batch may have fewer rows;
 * weight losses by {@link Batch#tokens()} (or sum per-token losses) when averaging.
 */
public final class EvalBatches implements Iterable<Batch> {
    private final TokenSplit split;
    private final int batchSize;
    private final int blockSize;
    private final int windows;

    /**
     * @param maxWindows evaluate at most this many windows (the first ones); 0 or less means all
     */
    public EvalBatches(TokenSplit split, int batchSize, int blockSize, int maxWindows) {
        if (batchSize < 1 || blockSize < 1) throw new TandemException("batch size and block size must be positive");
        long all = (split.size() - 1) / blockSize;
        if (all < 1) {
            throw new TandemException(split.name() + " split has " + split.size() + " tokens, fewer than block_size + 1 = "
                    + (blockSize + 1L) + "; use a smaller block_size or a larger validation fraction");
        }
        this.split = split;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.windows = (int) Math.min(all, maxWindows > 0 ? maxWindows : Integer.MAX_VALUE);
    }

    /**
     * Bits per byte from the summed per-token losses (nats) over some targets and the UTF-8 bytes
     * those targets stand for (the sum of {@link Batch#targetBytes()} of the batches evaluated).
     */
    public static double bitsPerByte(double sumLossNats, long targetBytes) {
        return sumLossNats / (Math.log(2) * targetBytes);
    }

    public int windowCount() {
        return windows;
    }

    public int batchCount() {
        return (windows + batchSize - 1) / batchSize;
    }

    /** Batch {@code index} in [0, batchCount()). */
    public Batch batch(int index) {
        if (index < 0 || index >= batchCount()) throw new IndexOutOfBoundsException("eval batch " + index + " of " + batchCount());
        int first = index * batchSize;
        int rows = Math.min(batchSize, windows - first);
        int[] inputs = new int[rows * blockSize];
        int[] targets = new int[rows * blockSize];
        int[] window = new int[blockSize + 1];
        long bytes = 0;
        for (int r = 0; r < rows; r++) {
            split.copy((long) (first + r) * blockSize, window, 0, blockSize + 1);
            System.arraycopy(window, 0, inputs, r * blockSize, blockSize);
            System.arraycopy(window, 1, targets, r * blockSize, blockSize);
            for (int t = 1; t <= blockSize; t++) bytes += split.tokenBytes(window[t]);
        }
        return new Batch(rows, blockSize, inputs, targets, bytes);
    }

    @Override
    public Iterator<Batch> iterator() {
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < batchCount();
            }

            @Override
            public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                return batch(next++);
            }
        };
    }
}
