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
    /** Starts the job's ranks with these arguments and returns when they all succeeded. */
    @FunctionalInterface
    public interface Job {
        void launch(List<String> args);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Job job;
    private final Path runDir, checkpointRoot;
    private final int maxRestarts;
    private final PrintStream out;

    private final int worldSize;

    public RestartLoop(Job job, int worldSize, Path runDir, Path checkpointRoot, int maxRestarts, PrintStream out) {
        this.worldSize = worldSize;
        this.job = job;
        this.runDir = runDir;
        this.checkpointRoot = checkpointRoot;
        this.maxRestarts = maxRestarts;
        this.out = out;
    }

    /** The launcher as the job: {@code nproc} rank processes of {@code tandem <args>}. */
    public static RestartLoop launcher(int nproc, Path runDir, Path checkpointRoot, int maxRestarts, PrintStream out) {
        return new RestartLoop(args -> Launcher.run(nproc, args), nproc, runDir, checkpointRoot, maxRestarts, out);
    }

    /** Runs {@code args}; after a restartable failure, the same with {@code --checkpoint.resume latest}. */
    public void run(List<String> args) {
        List<String> attempt = args;
        ArrayNode log = JSON.createArrayNode();
        Path flight = FlightRecorder.dir(runDir);
        for (int restarts = 0; ; restarts++) {
            FlightRecorder.clear(flight);
            try {
                job.launch(attempt);
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
                ArrayNode recorded = r.putArray("flight_recorder");
                report.forEach(recorded::add);
                AtomicFiles.writeString(runDir.resolve("restarts.json"), log.toPrettyString());
                // With no complete checkpoint yet (the first one may have been cut short by the fault), the job starts
                // over as it was first started: "resume latest" would rightly refuse a folder of incomplete checkpoints.
                attempt = from < 0 ? args : withResumeLatest(args);
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
