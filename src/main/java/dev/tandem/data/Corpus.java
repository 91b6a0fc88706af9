package dev.tandem.data;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A UTF-8 text corpus read whole into memory, strictly: bad bytes are an error that names the
 * file and byte offset, never silently replaced (a replaced byte would corrupt training data and
 * the bytes-per-token measure).
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
        byte[] data;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new TandemException("corpus " + file + " has " + size + " bytes; at most " + MAX_BYTES
                        + " are supported (split it into smaller files)");
            }
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TandemException("corpus " + file + " does not exist");
        } catch (IOException e) {
            throw new TandemException("cannot read corpus " + file + ": " + e.getMessage(), e);
        }
        if (data.length == 0) throw new TandemException("corpus " + file + " is empty");
        return new Corpus(file, decodeStrict(data, file.toString()), data.length, sha256(data));
    }

    /** Decodes UTF-8, failing with the byte offset of the first malformed sequence. */
    static String decodeStrict(byte[] data, String name) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(data);
        CharBuffer out = CharBuffer.allocate(data.length); // UTF-8 never yields more chars than bytes
        CoderResult r = dec.decode(in, out, true);
        if (r.isUnderflow()) r = dec.flush(out);
        if (r.isError()) {
            int at = in.position();
            throw new TandemException(name + " is not valid UTF-8: bad byte 0x"
                    + HexFormat.of().toHexDigits(data[at]) + " at byte offset " + at
                    + " (convert it with e.g. iconv -f latin1 -t utf-8)");
        }
        out.flip();
        return out.toString();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

}
