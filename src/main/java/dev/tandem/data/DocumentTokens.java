package dev.tandem.data;

import dev.tandem.TandemException;
import dev.tandem.io.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The token cache of a document corpus: every document encoded once, with its boundaries kept
 * (the offsets of each document's first token), so training packs or schedules whole documents
 * without re-tokenizing. File (big-endian): magic "TANDDOCS", version, vocabulary size, document
 * count, token count, the tokenizer's and the corpus's SHA-256 (hex), the document offsets
 * (count + 1 longs) and the tokens (ints). A cache whose digests no longer match is rebuilt.
 */
public final class DocumentTokens {
    private static final String MAGIC = "TANDDOCS";
    private static final int VERSION = 1;

    private final int[] tokens;
    private final long[] offsets;

    DocumentTokens(int[] tokens, long[] offsets) {
        this.tokens = tokens;
        this.offsets = offsets;
    }

    /** Encodes {@code docs} (in memory, no cache). */
    public static DocumentTokens encode(List<DocumentCorpus.Document> docs, Tokenizer tokenizer) {
        List<int[]> encoded = new ArrayList<>();
        for (DocumentCorpus.Document d : docs) {
            int[] ids = tokenizer.encode(d.text());
            if (ids.length < 2) {
                throw new TandemException("document " + d.source() + " encodes to " + ids.length + " token(s), too short to predict a next token: "
                        + "remove it or join it to another document");
            }
            encoded.add(ids);
        }
        long[] offsets = new long[encoded.size() + 1];
        for (int i = 0; i < encoded.size(); i++) offsets[i + 1] = offsets[i] + encoded.get(i).length;
        int[] tokens = new int[Math.toIntExact(offsets[encoded.size()])];
        for (int i = 0; i < encoded.size(); i++) System.arraycopy(encoded.get(i), 0, tokens, (int) offsets[i], encoded.get(i).length);
        return new DocumentTokens(tokens, offsets);
    }

    /** Reads {@code cache} if it was built from this corpus and tokenizer, else encodes the corpus and writes it there. */
    public static DocumentTokens openOrBuild(Path corpus, Tokenizer tokenizer, Path cache, Consumer<String> log) {
        List<DocumentCorpus.Document> docs = DocumentCorpus.read(corpus);
        String corpusSha = DocumentCorpus.digest(docs);
        if (Files.isRegularFile(cache)) {
            DocumentTokens cached = read(cache, tokenizer, corpusSha);
            if (cached != null) return cached;
            log.accept("document cache " + cache + " is stale or unreadable; encoding " + corpus);
        }
        DocumentTokens built = encode(docs, tokenizer);
        built.write(cache, tokenizer, corpusSha);
        log.accept(String.format("encoded %,d documents into %,d tokens: %s", built.count(), built.tokens.length, cache));
        return built;
    }

    public int count() {
        return offsets.length - 1;
    }

    public int length(int doc) {
        return (int) (offsets[doc + 1] - offsets[doc]);
    }

    /** Tokens of all documents together. */
    public long tokenCount() {
        return offsets[count()];
    }

    /** Documents [from, to) on their own (their tokens copied). */
    public DocumentTokens slice(int from, int to) {
        if (from < 0 || to > count() || from > to) throw new IllegalArgumentException("documents [" + from + ", " + to + ") of " + count());
        long[] o = new long[to - from + 1];
        for (int i = 0; i < o.length; i++) o[i] = offsets[from + i] - offsets[from];
        return new DocumentTokens(Arrays.copyOfRange(tokens, (int) offsets[from], (int) offsets[to]), o);
    }

    /** Every document's tokens back to back, in order. */
    public int[] allTokens() {
        return tokens.clone();
    }

    /** The tokens of document {@code doc}. */
    public int[] document(int doc) {
        return Arrays.copyOfRange(tokens, (int) offsets[doc], (int) offsets[doc + 1]);
    }

    private void write(Path cache, Tokenizer tokenizer, String corpusSha) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeBytes(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(tokenizer.vocabSize());
            out.writeLong(count());
            out.writeLong(tokens.length);
            out.writeUTF(tokenizer.fingerprint());
            out.writeUTF(corpusSha);
            for (long o : offsets) out.writeLong(o);
            for (int t : tokens) out.writeInt(t);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicFiles.writeBytes(cache, bytes.toByteArray());
    }

    /** The cached documents, or null if the file is not a cache of this corpus and tokenizer. */
    private static DocumentTokens read(Path cache, Tokenizer tokenizer, String corpusSha) {
        try (InputStream raw = Files.newInputStream(cache); DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw))) {
            if (!new String(in.readNBytes(MAGIC.length()), java.nio.charset.StandardCharsets.US_ASCII).equals(MAGIC)) return null;
            if (in.readInt() != VERSION || in.readInt() != tokenizer.vocabSize()) return null;
            int docs = Math.toIntExact(in.readLong()), n = Math.toIntExact(in.readLong());
            if (!in.readUTF().equals(tokenizer.fingerprint()) || !in.readUTF().equals(corpusSha)) return null;
            long[] offsets = new long[docs + 1];
            for (int i = 0; i <= docs; i++) offsets[i] = in.readLong();
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = in.readInt();
            return offsets[docs] == n ? new DocumentTokens(tokens, offsets) : null;
        } catch (IOException | ArithmeticException e) {
            return null;
        }
    }
}
