package dev.tandem.data;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Inputs and next-token targets, each {@code rows × blockSize} row-major:
 * {@code targets[r][t] == inputs[r][t + 1]} within a window.
 *
 * @param targetBytes UTF-8 bytes the targets stand for, so that
 *                    bits per byte = (sum of per-token losses in nats) / (ln 2 × targetBytes)
 * @param documents   per row, the lengths of the documents packed in it (summing to blockSize; a
 *                    padding tail with ignored targets is one more); null when each row is one
 *                    window of a token stream
 */
public record Batch(int rows, int blockSize, int[] inputs, int[] targets, long targetBytes, int[][] documents) {
    /** Rows that are windows of a token stream (no document boundaries). */
    public Batch(int rows, int blockSize, int[] inputs, int[] targets, long targetBytes) {
        this(rows, blockSize, inputs, targets, targetBytes, null);
    }

    public long tokens() {
        return (long) rows * blockSize;
    }

    /** Targets that count (not the padding's ignored ones): what a mean loss is over. */
    public long counted() {
        long n = 0;
        for (int t : targets) if (t >= 0) n++;
        return n;
    }

    /** Copies into I32 tensors of {@code rows × blockSize} elements (e.g. shape [B, T]). */
    public void copyTo(Tensor inputTensor, Tensor targetTensor) {
        copy(inputs, inputTensor);
        copy(targets, targetTensor);
    }

    private static void copy(int[] src, Tensor dst) {
        if (dst.dtype() != DType.I32 || dst.numel() != src.length) {
            throw new IllegalArgumentException("batch of " + src.length + " token ids does not fit " + dst);
        }
        MemorySegment.copy(src, 0, dst.data(), ValueLayout.JAVA_INT_UNALIGNED, 0, src.length);
    }
}
