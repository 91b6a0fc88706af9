package dev.tandem.data;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2's own {@code bpe()} loop from encoder.py, transcribed: find the adjacent pair of lowest
 * rank, merge all its occurrences left to right, repeat. Quadratic, obviously correct; tests
 * compare the fast heap-based merging against it.
 */
final class Gpt2Reference {
    private Gpt2Reference() {}

    static int[] bpe(Tokenizer tok, String word) {
        List<Integer> syms = new ArrayList<>();
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) syms.add(byteId(tok, b));
        List<Merge> merges = tok.merges();
        while (syms.size() > 1) {
            int best = -1;
            for (int i = 0; i + 1 < syms.size(); i++) {
                int r = rank(merges, syms.get(i), syms.get(i + 1));
                if (r >= 0 && (best < 0 || r < best)) best = r;
            }
            if (best < 0) break;
            Merge m = merges.get(best);
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < syms.size(); ) {
                if (i + 1 < syms.size() && syms.get(i) == m.left() && syms.get(i + 1) == m.right()) {
                    out.add(m.merged());
                    i += 2;
                } else {
                    out.add(syms.get(i++));
                }
            }
            syms = out;
        }
        return syms.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int rank(List<Merge> merges, int left, int right) {
        for (int r = 0; r < merges.size(); r++) {
            if (merges.get(r).left() == left && merges.get(r).right() == right) return r;
        }
        return -1;
    }

    private static int byteId(Tokenizer tok, byte b) {
        for (int id = 0; id < tok.vocabSize(); id++) {
            byte[] t = tok.tokenBytes(id);
            if (t != null && t.length == 1 && t[0] == b) return id;
        }
        throw new IllegalStateException();
    }
}
