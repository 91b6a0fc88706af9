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
 */
public record Batch(int rows, int blockSize, int[] inputs, int[] targets, long targetBytes) {
    public long tokens() {
        return (long) rows * blockSize;
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
