package dev.tandem.data;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Learns byte-level BPE merges from word counts, the standard way: start from the 256 byte
 * tokens, repeatedly merge the most frequent adjacent pair (ties: the smaller (left, right) id
 * pair, so training is deterministic), until the vocabulary reaches the target size.
 *
 * <p>Pair counts are kept incrementally: each pair knows the words it occurs in, and a merge only
 * revisits those words. A max-heap holds candidate pairs; entries go stale when counts drop and are
 * re-checked when popped (lazy deletion). This makes training cost proportional to the words each
 * merge touches, not vocabulary × corpus.
 *
 * <p>The trained vocabulary is: ids 0..255 are the bytes 0..255, then merged tokens in order of
 * creation, then {@code <|endoftext|>} as the last id (as in GPT-2).
 */
public final class BpeTrainer {
    /** The smallest vocabulary: 256 byte tokens plus {@code <|endoftext|>}. */
    public static final int MIN_VOCAB = 257;
    /** A bound that keeps ids and tables comfortably in int arrays; far beyond any model we train. */
    public static final int MAX_VOCAB = 1 << 20;

    /** Reports progress of a long training; both methods may be called from the training thread only. */
    public interface Progress {
        Progress NONE = (done, total) -> {};

        /** After each merge: {@code done} of at most {@code total} new tokens exist. */
        void merged(int done, int total);
    }

    private BpeTrainer() {}

    /** Counts the pre-tokenized words of {@code text}. */
    public static Map<String, Long> countWords(CharSequence text) {
        Map<String, Long> counts = new HashMap<>();
        countWords(text, counts);
        return counts;
    }

    /** Adds the words of {@code text} to {@code counts} (for corpora read chunk by chunk). */
    public static void countWords(CharSequence text, Map<String, Long> counts) {
        PreTokenizer.split(text, w -> counts.merge(w, 1L, Long::sum));
    }

    public static Tokenizer train(CharSequence text, int vocabSize, Progress progress) {
        return train(countWords(text), vocabSize, progress);
    }

    /**
     * Trains on word counts. Stops early (with a smaller vocabulary) if no pair occurs any more,
     * which only happens on tiny corpora.
     */
    public static Tokenizer train(Map<String, Long> wordCounts, int vocabSize, Progress progress) {
        if (vocabSize < MIN_VOCAB || vocabSize > MAX_VOCAB) {
            throw new IllegalArgumentException("vocab size " + vocabSize + " is outside [" + MIN_VOCAB + ", " + MAX_VOCAB + "]");
        }
        return new Run(wordCounts).train(vocabSize - 1, progress); // the last id is <|endoftext|>
    }

    /** One training run's mutable state. */
    private static final class Run {
        private final int[][] words;   // symbols of each distinct word (with ≥ 2 bytes)
        private final long[] freq;     // how often each word occurs
        private final PairMap pairIndex = new PairMap(1 << 16);
        private long[] pairKey = new long[1 << 16];
        private long[] pairCount = new long[1 << 16];
        private IntArray[] pairWords = new IntArray[1 << 16];
        private int pairs;
        private final PriorityQueue<Candidate> heap = new PriorityQueue<>();

        private final List<byte[]> tokens = new ArrayList<>();
        private final Map<String, Integer> idOfBytes = new HashMap<>();
        private final List<Merge> merges = new ArrayList<>();

        Run(Map<String, Long> wordCounts) {
            List<int[]> ws = new ArrayList<>();
            List<Long> fs = new ArrayList<>();
            for (Map.Entry<String, Long> e : wordCounts.entrySet()) {
                byte[] b = e.getKey().getBytes(StandardCharsets.UTF_8);
                if (b.length < 2) continue; // a single byte never takes part in a merge
                int[] s = new int[b.length];
                for (int i = 0; i < b.length; i++) s[i] = b[i] & 0xFF;
                ws.add(s);
                fs.add(e.getValue());
            }
            words = ws.toArray(int[][]::new);
            freq = new long[fs.size()];
            for (int i = 0; i < freq.length; i++) freq[i] = fs.get(i);
            for (int b = 0; b < 256; b++) addToken(new byte[] {(byte) b});
        }

        Tokenizer train(int ordinaryTokens, Progress progress) {
            for (int w = 0; w < words.length; w++) {
                int[] s = words[w];
                for (int i = 0; i + 1 < s.length; i++) addPair(s[i], s[i + 1], freq[w], w);
            }
            for (int p = 0; p < pairs; p++) heap.add(new Candidate(pairCount[p], PairMap.left(pairKey[p]), PairMap.right(pairKey[p])));

            int total = ordinaryTokens - 256;
            int[] stamp = new int[words.length];
            Arrays.fill(stamp, -1);
            while (tokens.size() < ordinaryTokens && !heap.isEmpty()) {
                Candidate c = heap.poll();
                int p = pairIndex.get(c.left, c.right, -1);
                long now = pairCount[p];
                if (now != c.count) { // stale: the count dropped since this entry was pushed
                    if (now > 0) heap.add(new Candidate(now, c.left, c.right));
                    continue;
                }
                if (now <= 0) continue;

                byte[] joined = Tokenizer.concat(tokens.get(c.left), tokens.get(c.right));
                Integer existing = idOfBytes.get(key(joined));
                int id = existing != null ? existing : addToken(joined);
                int rank = merges.size();
                merges.add(new Merge(c.left, c.right, id));

                IntArray touched = new IntArray(64); // pairs whose count may have grown
                IntArray where = pairWords[p];
                for (int k = 0; k < where.size(); k++) {
                    int w = where.get(k);
                    if (stamp[w] == rank) continue; // a word is listed once per time the pair was added
                    stamp[w] = rank;
                    mergeInWord(w, c.left, c.right, id, touched);
                }
                pairWords[p] = new IntArray(4); // every occurrence is merged: free the list
                for (int k = 0; k < touched.size(); k++) {
                    int q = touched.get(k);
                    if (pairCount[q] > 0) heap.add(new Candidate(pairCount[q], PairMap.left(pairKey[q]), PairMap.right(pairKey[q])));
                }
                progress.merged(tokens.size() - 256, total);
            }
            List<SpecialToken> specials = List.of(new SpecialToken(tokens.size(), SpecialToken.END_OF_TEXT));
            return new Tokenizer(tokens, merges, specials);
        }

        /** Replaces (left, right) by id in word w, moving its pair counts from old pairs to new ones. */
        private void mergeInWord(int w, int left, int right, int id, IntArray touched) {
            int[] s = words[w];
            int[] out = new int[s.length];
            int n = 0;
            for (int i = 0; i < s.length; ) {
                if (i + 1 < s.length && s[i] == left && s[i + 1] == right) {
                    out[n++] = id;
                    i += 2;
                } else {
                    out[n++] = s[i++];
                }
            }
            if (n == s.length) return; // the pair no longer occurs here (stale listing)
            long f = freq[w];
            for (int i = 0; i + 1 < s.length; i++) pairCount[pairIndex.get(s[i], s[i + 1], -1)] -= f;
            int[] merged = Arrays.copyOf(out, n);
            words[w] = merged;
            for (int i = 0; i + 1 < n; i++) {
                // Only pairs next to the new token are new to this word; others already list it.
                boolean isNew = merged[i] == id || merged[i + 1] == id;
                int q = addPair(merged[i], merged[i + 1], f, isNew ? w : -1);
                if (isNew) touched.add(q);
            }
        }

        /** Adds {@code f} to a pair's count (creating it), records word {@code w} if ≥ 0; returns its index. */
        private int addPair(int left, int right, long f, int w) {
            int p = pairIndex.get(left, right, -1);
            if (p < 0) {
                p = pairs++;
                if (p == pairKey.length) {
                    pairKey = Arrays.copyOf(pairKey, p * 2);
                    pairCount = Arrays.copyOf(pairCount, p * 2);
                    pairWords = Arrays.copyOf(pairWords, p * 2);
                }
                pairIndex.put(left, right, p);
                pairKey[p] = PairMap.key(left, right);
                pairWords[p] = new IntArray(4);
            }
            pairCount[p] += f;
            if (w >= 0) pairWords[p].add(w);
            return p;
        }

        private int addToken(byte[] bytes) {
            int id = tokens.size();
            tokens.add(bytes);
            idOfBytes.put(key(bytes), id);
            return id;
        }

        private static String key(byte[] bytes) {
            return new String(bytes, StandardCharsets.ISO_8859_1); // a lossless bytes -> String key
        }
    }

    /** A heap entry: higher count first, then the smaller (left, right) pair. */
    private record Candidate(long count, int left, int right) implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            if (count != o.count) return Long.compare(o.count, count);
            if (left != o.left) return Integer.compare(left, o.left);
            return Integer.compare(right, o.right);
        }
    }
}
