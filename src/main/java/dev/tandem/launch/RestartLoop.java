package dev.tandem.launch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a training job and, when a rank crashes, hangs or loses its peers, runs it again from the
 * newest complete checkpoint ({@code --checkpoint.resume latest}), up to {@code run.max_restarts}
 * times. Resuming is bit-exact, so a job that restarts ends with the weights of one that did not.
 * Each restart is printed and recorded in {@code <run>/restarts.json} with its cause and the work
 * it lost (the steps trained again). Failures a restart cannot fix (a bad setting, a full disk, a
 * user's interrupt; {@link RankFailure#restartable()}) end the job at once.
 */
public final class RestartLoop {
    /** Starts the job's {@code nproc} ranks with these arguments and returns when they all succeeded. */
    @FunctionalInterface
    public interface Job {
        void launch(int nproc, List<String> args);
    }

    /**
     * An elastic job's shape: on each restart it gives up data-parallel replicas, to the largest
     * count below the current one that divides {@code batchSize} into {@code microBatches} equal
     * parts per replica (the global batch, and with it the data order and the learning-rate
     * schedule, stay as they were).
     */
    public record Elastic(int batchSize, int microBatches) {
        /** The next smaller data-parallel size, or 0 when there is none. */
        int shrink(int dp) {
            for (int d = dp - 1; d >= 1; d--) if (batchSize % (d * microBatches) == 0) return d;
            return 0;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Job job;
    private final Path runDir, checkpointRoot;
    private final int maxRestarts;
    private final PrintStream out;

    private final Elastic elastic;
    private int worldSize;

    public RestartLoop(Job job, int worldSize, Path runDir, Path checkpointRoot, int maxRestarts, PrintStream out) {
        this(job, worldSize, runDir, checkpointRoot, maxRestarts, null, out);
    }

    /** @param elastic how an elastic job shrinks on restart (its world is its dp), or null to restart at the same size */
    public RestartLoop(Job job, int worldSize, Path runDir, Path checkpointRoot, int maxRestarts, Elastic elastic, PrintStream out) {
        this.elastic = elastic;
        this.worldSize = worldSize;
        this.job = job;
        this.runDir = runDir;
        this.checkpointRoot = checkpointRoot;
        this.maxRestarts = maxRestarts;
        this.out = out;
    }

    /** The launcher as the job: {@code nproc} rank processes of {@code tandem <args>}. */
    public static RestartLoop launcher(int nproc, Path runDir, Path checkpointRoot, int maxRestarts, Elastic elastic, PrintStream out) {
        return new RestartLoop(Launcher::run, nproc, runDir, checkpointRoot, maxRestarts, elastic, out);
    }

    /** Runs {@code args}; after a restartable failure, the same with {@code --checkpoint.resume latest}. */
    public void run(List<String> args) {
        List<String> attempt = args;
        ArrayNode log = JSON.createArrayNode();
        Path flight = FlightRecorder.dir(runDir);
        for (int restarts = 0; ; restarts++) {
            FlightRecorder.clear(flight);
            try {
                job.launch(worldSize, attempt);
                return;
            } catch (LaunchFailedException e) {
                RankFailure f = e.failure();
                List<String> report = FlightRecorder.report(flight, worldSize);
                report.forEach(line -> out.println("tandem: flight recorder: " + line));
                if (!f.restartable() || maxRestarts == 0) throw e;
                if (restarts == maxRestarts) {
                    throw new TandemException(e.getMessage() + " (gave up after " + maxRestarts + " restart(s), run.max_restarts)", e, 1);
                }
                long reached = lastStepReached();
                long from = newestCheckpointStep();
                String lost = from < 0 ? "no checkpoint yet: starting again from step 0" : "resuming from step " + from;
                long steps = Math.max(0, reached - Math.max(0, from));
                int world = worldSize;
                if (elastic != null) {
                    world = elastic.shrink(worldSize);
                    if (world == 0) throw new TandemException(e.getMessage() + " (run.elastic: no smaller data-parallel size divides the batch)", e, 1);
                    lost += "; continuing on " + world + " rank(s) instead of " + worldSize + " (run.elastic)";
                }
                out.printf("tandem: restart %d of %d: %s; %s (%d step(s) to train again)%n", restarts + 1, maxRestarts,
                        f.describe(), lost, steps);
                ObjectNode r = log.addObject();
                r.put("restart", restarts + 1);
                r.put("at", Instant.now().toString());
                r.put("cause", f.describe());
                r.put("rank", f.rank());
                r.put("exit_code", f.exitCode());
                r.put("hung", f.hung());
                r.put("last_step_reached", reached);
                r.put("resumed_from_step", Math.max(0, from));
                r.put("steps_lost", steps);
                r.put("world_size", worldSize);
                r.put("restarted_world_size", world);
                ArrayNode recorded = r.putArray("flight_recorder");
                report.forEach(recorded::add);
                AtomicFiles.writeString(runDir.resolve("restarts.json"), log.toPrettyString());
                // With no complete checkpoint yet (the first one may have been cut short by the fault), the job starts
                // over as it was first started: "resume latest" would rightly refuse a folder of incomplete checkpoints.
                attempt = from < 0 ? args : withResumeLatest(args);
                if (world != worldSize) {
                    attempt = new ArrayList<>(attempt);
                    attempt.addAll(List.of("--parallel.dp", Integer.toString(world)));
                    worldSize = world;
                }
            }
        }
    }

    /** {@code args} with {@code --checkpoint.resume latest} (replacing any resume it had). */
    static List<String> withResumeLatest(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String key = a.replace('-', '_');
            if (key.equals("__checkpoint.resume")) {
                i++; // and its value
                continue;
            }
            if (key.startsWith("__checkpoint.resume=")) continue;
            out.add(a);
        }
        out.addAll(List.of("--checkpoint.resume", "latest"));
        return out;
    }

    /** The step of the newest complete checkpoint, or -1. */
    private long newestCheckpointStep() {
        try (Checkpoint c = Checkpoints.latest(checkpointRoot, s -> { })) {
            return c == null ? -1 : c.step();
        }
    }

    /** The last training step the metrics log recorded, or 0. */
    private long lastStepReached() {
        Path metrics = runDir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(metrics)) return 0;
        long last = 0;
        try {
            for (String line : Files.readAllLines(metrics)) {
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("type").asText().equals("train")) last = Math.max(last, n.path("step").asLong());
                } catch (IOException cut) {
                    // a line cut short by the crash
                }
            }
        } catch (IOException e) {
            return last;
        }
        return last;
    }
}
