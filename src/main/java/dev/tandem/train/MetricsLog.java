package dev.tandem.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.comm.health.LinkClassifier;
import dev.tandem.comm.health.SlowRankDetector;
import dev.tandem.io.AtomicFiles;
import dev.tandem.tensor.MemoryCategory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Appends one JSON object per line to {@code runs/<name>/metrics.jsonl}, flushed per line: the listener every run has. */
public final class MetricsLog implements TrainingListener {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final FileChannel out;

    /**
     * @param resumedAt the step a resumed run continues from, or -1 for a new run (a new file). A
     *                  resumed run keeps the records up to that step and drops later ones, which
     *                  the run is about to repeat, so that every step appears once.
     */
    MetricsLog(Path file, long resumedAt) throws IOException {
        this.file = file;
        if (resumedAt >= 0 && Files.isRegularFile(file)) keepThrough(file, resumedAt);
        this.out = resumedAt >= 0
                ? FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        out.position(out.size());
    }

    /**
     * Rewrites {@code file} with the whole records of steps up to {@code step} only (atomically, so a
     * crash loses nothing); a line cut short by an earlier crash is dropped.
     */
    private static void keepThrough(Path file, long step) throws IOException {
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            JsonNode record;
            try {
                record = JSON.readTree(line);
            } catch (IOException e) {
                continue; // a line cut short when the previous run was killed
            }
            if (record.path("step").asLong() <= step) kept.add(line);
        }
        AtomicFiles.write(file, tmp -> Files.write(tmp, kept));
    }

    @Override
    public void step(StepMetrics m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "train");
        n.put("step", m.step());
        n.put("loss", m.loss());
        n.put("grad_norm", m.gradNorm());
        n.put("lr", m.lr());
        n.put("step_ms", m.stepMs());
        n.put("tokens_per_s", m.tokensPerSecond());
        n.put("mfu", m.mfu());
        n.put("comm_wait_ms", m.commWaitMs());
        if (m.crossIslandBytes() != StepMetrics.NO_ISLANDS) n.put("cross_island_bytes", m.crossIslandBytes());
        if (m.health() != null) {
            ObjectNode h = n.putObject("health");
            h.put("timed_step", m.health().timedStep());
            ArrayNode window = h.putArray("window_ms"), inOps = h.putArray("in_ops_ms");
            for (double v : m.health().windowMs()) window.add(v);
            for (double v : m.health().inOpsMs()) inOps.add(v);
            ArrayNode slow = h.putArray("slow_ranks");
            for (SlowRankDetector.SlowRank r : m.health().slow()) {
                slow.addObject().put("rank", r.rank()).put("slowdown", r.slowdown()).put("extra_ms", r.extraMs()).put("since_step", r.sinceStep());
            }
            if (m.health().links() != null) {
                ArrayNode links = h.putArray("links");
                for (LinkClassifier.LinkFault f : m.health().links()) {
                    ObjectNode o = links.addObject().put("kind", f.label()).put("rank", f.a());
                    if (f.b() >= 0) o.put("peer", f.b());
                    o.put("rtt_ms", f.rttMs()).put("ratio", f.ratio());
                }
            }
        }
        if (m.router() != null) {
            ObjectNode r = n.putObject("router");
            var tokens = r.putArray("tokens_per_expert");
            for (long t : m.router().tokensPerExpert()) tokens.add(t);
            r.put("dropped", m.router().dropped());
            r.put("assignments", m.router().assignments());
            r.put("aux_loss", m.router().auxLoss());
            r.put("z_loss", m.router().zLoss());
            r.put("busiest_over_mean", m.router().busiestOverMean());
            r.put("expert_bytes_sent_per_rank", m.router().expertBytesPerRank());
            r.put("rank_load_max_over_mean", m.router().rankLoadMaxOverMean());
        }
        ObjectNode mem = n.putObject("memory_bytes");
        for (Map.Entry<MemoryCategory, Long> e : m.memoryBytes().entrySet()) {
            mem.put(e.getKey().name().toLowerCase(Locale.ROOT), e.getValue());
        }
        write(n);
    }

    @Override
    public void eval(EvalMetrics m) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "eval");
        n.put("step", m.step());
        n.put("val_loss", m.loss());
        if (Double.isNaN(m.bitsPerByte())) n.putNull("val_bits_per_byte"); // token ids without a tokenizer
        else n.put("val_bits_per_byte", m.bitsPerByte());
        n.put("tokens", m.tokens());
        if (m.islandLosses().length > 0) {
            var each = n.putArray("val_loss_per_island");
            for (double l : m.islandLosses()) each.add(l);
            n.put("train_loss_islands", m.islandsTrainLoss());
        }
        write(n);
    }

    /**
     * Appends one record as one whole line: if the write fails part-way (a full disk), the file is cut
     * back to where it was, so it never holds half a line.
     */
    private void write(ObjectNode n) {
        long before = -1;
        try {
            byte[] line = (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
            before = out.position();
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) out.write(buf);
        } catch (IOException e) {
            try {
                if (before >= 0) {
                    out.truncate(before);
                    out.position(before);
                }
            } catch (IOException ignored) {
                // the record is lost either way; the next run's resume drops a cut line
            }
            throw AtomicFiles.failure(file, e);
        }
    }

    /** The training-step records of a run's metrics.jsonl, in order (for benchmarks that run the trainer). */
    public static List<JsonNode> trainSteps(Path file) {
        ObjectMapper json = new ObjectMapper();
        try {
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                var record = json.readTree(line);
                if (record.path("type").asText().equals("train")) out.add(record);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw AtomicFiles.failure(file, e);
        }
    }
}
