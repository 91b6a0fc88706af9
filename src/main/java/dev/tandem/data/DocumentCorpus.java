package dev.tandem.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A corpus of separate documents, read in a fixed order: a folder of text files (each file one
 * document, in name order, subfolders included) or a JSONL file (each line an object whose
 * {@code text} field is one document). Documents stay separate so that training can keep
 * attention inside each one. An empty document is refused with its name: it has nothing to train
 * on, and usually means a broken export.
 */
public final class DocumentCorpus {
    /** One document and where it came from (file name, or file:line), for messages. */
    public record Document(String source, String text) {}

    private DocumentCorpus() {}

    public static List<Document> read(Path path) {
        if (Files.isDirectory(path)) return folder(path);
        if (!Files.isRegularFile(path)) throw new TandemException("document corpus " + path + " does not exist: give a folder of text files or a .jsonl file");
        if (!path.getFileName().toString().endsWith(".jsonl")) {
            throw new TandemException("document corpus " + path + " is a single file: give a folder of text files (one document each) "
                    + "or a .jsonl file with a \"text\" field per line");
        }
        return jsonl(path);
    }

    private static List<Document> folder(Path dir) {
        List<Document> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList()) {
                out.add(checked(new Document(dir.relativize(f).toString(), Files.readString(f, StandardCharsets.UTF_8))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading documents under " + dir, e);
        }
        if (out.isEmpty()) throw new TandemException("document corpus " + dir + " holds no files: put one text file per document there");
        return out;
    }

    private static List<Document> jsonl(Path file) {
        ObjectMapper json = new ObjectMapper();
        List<Document> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                String where = file.getFileName() + ":" + n;
                JsonNode text;
                try {
                    text = json.readTree(line).get("text");
                } catch (IOException e) {
                    throw new TandemException(where + " is not a JSON object: each line of a .jsonl corpus is one {\"text\": \"...\"}");
                }
                if (text == null || !text.isTextual()) throw new TandemException(where + " has no \"text\" string field: each line needs one");
                out.add(checked(new Document(where, text.asText())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
        if (out.isEmpty()) throw new TandemException("document corpus " + file + " holds no documents");
        return out;
    }

    private static Document checked(Document d) {
        if (d.text().isEmpty()) {
            throw new TandemException("document " + d.source() + " is empty: remove it from the corpus (an empty document has nothing to train on)");
        }
        return d;
    }

    /** SHA-256 over every document's source and text, in order: what a token cache records to notice a changed corpus. */
    public static String digest(List<Document> docs) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Document d : docs) {
                md.update(d.source().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(d.text().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
