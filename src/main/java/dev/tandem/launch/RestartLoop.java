package dev.tandem.launch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.io.AtomicFiles;
import dev.tandem.train.SlowRankEviction;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Runs a training job and, when a rank crashes, hangs or loses its peers, runs it again from the
 * newest complete checkpoint ({@code --checkpoint.resume latest}), up to {@code run.max_restarts}
 * times. Resuming is bit-exact, so a job that restarts ends with the weights of one that did not.
 * Each restart is printed and recorded in {@code <run>/restarts.json} with its cause and the work
 * it lost (the steps trained again). Failures a restart cannot fix (a bad setting, a full disk, a
 * user's interrupt; {@link RankFailure#restartable()}) end the job at once.
 */
public final class RestartLoop {
    /** Starts the job's {@code nproc} ranks with these arguments and extra environment; returns when they all succeeded. */
    @FunctionalInterface
    public interface Job {
        void launch(int nproc, List<String> args, Map<String, String> env);
    }

    /**
     * The places the ranks run in, in rank order ({@code 0,2}: rank 0 in the job's first place,
     * rank 1 in its third), passed to every rank. A place is where a rank of the first attempt
     * ran; an elastic restart gives up the failed or slow rank's place and keeps the others'.
     * What a place is depends on the launcher: on one host it carries the fault drill
     * ({@link dev.tandem.train.FaultDrill}), with a cluster launcher it would be the node.
     */
    public static final String PLACES_ENV = "TANDEM_PLACES";

    /**
     * An elastic job's shape: on each restart it gives up data-parallel replicas, to the largest
     * count below the current one that divides {@code batchSize} into {@code microBatches} equal
     * parts per replica (the global batch, and with it the data order and the learning-rate
     * schedule, stay as they were). A replica is {@code replicaWidth}·{@code stages} ranks: the
     * tensor- and context-parallel ranks of a stage ({@code replicaWidth}, the fastest axes) in
     * each of {@code stages} pipeline stages (the slowest), as the plan lays ranks out
     * ({@link dev.tandem.plan.MeshShape}).
     */
    public record Elastic(int batchSize, int microBatches, int replicaWidth, int stages) {
        /** The next smaller data-parallel size, or 0 when there is none. */
        int shrink(int dp) {
            for (int d = dp - 1; d >= 1; d--) if (batchSize % (d * microBatches) == 0) return d;
            return 0;
        }

        int dp(int worldSize) {
            return worldSize / (replicaWidth * stages);
        }

        /**
         * The places of a job of {@code dp'} replicas made from {@code places} (a job of
         * {@code dp} replicas, in rank order) without the replica of rank {@code culprit}, and
         * without the last replicas when it shrinks by more than one; still in rank order.
         */
        List<Integer> without(List<Integer> places, int culprit, int dp, int smallerDp) {
            int gone = (culprit / replicaWidth) % dp;
            List<Integer> kept = new ArrayList<>();
            for (int d = 0; d < dp && kept.size() < smallerDp; d++) if (d != gone) kept.add(d);
            List<Integer> out = new ArrayList<>();
            for (int s = 0; s < stages; s++) {
                for (int d : kept) {
                    for (int i = 0; i < replicaWidth; i++) out.add(places.get((s * dp + d) * replicaWidth + i));
                }
            }
            return out;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Job job;
    private final Path runDir, checkpointRoot;
    private final int maxRestarts;
    private final PrintStream out;

    private final Elastic elastic;
    private int worldSize;
    private final List<Integer> places = new ArrayList<>();

    public RestartLoop(Job job, int worldSize, Path runDir, Path checkpointRoot, int maxRestarts, PrintStream out) {
        this(job, worldSize, runDir, checkpointRoot, maxRestarts, null, out);
    }

    /** @param elastic how an elastic job shrinks on restart, or null to restart at the same size */
    public RestartLoop(Job job, int worldSize, Path runDir, Path checkpointRoot, int maxRestarts, Elastic elastic, PrintStream out) {
        this.elastic = elastic;
        this.worldSize = worldSize;
        this.job = job;
        this.runDir = runDir;
        this.checkpointRoot = checkpointRoot;
        this.maxRestarts = maxRestarts;
        this.out = out;
        for (int r = 0; r < worldSize; r++) places.add(r);
    }

    /** The launcher as the job: {@code nproc} rank processes of {@code tandem <args>}. */
    public static RestartLoop launcher(int nproc, Path runDir, Path checkpointRoot, int maxRestarts, Elastic elastic, PrintStream out) {
        return new RestartLoop((n, args, env) -> new Launcher(System.out, System.err, Duration.ofSeconds(2)).launch(n, args, env), nproc, runDir, checkpointRoot, maxRestarts, elastic, out);
    }

    /** Runs {@code args}; after a restartable failure, the same with {@code --checkpoint.resume latest}. */
    public void run(List<String> args) {
        List<String> attempt = args;
        ArrayNode log = JSON.createArrayNode();
        Path flight = FlightRecorder.dir(runDir);
        for (int restarts = 0; ; restarts++) {
            FlightRecorder.clear(flight);
            try {
                job.launch(worldSize, attempt, Map.of(PLACES_ENV, places.stream().map(String::valueOf).collect(Collectors.joining(","))));
                return;
            } catch (LaunchFailedException e) {
                RankFailure f = e.failure();
                // Every rank stops on purpose, at the same step, to leave a slow one out: the verdict names it.
                var verdict = f.exitCode() == SlowRankEviction.EXIT_CODE ? SlowRankEviction.take(runDir) : Optional.<SlowRankEviction.Verdict>empty();
                List<String> report = verdict.isPresent() ? List.of() : FlightRecorder.report(flight, worldSize);
                report.forEach(line -> out.println("tandem: flight recorder: " + line));
                if (verdict.isEmpty() && (!f.restartable() || maxRestarts == 0)) throw e;
                if (verdict.isPresent() && elastic == null) {
                    throw new TandemException(verdict.get().describe() + ", but only an elastic job (run.elastic) can go on without it", e, 1);
                }
                if (restarts == maxRestarts) {
                    throw new TandemException(e.getMessage() + " (gave up after " + maxRestarts + " restart(s), run.max_restarts)", e, 1);
                }
                long reached = lastStepReached();
                long from = newestCheckpointStep();
                String lost = from < 0 ? "no checkpoint yet: starting again from step 0" : "resuming from step " + from;
                long steps = Math.max(0, reached - Math.max(0, from));
                int world = worldSize;
                int culprit = verdict.map(SlowRankEviction.Verdict::rank).orElse(f.rank());
                String cause = verdict.map(SlowRankEviction.Verdict::describe).orElse(f.describe());
                int dp = 0, smallerDp = 0;
                if (elastic != null) {
                    dp = elastic.dp(worldSize);
                    smallerDp = elastic.shrink(dp);
                    if (smallerDp == 0) throw new TandemException(e.getMessage() + " (run.elastic: no smaller data-parallel size divides the batch)", e, 1);
                    world = worldSize / dp * smallerDp;
                    lost += String.format("; continuing on %d rank(s) instead of %d, without %s (run.elastic)", world, worldSize,
                            elastic.replicaWidth() * elastic.stages() == 1 ? "rank " + culprit + "'s place (" + places.get(culprit) + ")"
                                    : "the data-parallel replica of rank " + culprit + " (place " + places.get(culprit) + ")");
                }
                out.printf("tandem: restart %d of %d: %s; %s (%d step(s) to train again)%n", restarts + 1, maxRestarts, cause, lost, steps);
                ObjectNode r = log.addObject();
                r.put("restart", restarts + 1);
                r.put("at", Instant.now().toString());
                r.put("cause", cause);
                r.put("slow_rank_left_out", verdict.isPresent());
                r.put("rank", culprit);
                r.put("place", places.get(culprit));
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
                    attempt.addAll(List.of("--parallel.dp", Integer.toString(smallerDp)));
                    List<Integer> kept = elastic.without(places, culprit, dp, smallerDp);
                    places.clear();
                    places.addAll(kept);
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
