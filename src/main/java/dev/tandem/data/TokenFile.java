package dev.tandem.data;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * A corpus encoded once into int32 token ids and memory-mapped for reading, so training never
 * re-tokenizes and the tokens cost no heap. The header ({@link TokenFileHeader}) records the
 * tokenizer's and the corpus's digests; {@link #openOrBuild} rebuilds a cache that no longer
 * matches either.
 */
public final class TokenFile implements AutoCloseable {
    static final ValueLayout.OfInt TOKEN = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final TokenFileHeader header;
    private final MemorySegment tokens;

    private TokenFile(Path path, Arena arena, TokenFileHeader header, MemorySegment tokens) {
        this.path = path;
        this.arena = arena;
        this.header = header;
        this.tokens = tokens;
    }

    /**
     * Opens {@code cache} if it was built from this corpus and tokenizer; otherwise (missing,
     * stale, damaged) encodes the corpus into it first, streaming, so memory stays bounded.
     * Checking costs one read of the corpus to hash it (about 1 GB/s).
     */
    public static TokenFile openOrBuild(Path corpus, Tokenizer tokenizer, Path cache, Consumer<String> log) {
        String corpusSha = sha256(corpus);
        String why = staleReason(cache, corpusSha, tokenizer);
        if (why == null) return open(cache);
        log.accept("token cache " + cache + ": " + why + "; encoding " + corpus);
        long t0 = System.nanoTime();
        TokenFileHeader h = build(corpus, tokenizer, cache);
        log.accept(String.format("encoded %,d bytes into %,d tokens (%.2f bytes/token) in %.1f s",
                h.corpusBytes(), h.tokenCount(), (double) h.corpusBytes() / h.tokenCount(), (System.nanoTime() - t0) / 1e9));
        return open(cache);
    }

    /** Why {@code cache} cannot be reused, or null if it can. */
    static String staleReason(Path cache, String corpusSha, Tokenizer tokenizer) {
        if (!Files.isRegularFile(cache)) return "not built yet";
        try (Arena a = Arena.ofConfined(); FileChannel ch = FileChannel.open(cache, StandardOpenOption.READ)) {
            long size = ch.size();
            String[] why = new String[1];
            TokenFileHeader h = TokenFileHeader.decode(ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, TokenFileHeader.SIZE), a), why);
            if (h == null) return why[0];
            if (h.fileBytes() != size) return "truncated";
            if (!h.corpusSha256().equals(corpusSha)) return "the corpus changed";
            if (!h.tokenizerSha256().equals(tokenizer.fingerprint())) return "the tokenizer changed";
            return null;
        } catch (IOException e) {
            return "unreadable (" + e.getMessage() + ")";
        }
    }

    /**
     * Encodes {@code corpus} into a token file, atomically: tokens stream into a temp file in the
     * same folder, the header is written last, the file is forced to disk, then renamed. Local
     * ranks that build the same cache at once each write their own temp file (named by pid) and
     * the last rename wins; the contents are identical, and a file already mapped by another
     * process stays valid after it is replaced.
     */
    static TokenFileHeader build(Path corpus, Tokenizer tokenizer, Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = dir.resolve(file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            try {
                TokenFileHeader header;
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
                    ch.position(TokenFileHeader.SIZE);
                    TokenWriter tokens = new TokenWriter(ch);
                    CorpusReader.Summary s = CorpusReader.read(corpus, chunk -> tokenizer.encode(chunk, tokens));
                    tokens.flush();
                    if (s.bytes() == 0) throw new TandemException("corpus " + corpus + " is empty");
                    header = new TokenFileHeader(tokenizer.vocabSize(), tokens.count(), s.bytes(), tokenizer.fingerprint(), s.sha256());
                    ByteBuffer hb = header.encode();
                    while (hb.hasRemaining()) ch.write(hb, hb.position());
                    ch.force(true);
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return header;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | UncheckedIOException e) {
            throw new TandemException("cannot write token file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Buffers token ids into little-endian int32s on a channel. */
    private static final class TokenWriter implements IntConsumer {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long count;

        TokenWriter(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void accept(int id) {
            if (!buf.hasRemaining()) flush();
            buf.putInt(id);
            count++;
        }

        void flush() {
            buf.flip();
            try {
                while (buf.hasRemaining()) ch.write(buf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            buf.clear();
        }

        long count() {
            return count;
        }
    }

    /** Memory-maps a token file read-only. Close it to unmap. */
    public static TokenFile open(Path file) {
        Arena arena = Arena.ofShared(); // batches may be filled from several threads
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            String[] why = new String[1];
            TokenFileHeader h = TokenFileHeader.decode(all, why);
            if (h == null) throw new TandemException("token file " + file + " is " + why[0] + "; delete it to rebuild");
            if (h.fileBytes() != all.byteSize()) {
                throw new TandemException("token file " + file + " is truncated (" + all.byteSize() + " bytes, header implies "
                        + h.fileBytes() + "); delete it to rebuild");
            }
            return new TokenFile(file, arena, h, all.asSlice(TokenFileHeader.SIZE));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new TandemException("token file " + file + " does not exist");
        } catch (IOException e) {
            arena.close();
            throw new TandemException("cannot map token file " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public TokenFileHeader header() {
        return header;
    }

    public long size() {
        return header.tokenCount();
    }

    public int get(long index) {
        return tokens.getAtIndex(TOKEN, index);
    }

    /** The mapped tokens (int32 little-endian), valid until {@link #close()}. */
    public MemorySegment tokens() {
        return tokens;
    }

    @Override
    public void close() {
        arena.close();
    }

    static String sha256(Path file) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (NoSuchFileException e) {
            throw new TandemException("corpus " + file + " does not exist");
        } catch (IOException e) {
            throw new TandemException("cannot read corpus " + file + ": " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
