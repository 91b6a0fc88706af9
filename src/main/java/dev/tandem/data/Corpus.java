package dev.tandem.data;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A UTF-8 text corpus read whole into memory (small corpora, tests), strictly: bad bytes are an
 * error that names the file and byte offset, never silently replaced (a replaced byte would
 * corrupt training data and the bytes-per-token measure). Large corpora go through
 * {@link CorpusReader} chunk by chunk instead.
 *
 * @param file  where it came from (for messages)
 * @param text  the decoded text
 * @param bytes its size in UTF-8 bytes
 * @param sha256 hex digest of the file's bytes (for token caches)
 */
public record Corpus(Path file, String text, long bytes, String sha256) {
    /** Java strings hold at most ~2^31 chars; we stay well below and say so. */
    public static final long MAX_BYTES = 1L << 30;

    public static Corpus read(Path file) {
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw new TandemException("corpus " + file + " has " + Files.size(file) + " bytes; at most " + MAX_BYTES
                        + " fit in one string (tokenizer training and token caches stream larger files)");
            }
        } catch (NoSuchFileException e) {
            throw new TandemException("corpus " + file + " does not exist");
        } catch (IOException e) {
            throw new TandemException("cannot read corpus " + file + ": " + e.getMessage(), e);
        }
        StringBuilder text = new StringBuilder();
        CorpusReader.Summary s = CorpusReader.read(file, text::append);
        if (s.bytes() == 0) throw new TandemException("corpus " + file + " is empty");
        return new Corpus(file, text.toString(), s.bytes(), s.sha256());
    }
}
