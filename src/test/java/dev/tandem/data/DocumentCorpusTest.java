package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Document corpora (a folder or JSONL), their token cache with boundaries, and packing into rows. */
class DocumentCorpusTest {
    private static final Tokenizer TOKENIZER = TokenizerTest.SHAKESPEARE;

    @TempDir
    Path dir;

    @Test
    void aFolderAndJsonlGiveTheSameDocumentsAndTheCacheKeepsTheirBoundaries() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("docs"));
        Files.writeString(folder.resolve("a.txt"), "First Citizen: before we proceed any further, hear me speak.");
        Files.writeString(folder.resolve("b.txt"), "All: Speak, speak.");
        Path jsonl = dir.resolve("docs.jsonl");
        Files.writeString(jsonl, "{\"text\": \"First Citizen: before we proceed any further, hear me speak.\"}\n\n{\"text\": \"All: Speak, speak.\"}\n");
        assertThat(DocumentCorpus.read(folder)).extracting(DocumentCorpus.Document::text)
                .isEqualTo(DocumentCorpus.read(jsonl).stream().map(DocumentCorpus.Document::text).toList());

        List<String> log = new ArrayList<>();
        Path cache = dir.resolve("docs.cache");
        DocumentTokens built = DocumentTokens.openOrBuild(folder, TOKENIZER, cache, log::add);
        assertThat(built.count()).isEqualTo(2);
        assertThat(built.document(1)).isEqualTo(TOKENIZER.encode("All: Speak, speak."));
        assertThat(log).hasSize(1);
        DocumentTokens cached = DocumentTokens.openOrBuild(folder, TOKENIZER, cache, log::add);
        assertThat(log).as("the second open reads the cache").hasSize(1);
        for (int d = 0; d < 2; d++) assertThat(cached.document(d)).isEqualTo(built.document(d));
        Files.writeString(folder.resolve("b.txt"), "All: Resolved, resolved.");
        assertThat(DocumentTokens.openOrBuild(folder, TOKENIZER, cache, log::add).document(1)).isEqualTo(TOKENIZER.encode("All: Resolved, resolved."));
        assertThat(log.get(1)).contains("stale");
    }

    @Test
    void badDocumentsAreNamed() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("docs"));
        Files.writeString(folder.resolve("a.txt"), "Speak.");
        Files.writeString(folder.resolve("empty.txt"), "");
        assertThatThrownBy(() -> DocumentCorpus.read(folder)).hasMessageContaining("document empty.txt is empty: remove it");
        Path jsonl = dir.resolve("x.jsonl");
        Files.writeString(jsonl, "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n");
        assertThatThrownBy(() -> DocumentCorpus.read(jsonl)).hasMessageContaining("x.jsonl:2 has no \"text\" string field");
        Files.writeString(jsonl, "not json\n");
        assertThatThrownBy(() -> DocumentCorpus.read(jsonl)).hasMessageContaining("x.jsonl:1 is not a JSON object");
        assertThatThrownBy(() -> DocumentCorpus.read(dir.resolve("missing"))).hasMessageContaining("does not exist");
    }

    /** Every next token of every document is predicted exactly once, in order; rows are full but for padding at the end. */
    @Test
    void packingPredictsEveryNextTokenOnce() {
        int[][] docs = {{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, {15, 16}, {17, 18, 19, 20}};
        long[] offsets = new long[docs.length + 1];
        for (int i = 0; i < docs.length; i++) offsets[i + 1] = offsets[i] + docs[i].length;
        DocumentTokens tokens = new DocumentTokens(Arrays.stream(docs).flatMapToInt(Arrays::stream).toArray(), offsets);
        List<Packing.Row> rows = Packing.pack(tokens, 4);
        List<String> predicted = new ArrayList<>();
        for (Packing.Row r : rows) {
            assertThat(Arrays.stream(r.lengths()).sum()).isEqualTo(4);
            for (int i = 0; i < 4; i++) if (r.targets()[i] >= 0) predicted.add(r.inputs()[i] + ">" + r.targets()[i]);
        }
        List<String> expected = new ArrayList<>();
        for (int[] d : docs) for (int i = 0; i + 1 < d.length; i++) expected.add(d[i] + ">" + d[i + 1]);
        assertThat(predicted).isEqualTo(expected);
        // The 11-token document (10 predictions) is cut into pieces of 4, 4 and 2; the last row ends in padding.
        assertThat(rows.get(0).lengths()).containsExactly(2, 2);
        assertThat(rows.get(rows.size() - 1).padding()).isEqualTo(1);
    }
}
