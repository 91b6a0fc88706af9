package dev.tandem.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Packs documents into rows of {@code time} tokens for training: each document of n + 1 tokens is
 * n predictions (token i predicts i + 1), placed whole in the first row with room, in document
 * order; a document longer than a row is cut into pieces of {@code time} predictions (each piece
 * repeats the last token of the one before as its first input, so every next token is predicted
 * exactly once). The tail of a row that no document fills is padding with ignored targets (-1).
 * {@link Row#lengths} says where each document starts, which is what per-document attention masks
 * and positions need.
 */
public final class Packing {
    private Packing() {}

    /**
     * One packed row: {@code inputs} and {@code targets} of {@code time} tokens, and the lengths of
     * its documents (pieces) in order, the padding last as one more length when there is any.
     */
    public record Row(int[] inputs, int[] targets, int[] lengths) {
        /** Tokens of padding at the end of the row. */
        public int padding() {
            int n = 0;
            for (int t : targets) if (t < 0) n++;
            return n;
        }
    }

    public static List<Row> pack(DocumentTokens docs, int time) {
        if (time < 1) throw new IllegalArgumentException("rows of " + time + " tokens");
        List<Row> rows = new ArrayList<>();
        List<int[]> open = new ArrayList<>(); // pieces (documents of n + 1 tokens) of the row being filled
        int used = 0;
        for (int d = 0; d < docs.count(); d++) {
            int[] doc = docs.document(d);
            for (int start = 0; start < doc.length - 1; start += time) {
                int end = Math.min(doc.length, start + time + 1);
                int predictions = end - start - 1;
                if (used + predictions > time) {
                    rows.add(row(open, time));
                    open.clear();
                    used = 0;
                }
                open.add(java.util.Arrays.copyOfRange(doc, start, end));
                used += predictions;
            }
        }
        if (!open.isEmpty()) rows.add(row(open, time));
        return rows;
    }

    private static Row row(List<int[]> pieces, int time) {
        int[] inputs = new int[time], targets = new int[time];
        java.util.Arrays.fill(targets, -1);
        List<Integer> lengths = new ArrayList<>();
        int at = 0;
        for (int[] p : pieces) {
            int n = p.length - 1;
            System.arraycopy(p, 0, inputs, at, n);
            System.arraycopy(p, 1, targets, at, n);
            lengths.add(n);
            at += n;
        }
        if (at < time) lengths.add(time - at);
        return new Row(inputs, targets, lengths.stream().mapToInt(Integer::intValue).toArray());
    }
}
