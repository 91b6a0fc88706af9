package dev.tandem.data;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Streams a UTF-8 corpus as text chunks, so memory stays bounded however large the file. Chunks
 * are cut only where GPT-2 pre-tokenization cannot span the cut, so pre-tokenizing (and encoding)
 * chunk by chunk gives exactly the tokens of the whole text.
 *
 * <p>The cut rule: between a non-whitespace character and a whitespace character. Every
 * alternative of the pattern that matches a non-whitespace character consists of non-whitespace
 * only, so the piece holding the character before the cut ends at the cut; the pattern has no
 * look-behind, so matching from the cut on is the same with or without what came before.
 *
 * <p>Decoding is strict: a malformed byte is an error naming the file and its byte offset.
 */
public final class CorpusReader {
    /** Bytes read per block; a chunk is at most about this many chars plus one unbroken word. */
    static final int BLOCK = 4 << 20;
    private static final Pattern WHITESPACE = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);

    /** What was read: the file's size and SHA-256. */
    public record Summary(long bytes, String sha256) {}

    private CorpusReader() {}

    public static Summary read(Path file, Consumer<CharSequence> chunks) {
        return read(file, BLOCK, chunks);
    }

    /** Calls {@code chunks} with consecutive pieces of the text that concatenate to all of it. */
    static Summary read(Path file, int blockBytes, Consumer<CharSequence> chunks) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.allocate(blockBytes + 4); // + room for a sequence cut by the block end
        StringBuilder text = new StringBuilder();
        CharBuffer out = CharBuffer.allocate(blockBytes + 4);
        long consumed = 0; // bytes before in.position(0)
        int scanned = 0;   // text[0, scanned) is known to hold no cut
        try (InputStream stream = Files.newInputStream(file)) {
            boolean eof = false;
            while (!eof) {
                int n = stream.readNBytes(in.array(), in.position(), blockBytes);
                sha.update(in.array(), in.position(), n);
                in.position(in.position() + n);
                eof = n < blockBytes;
                in.flip();
                CoderResult r = dec.decode(in, out, eof);
                if (r.isUnderflow() && eof) r = dec.flush(out);
                if (r.isOverflow()) throw new IllegalStateException("decode buffer too small"); // cannot happen: chars ≤ bytes
                if (r.isError()) {
                    long at = consumed + in.position();
                    throw new TandemException(file + " is not valid UTF-8: bad byte 0x"
                            + HexFormat.of().toHexDigits(in.get(in.position())) + " at byte offset " + at
                            + " (convert it with e.g. iconv -f latin1 -t utf-8)");
                }
                consumed += in.position();
                in.compact();
                out.flip();
                text.append(out);
                out.clear();
                // Only the new text (and the char before it) can hold a cut we have not seen.
                int cut = eof ? text.length() : safeCut(text, Math.max(1, scanned));
                if (cut > 0) {
                    chunks.accept(text.substring(0, cut));
                    text.delete(0, cut);
                }
                scanned = text.length();
            }
        } catch (NoSuchFileException e) {
            throw new TandemException("corpus " + file + " does not exist");
        } catch (IOException e) {
            throw new TandemException("cannot read corpus " + file + ": " + e.getMessage(), e);
        }
        return new Summary(consumed, HexFormat.of().formatHex(sha.digest()));
    }

    /**
     * The last position {@code p >= from} where {@code text} may be cut (a non-whitespace char
     * followed by whitespace), or 0 if there is none (one unbroken word so far: keep reading).
     */
    static int safeCut(CharSequence text, int from) {
        for (int p = text.length() - 1; p >= Math.max(1, from); p--) {
            if (isWhitespace(text.charAt(p)) && !isWhitespace(text.charAt(p - 1))) return p;
        }
        return 0;
    }

    /** The pattern's own \s (Unicode White_Space); all White_Space characters are in the BMP. */
    private static boolean isWhitespace(char c) {
        if (c < 128) return c == ' ' || (c >= '\t' && c <= '\r');
        return WHITESPACE.matcher(String.valueOf(c)).matches();
    }
}
