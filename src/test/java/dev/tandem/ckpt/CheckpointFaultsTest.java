package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What goes wrong on disk: a writer that dies at any point of a save, and files that are
 * truncated, corrupted, or described by a manifest that lies. The previous checkpoint always
 * still loads; every bad one is refused with a message naming the file and the tensor.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class CheckpointFaultsTest {
    private static final String SHARD1 = Manifest.shardName(1, 2);
    @TempDir Path root;
    private List<RankFixture> job;

    /** Thrown at an injected point: what a killed process leaves is whatever was on disk then. */
    static final class Crash extends RuntimeException {
        Crash(String where) {
            super("simulated crash at " + where);
        }
    }

    @BeforeEach
    void saveAValidCheckpoint() {
        job = RankFixture.job(2, 2, "adamw", 2);
        CkptTestSupport.save(root, job, 2, 1, CrashPoint.NONE);
    }

    @AfterEach
    void close() {
        CkptTestSupport.closeAll(job);
    }

    private Path step(long s) {
        return root.resolve(Checkpoints.dirName(s));
    }

    @Test
    void aWriterKilledAtAnyPointLeavesThePreviousCheckpointLoadable() throws IOException {
        List<String> points = new ArrayList<>();
        CkptTestSupport.save(root.resolve("probe"), job, 2, 2, points::add);
        // rank 1: open, header, one per tensor, fsynced, renamed; rank 0 the same, then the manifest's four.
        assertThat(points).contains("shard:open", "shard:fsynced", "shard:renamed", "manifest:half", "manifest:renamed");
        assertThat(points.size()).isGreaterThan(20);
        for (int i = 0; i < points.size(); i++) {
            int[] seen = {0};
            int at = i;
            CrashPoint crash = where -> {
                if (seen[0]++ == at) throw new Crash(where);
            };
            assertThatThrownBy(() -> CkptTestSupport.save(root, job, 2, 2, crash)).isInstanceOf(Crash.class);
            List<String> log = new ArrayList<>();
            try (Checkpoint latest = Checkpoints.latest(root, log::add)) {
                boolean committed = points.get(i).equals("manifest:renamed");
                assertThat(latest.step()).as("crash at %s (point %d)", points.get(i), i).isEqualTo(committed ? 2 : 1);
                if (!committed) assertThat(log).singleElement().asString().contains("step-00000002").contains("incomplete");
            }
            try (Checkpoint previous = Checkpoint.open(step(1))) {
                assertThat(previous.pieces()).isNotEmpty();
            }
            deleteTree(step(2));
        }
    }

    @Test
    void retentionKeepsTheLastKAndEveryNthAndDropsCrashedSaves() throws IOException {
        for (long s = 2; s <= 9; s++) CkptTestSupport.save(root, job, 2, s, CrashPoint.NONE);
        Files.createDirectories(step(3).resolve("leftover")); // not a valid checkpoint either way
        Files.delete(step(3).resolve(Manifest.FILE));          // as if step 3's save had crashed
        List<String> log = new ArrayList<>();
        Checkpoints.prune(root, 2, 4, log::add);
        try (Stream<Path> s = Files.list(root)) {
            assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("step-00000004", "step-00000008", "step-00000009");
        }
        assertThat(log).anyMatch(l -> l.contains("step-00000003") && l.contains("incomplete"));
    }

    @Test
    void missingManifestMeansIncomplete() throws IOException {
        Files.delete(step(1).resolve(Manifest.FILE));
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining("step-00000001").hasMessageContaining("incomplete");
    }

    @Test
    void truncatedShardIsNamed() throws IOException {
        Path f = step(1).resolve(SHARD1);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 12);
        }
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining(SHARD1).hasMessageContaining("truncated");
    }

    @Test
    void aFlippedByteFailsTheChecksumOfItsTensor() throws IOException {
        JsonNode m = manifest();
        String name = "optim/" + firstStateKey(m, SHARD1);
        JsonNode t = m.path("tensors").path(name);
        Path f = step(1).resolve(SHARD1);
        long headerLen;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            headerLen = Long.reverseBytes(raf.readLong());
            long at = 8 + headerLen + t.path("data_offsets").get(0).asLong() + 5;
            raf.seek(at);
            int b = raf.read();
            raf.seek(at);
            raf.write(b ^ 0x10);
        }
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining(SHARD1).hasMessageContaining(name).hasMessageContaining("checksum");
    }

    @Test
    void aManifestLyingAboutATensorIsCaught() throws IOException {
        String name = "model/h.0.mlp.c_fc.bias@0";
        editManifest(m -> ((ArrayNode) tensor(m, name).get("shape")).set(0, 999));
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining(name).hasMessageContaining("manifest says");
    }

    @Test
    void aManifestLyingAboutByteRangesIsCaught() throws IOException {
        JsonNode m = manifest();
        String name = m.path("tensors").fieldNames().next();
        editManifest(x -> ((ArrayNode) tensor(x, name).get("data_offsets")).set(1, 1L << 40));
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining(name).hasMessageContaining("manifest says");
    }

    @Test
    void aManifestLyingAboutFileSizeIsCaught() throws IOException {
        editManifest(m -> ((ObjectNode) m.path("files").path(SHARD1)).put("bytes", 12));
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining(SHARD1).hasMessageContaining("manifest says 12");
    }

    @Test
    void pathsEscapingTheDirectoryAreRefused() throws IOException {
        Files.writeString(root.resolve("outside.safetensors"), "x");
        editManifest(m -> {
            ObjectNode files = (ObjectNode) m.path("files");
            files.set("../outside.safetensors", files.remove(SHARD1));
        });
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining("../outside.safetensors").hasMessageContaining("escapes the checkpoint directory");
    }

    @Test
    void aTensorPointingOutsideIsRefused() throws IOException {
        String name = "model/h.0.mlp.c_fc.bias@0";
        editManifest(m -> tensor(m, name).put("file", "/etc/passwd"));
        assertThatThrownBy(() -> Checkpoint.open(step(1))).isInstanceOf(TandemException.class)
                .hasMessageContaining("/etc/passwd").hasMessageContaining("escapes");
    }

    @Test
    void resumeLatestFallsBackAndSaysWhy() throws IOException {
        CkptTestSupport.save(root, job, 2, 2, CrashPoint.NONE);
        Path f = step(2).resolve(Manifest.shardName(0, 2));
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 4);
        }
        List<String> log = new ArrayList<>();
        try (Checkpoint c = Checkpoints.latest(root, log::add)) {
            assertThat(c.step()).isEqualTo(1);
        }
        assertThat(log).singleElement().asString().contains("skipping").contains("step-00000002").contains("truncated");
    }

    private JsonNode manifest() throws IOException {
        return Manifest.JSON.readTree(step(1).resolve(Manifest.FILE).toFile());
    }

    private void editManifest(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode m = (ObjectNode) manifest();
        edit.accept(m);
        Files.writeString(step(1).resolve(Manifest.FILE), m.toPrettyString());
    }

    private static ObjectNode tensor(ObjectNode m, String name) {
        JsonNode t = m.path("tensors").get(name);
        assertThat(t).as("tensor %s in manifest", name).isNotNull();
        return (ObjectNode) t;
    }

    private static String firstStateKey(JsonNode m, String file) {
        for (var it = m.path("tensors").fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getValue().path("file").asText().equals(file) && e.getValue().path("key").isTextual()) {
                return e.getValue().path("key").asText();
            }
        }
        throw new AssertionError("no optimizer state in " + file);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
