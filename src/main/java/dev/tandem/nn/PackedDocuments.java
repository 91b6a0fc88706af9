package dev.tandem.nn;

import dev.tandem.tensor.AttentionKernels;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Rows that each hold several documents back to back: a token attends only to the earlier tokens
 * of its own document (a causal mask per document, none across documents), and positions restart
 * at 0 with each document, so a packed row computes what its documents would compute one by one.
 * Padding at the end of a row is one more "document" whose targets are ignored.
 *
 * <p>Attention runs the provider's fused kernel ({@link AttentionKernels}) once per document on
 * that document's rows, which are contiguous in the [batch·time, 3C] activations: no T×T mask,
 * and the work is Σ L_d² instead of T².
 *
 * @param lengths per row of the micro-batch, the lengths of its documents in order; each row's
 *                lengths sum to the row length
 */
public record PackedDocuments(int[][] lengths) implements Sequences {
    public PackedDocuments {
        lengths = Arrays.stream(lengths).map(int[]::clone).toArray(int[][]::new);
        for (int[] row : lengths) {
            for (int n : row) if (n < 1) throw new IllegalArgumentException("packed document of length " + n + " (documents need >= 1 token)");
        }
    }

    private void check(int batch, int time) {
        if (lengths.length != batch) throw new IllegalArgumentException("packing for " + lengths.length + " rows, micro-batch has " + batch);
        for (int[] row : lengths) {
            if (Arrays.stream(row).sum() != time) {
                throw new IllegalArgumentException("packed document lengths " + Arrays.toString(row) + " do not fill rows of " + time + " tokens");
            }
        }
    }

    @Override
    public Tensor positions(Tape tape, int batch, int time) {
        check(batch, time);
        Tensor pos = tape.scratch(DType.I32, batch * time);
        int i = 0;
        for (int[] row : lengths) {
            for (int n : row) for (int t = 0; t < n; t++) pos.setInt(i++, t);
        }
        return pos;
    }

    @Override
    public Var attention(Ops ops, Var qkv, int batch, int time, int heads) {
        check(batch, time);
        Tape tape = ops.tape();
        AttentionKernels k = ops.kernels().attention();
        int c = qkv.value().dim(1) / 3;
        boolean keep = ops.keepsAttentionProbabilities();
        Var y = tape.activation(batch * time, c);
        // One saved buffer per document (log-sum-exps, or probabilities when kept), in row order.
        int documents = Arrays.stream(lengths).mapToInt(r -> r.length).sum();
        Tensor[] saved = new Tensor[documents];
        long scratchBytes = 0;
        for (int[] row : lengths) {
            for (int n : row) scratchBytes = Math.max(scratchBytes, k.scratchBytes(new AttentionKernels.Shape(1, n, heads, c)));
        }
        long bytes = scratchBytes;
        try (OffHeap scratch = OffHeap.allocate(bytes, MemoryCategory.OTHER)) {
            forEachDocument(heads, c, (doc, first, shape) -> {
                int n = shape.time();
                saved[doc] = keep ? tape.scratch(DType.F32, heads * n, n) : tape.scratch(DType.F32, heads * n);
                k.forward(shape, rows(qkv.value(), first, n), rows(y.value(), first, n), saved[doc].data(), keep, scratch.segment());
            });
        }
        tape.onBackward(y, () -> {
            try (OffHeap scratch = OffHeap.allocate(bytes, MemoryCategory.OTHER)) {
                forEachDocument(heads, c, (doc, first, shape) -> {
                    int n = shape.time();
                    k.backward(shape, rows(qkv.value(), first, n), rows(y.value(), first, n), saved[doc].data(), keep,
                            rows(y.grad(), first, n), rows(qkv.grad(), first, n), scratch.segment());
                });
            }
        });
        return y;
    }

    private interface DocumentVisitor {
        void visit(int doc, int firstRow, AttentionKernels.Shape shape);
    }

    private void forEachDocument(int heads, int c, DocumentVisitor visitor) {
        int doc = 0, row = 0;
        for (int[] r : lengths) {
            for (int n : r) {
                visitor.visit(doc++, row, new AttentionKernels.Shape(1, n, heads, c));
                row += n;
            }
        }
    }

    /** Rows [first, first + n) of a [rows, cols] float tensor. */
    private static MemorySegment rows(Tensor t, int first, int n) {
        long cols = t.dim(1);
        return t.data().asSlice(first * cols * 4, n * cols * 4);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PackedDocuments p && Arrays.deepEquals(lengths, p.lengths);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(lengths);
    }

    @Override
    public String toString() {
        return "PackedDocuments" + Arrays.deepToString(lengths);
    }
}
