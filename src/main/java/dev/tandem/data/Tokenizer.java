package dev.tandem.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * A byte-level BPE tokenizer in the style of GPT-2: text is split into words by
 * {@link PreTokenizer}, each word's UTF-8 bytes start as one token per byte, and merges are applied
 * lowest rank first (leftmost first among equal ranks), never across words.
 *
 * <p>Because every byte has a token, any well-formed string encodes, and
 * {@code decode(encode(s)).equals(s)}. (A lone surrogate is not well-formed UTF-16; Java's UTF-8
 * encoder writes it as '?'.) {@link #encode} treats special-token text such as
 * {@code "<|endoftext|>"} in the input as plain text, so data can never inject control tokens;
 * callers that need a special token append its id ({@link #endOfText()}).
 *
 * <p>Immutable and safe to share between threads; the word cache is concurrent.
 */
public final class Tokenizer {
    private static final int CACHE_LIMIT = 200_000;

    private final byte[][] tokenBytes;      // id -> bytes (special tokens: UTF-8 of their content); null for unused ids
    private final int[] byteToId = new int[256];
    private final List<Merge> merges;
    private final PairMap rankOf;           // (left, right) -> rank
    private final int[] mergedByRank;
    private final List<SpecialToken> specials;
    private final String fingerprint;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param tokenBytes the bytes of each ordinary token by id (null where an id is unused or special);
     *                   all 256 single bytes must be present
     * @param merges     the merge rules in rank order
     * @param specials   special tokens; their ids must not be ordinary tokens
     */
    public Tokenizer(List<byte[]> tokenBytes, List<Merge> merges, List<SpecialToken> specials) {
        this.specials = List.copyOf(specials);
        int size = tokenBytes.size();
        for (SpecialToken s : specials) {
            if (s.id() < 0) throw new IllegalArgumentException("special token " + s.content() + " has negative id " + s.id());
            size = Math.max(size, s.id() + 1);
        }
        this.tokenBytes = new byte[size][];
        Arrays.fill(byteToId, -1);
        for (int id = 0; id < tokenBytes.size(); id++) {
            byte[] b = tokenBytes.get(id);
            if (b == null) continue;
            if (b.length == 0) throw new IllegalArgumentException("token " + id + " is empty");
            this.tokenBytes[id] = b.clone();
            if (b.length == 1 && byteToId[b[0] & 0xFF] < 0) byteToId[b[0] & 0xFF] = id;
        }
        for (int b = 0; b < 256; b++) {
            if (byteToId[b] < 0) {
                throw new IllegalArgumentException("no token for byte 0x" + HexFormat.of().toHexDigits((byte) b)
                        + "; a byte-level vocabulary needs all 256 single-byte tokens");
            }
        }
        for (SpecialToken s : specials) {
            if (this.tokenBytes[s.id()] != null) {
                throw new IllegalArgumentException("special token " + s.content() + " reuses ordinary id " + s.id());
            }
            this.tokenBytes[s.id()] = s.content().getBytes(StandardCharsets.UTF_8);
        }
        this.merges = List.copyOf(merges);
        this.rankOf = new PairMap(merges.size());
        this.mergedByRank = new int[merges.size()];
        for (int r = 0; r < merges.size(); r++) {
            Merge m = merges.get(r);
            checkOrdinary(m.left(), r);
            checkOrdinary(m.right(), r);
            checkOrdinary(m.merged(), r);
            byte[] joined = concat(this.tokenBytes[m.left()], this.tokenBytes[m.right()]);
            if (!Arrays.equals(joined, this.tokenBytes[m.merged()])) {
                throw new IllegalArgumentException("merge " + r + " joins tokens " + m.left() + " and " + m.right()
                        + " but its result " + m.merged() + " has other bytes");
            }
            // The first (lowest-rank) rule for a pair wins, as in Hugging Face tokenizers.
            if (rankOf.get(m.left(), m.right(), -1) < 0) rankOf.put(m.left(), m.right(), r);
            mergedByRank[r] = m.merged();
        }
        this.fingerprint = computeFingerprint();
    }

    private void checkOrdinary(int id, int rank) {
        if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null || isSpecial(id)) {
            throw new IllegalArgumentException("merge " + rank + " uses token id " + id + ", which is not an ordinary token");
        }
    }

    private boolean isSpecial(int id) {
        for (SpecialToken s : specials) if (s.id() == id) return true;
        return false;
    }

    /** Number of ids (highest id + 1), including special tokens: the model's embedding rows. */
    public int vocabSize() {
        return tokenBytes.length;
    }

    public List<Merge> merges() {
        return merges;
    }

    public List<SpecialToken> specialTokens() {
        return specials;
    }

    /** The id of {@code <|endoftext|>}, or -1 if this tokenizer has none. */
    public int endOfText() {
        return specialId(SpecialToken.END_OF_TEXT);
    }

    /** The id of a special token by its content, or -1. */
    public int specialId(String content) {
        for (SpecialToken s : specials) if (s.content().equals(content)) return s.id();
        return -1;
    }

    /** The bytes token {@code id} stands for (a copy); null if the id is unused. */
    public byte[] tokenBytes(int id) {
        byte[] b = tokenBytes[id];
        return b == null ? null : b.clone();
    }

    /** How many UTF-8 bytes token {@code id} decodes to (0 for an unused id). */
    public int tokenByteLength(int id) {
        byte[] b = tokenBytes[id];
        return b == null ? 0 : b.length;
    }

    /**
     * A SHA-256 hex digest of everything that decides the encoding (token bytes, merges, specials).
     * Token caches record it so that a changed tokenizer rebuilds them.
     */
    public String fingerprint() {
        return fingerprint;
    }

    /** Encodes {@code text} as ordinary text (special-token strings are not recognised). */
    public int[] encode(CharSequence text) {
        IntArray out = new IntArray(text.length() / 3 + 16);
        encode(text, out::add);
        return out.toArray();
    }

    /** Streams the ids of {@code text} to {@code sink}, in order. */
    public void encode(CharSequence text, IntConsumer sink) {
        PreTokenizer.split(text, word -> {
            for (int id : encodeWord(word)) sink.accept(id);
        });
    }

    /** The ids of one pre-tokenized word (cached: natural text repeats its words). */
    int[] encodeWord(String word) {
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = mergeBytes(word.getBytes(StandardCharsets.UTF_8));
            if (cache.size() >= CACHE_LIMIT) cache.clear(); // crude bound; text reuses few words
            cache.put(word, ids);
        }
        return ids;
    }

    /**
     * Applies merges to one word's bytes. Symbols form a linked list; a heap of (rank, position)
     * pops the lowest-rank, leftmost pair. Stale entries (a side already merged away) are skipped
     * by re-checking the pair's rank on pop. O(n log n) per word, so even a huge word without
     * spaces (minified data, a long run of digits) stays fast.
     */
    private int[] mergeBytes(byte[] bytes) {
        int n = bytes.length;
        int[] sym = new int[n];
        for (int i = 0; i < n; i++) sym[i] = byteToId[bytes[i] & 0xFF];
        if (n < 2 || merges.isEmpty()) return sym;
        int[] prev = new int[n];
        int[] next = new int[n];
        LongHeap heap = new LongHeap();
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) pushPair(heap, sym[i], sym[i + 1], i);
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long entry = heap.pop();
            int rank = (int) (entry >>> 32);
            int i = (int) entry;
            int j = next[i];
            if (sym[i] < 0 || j < 0 || rankOf.get(sym[i], sym[j], -1) != rank) continue; // stale
            sym[i] = mergedByRank[rank];
            sym[j] = -1;
            alive--;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            if (prev[i] >= 0) pushPair(heap, sym[prev[i]], sym[i], prev[i]);
            if (next[i] >= 0) pushPair(heap, sym[i], sym[next[i]], i);
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0; i = next[i]) out[k++] = sym[i];
        return out;
    }

    private void pushPair(LongHeap heap, int left, int right, int position) {
        int rank = rankOf.get(left, right, -1);
        if (rank >= 0) heap.push(((long) rank << 32) | position);
    }

    /** The bytes of the ids, concatenated. */
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (id < 0 || id >= tokenBytes.length || tokenBytes[id] == null) {
                throw new IllegalArgumentException("token id " + id + " is not in this vocabulary of " + tokenBytes.length);
            }
            out.writeBytes(tokenBytes[id]);
        }
        return out.toByteArray();
    }

    /** The text of the ids; bytes that do not form valid UTF-8 (a cut character) become U+FFFD. */
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    private String computeFingerprint() {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("tandem-bpe-v1".getBytes(StandardCharsets.UTF_8));
            sha.update(intBytes(tokenBytes.length));
            for (byte[] b : tokenBytes) {
                sha.update(intBytes(b == null ? -1 : b.length));
                if (b != null) sha.update(b);
            }
            sha.update(intBytes(merges.size()));
            for (Merge m : merges) {
                sha.update(intBytes(m.left()));
                sha.update(intBytes(m.right()));
                sha.update(intBytes(m.merged()));
            }
            for (SpecialToken s : specials) {
                sha.update(intBytes(s.id()));
                sha.update(s.content().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is always present", e);
        }
    }

    private static byte[] intBytes(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** All ordinary tokens by id, as byte arrays (copies); null for unused and special ids. */
    List<byte[]> ordinaryTokens() {
        List<byte[]> out = new ArrayList<>(tokenBytes.length);
        for (int id = 0; id < tokenBytes.length; id++) out.add(isSpecial(id) || tokenBytes[id] == null ? null : tokenBytes[id].clone());
        return out;
    }
}
