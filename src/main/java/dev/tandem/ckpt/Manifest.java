package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * The manifest of a checkpoint ({@code manifest.json}), written by rank 0 once every rank's shard
 * file is in place, and written last: a checkpoint directory without a valid manifest is
 * incomplete. It holds the caller's description of the run (model config, plan, optimizer, RNG and
 * data position) and, per tensor, its file, byte range, logical range and CRC32C.
 */
public final class Manifest {
    public static final String FILE = "manifest.json";
    public static final String FORMAT = "tandem-checkpoint";
    /**
     * 2: pieces of tensor-parallel parts carry a "split" (version 1 files read unchanged). 3: "plan" is
     * the plan's JSON form and "world_size" is a key of its own (the "plan" of versions 1–2 held
     * world_size, zero_stage, tensor_parallel, sequence_parallel, pipeline_parallel, micro_batches and
     * batch_size; they still load, and resume reshards them as before).
     */
    public static final int FORMAT_VERSION = 3;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Manifest() {}

    /** The shard file of {@code rank} in a job of {@code worldSize} ranks. */
    public static String shardName(int rank, int worldSize) {
        return String.format("rank-%05d-of-%05d.safetensors", rank, worldSize);
    }

    public static String version() {
        String v = Manifest.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Rank 0's commit: waits (up to {@code timeout}) until every rank's shard file of this save is
     * in {@code dir}, then writes the manifest atomically.
     *
     * @param info      the run's description (model, plan, optimizer, rng, ...), copied into the manifest
     * @param tokenizer a tokenizer.json to copy into the checkpoint, or null
     */
    static void commit(Path dir, long step, int worldSize, String saveId, ObjectNode info, Path tokenizer,
                       Duration timeout, PeerCheck peers, CrashPoint crash) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", FORMAT);
        m.put("format_version", FORMAT_VERSION);
        m.put("tandem_version", version());
        m.put("step", step);
        m.put("world_size", worldSize);
        m.setAll(info);
        ObjectNode files = m.putObject("files");
        ObjectNode tensors = m.putObject("tensors");
        for (int r = 0; r < worldSize; r++) {
            String name = shardName(r, worldSize);
            int writer = r;
            JsonNode header = awaitShard(dir.resolve(name), saveId, timeout, () -> peers.requireAlive(writer));
            ObjectNode f = files.putObject(name);
            f.put("rank", r);
            f.put("bytes", Files.size(dir.resolve(name)));
            JsonNode pieces = JSON.readTree(header.path("__metadata__").path(ShardFile.META_PIECES).asText());
            for (JsonNode p : pieces) {
                JsonNode h = header.get(p.get("name").asText());
                if (tensors.has(p.get("name").asText())) {
                    throw new IllegalStateException("tensor " + p.get("name").asText() + " saved by two ranks");
                }
                ObjectNode t = tensors.putObject(p.get("name").asText());
                t.put("file", name);
                t.set("dtype", h.get("dtype"));
                t.set("shape", h.get("shape"));
                t.set("data_offsets", h.get("data_offsets"));
                t.set("crc32c", p.get("crc32c"));
                t.set("param", p.get("param"));
                t.set("offset", p.get("offset"));
                t.set("length", p.get("length"));
                t.set("state", p.get("state"));
                t.set("key", p.get("key"));
                if (p.has("split")) t.set("split", p.get("split"));
            }
        }
        if (tokenizer != null) {
            Path tmp = dir.resolve(".tokenizer.json.tmp");
            Files.copy(tokenizer, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(ModelFiles.TOKENIZER), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            m.put("tokenizer", ModelFiles.TOKENIZER);
        }
        crash.reach("manifest:open");
        Path tmp = dir.resolve("." + FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            byte[] bytes = JSON.writeValueAsBytes(m);
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            // A crash half-way through leaves a short temp file, never a short manifest.
            ShardFile.writeFully(ch, buf.slice(0, bytes.length / 2));
            crash.reach("manifest:half");
            ShardFile.writeFully(ch, buf.slice(bytes.length / 2, bytes.length - bytes.length / 2));
            ch.force(true);
        }
        crash.reach("manifest:fsynced");
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        ShardFile.syncDirectory(dir);
        crash.reach("manifest:renamed");
    }

    /**
     * Waits for {@code file} to exist with this save's id, and returns its header; {@code writerAlive}
     * throws once the rank that writes it is known to have failed.
     */
    private static JsonNode awaitShard(Path file, String saveId, Duration timeout, Runnable writerAlive) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Files.isRegularFile(file)) {
                JsonNode header = readHeader(file);
                if (saveId.equals(header.path("__metadata__").path(ShardFile.META_SAVE_ID).asText())) return header;
            }
            writerAlive.run();
            if (System.nanoTime() > deadline) {
                throw new TandemException("checkpoint " + file.getParent() + ": " + file.getFileName()
                        + " of this save did not appear within " + timeout.toSeconds() + " s (did that rank fail?)");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TandemException("interrupted while waiting for " + file);
            }
        }
    }

    /** The JSON header of a safetensors file, without mapping its data. */
    static JsonNode readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len) >= 0) { }
            if (len.hasRemaining()) throw new TandemException(file + ": truncated (no safetensors header)");
            long n = len.flip().getLong();
            if (n <= 0 || n > (100L << 20) || 8 + n > ch.size()) throw new TandemException(file + ": corrupt header length " + n);
            ByteBuffer json = ByteBuffer.allocate((int) n);
            while (json.hasRemaining() && ch.read(json) >= 0) { }
            return JSON.readTree(new String(json.array(), StandardCharsets.UTF_8));
        }
    }
}
