package dev.tandem.nn;

/** Walks rows packed by expert: each expert with rows, its first row and the byte offsets of its slices. */
public final class ExpertRows {
    private ExpertRows() {}

    /** What to do with one expert's block of packed rows. */
    @FunctionalInterface
    public interface Block {
        /**
         * @param expert    index into the counts
         * @param firstRow  first packed row
         * @param rows      rows of this expert (at least 1)
         * @param rowBytes  byte offset of the first row in a [rows, C] float buffer
         * @param hiddenBytes byte offset of the first row in a [rows, F] float buffer
         */
        void run(int expert, int firstRow, int rows, long rowBytes, long hiddenBytes);
    }

    public static void run(int[] counts, int c, int f, Block block) {
        int r = 0;
        for (int e = 0; e < counts.length; e++) {
            if (counts[e] > 0) block.run(e, r, counts[e], (long) r * c * 4, (long) r * f * 4);
            r += counts[e];
        }
    }
}
