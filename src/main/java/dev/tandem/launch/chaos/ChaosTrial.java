package dev.tandem.launch.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Manifest;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.RestartLoop;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One chaos trial: a short multi-rank training with checkpoints and automatic restarts, one fault
 * injected into one rank process from outside (a signal, as a failing machine would), then the
 * record of what detection and recovery made of it. Ranks are children of this process (the
 * launcher runs here); a rank's process is found by the {@code RANK} in its environment.
 */
public final class ChaosTrial {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Heartbeat timeout of the trial's ranks: a hang is declared after this long. */
    static final Duration HEARTBEAT = Duration.ofSeconds(5);

    private final ChaosJob job;

    public ChaosTrial(ChaosJob job) {
        this.job = job;
    }

    /** Runs the job with no fault and returns the bytes of its final weights: what every trial must end with. */
    public byte[] reference(String name) throws IOException {
        run(name, Map.of());
        return Files.readAllBytes(job.weights(name));
    }

    /**
     * Runs the job under {@code name} with {@code fault} injected into {@code rank} after step {@code atStep}
     * (a slow rank is slow from the start) and compares the final weights with {@code reference}.
     */
    public TrialResult run(String name, Fault fault, int rank, long atStep, byte[] reference) throws IOException {
        Map<String, String> env = new HashMap<>();
        if (fault == Fault.SLOW) env.put("TANDEM_DRILL_SLOW", rank + ":" + job.slowdown());
        Path runDir = job.runDir(name);
        Injector injector = fault == Fault.SLOW ? null : new Injector(fault, rank, atStep, runDir, job.checkpointRoot(name));
        if (injector != null) injector.start();
        TimedLines log = new TimedLines();
        boolean finished;
        try {
            finished = run(name, env, log);
        } finally {
            if (injector != null) injector.stopWatching();
        }
        boolean equal = finished && Files.isRegularFile(job.weights(name)) && Arrays.equals(Files.readAllBytes(job.weights(name)), reference);
        int corrupt = corruptCheckpoints(job.checkpointRoot(name));
        if (fault == Fault.SLOW) return slowResult(name, rank, equal, corrupt);
        JsonNode restart = firstRestart(runDir);
        if (restart == null || injector.injectedAt() == 0) {
            return new TrialResult(fault, rank, atStep, false, "-", -1, -1, -1, 0, corrupt, equal);
        }
        String cls = restart.path("hung").asBoolean() ? "hung" : "crashed";
        double detect = (log.firstAt("tandem: restart 1") - injector.injectedAt()) / 1e9;
        long restartAt = log.firstAt("tandem: restart 1");
        long resumedAt = injector.firstStepAfterRestart(restartAt, restart.path("resumed_from_step").asLong());
        double recover = resumedAt < 0 ? -1 : (resumedAt - restartAt) / 1e9;
        return new TrialResult(fault, rank, injector.injectedStep(), true, cls, restart.path("rank").asInt(), detect, recover,
                restart.path("steps_lost").asLong(), corrupt, equal);
    }

    /** Trains {@code name}; true when it finished (after any restarts). */
    private boolean run(String name, Map<String, String> env, TimedLines log) {
        Map<String, String> childEnv = new HashMap<>(env);
        childEnv.put("TANDEM_HEARTBEAT_TIMEOUT", Long.toString(HEARTBEAT.toSeconds()));
        PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
        RestartLoop loop = new RestartLoop((nproc, args, places) -> new Launcher(out, out, Duration.ofSeconds(2)).launch(nproc, args,
                Launcher.env(childEnv, places)),
                job.nproc(), job.runDir(name), job.checkpointRoot(name), job.maxRestarts(), out);
        try {
            loop.run(job.args(name));
            return true;
        } catch (TandemException e) { // the launcher gave up (LaunchFailedException) or refused to restart
            log.note("trial ended: " + e.getMessage());
            return false;
        }
    }

    private boolean run(String name, Map<String, String> env) {
        return run(name, env, new TimedLines());
    }

    /** A slow rank: detected when the metrics flag it; the seconds are those the job trained until the flag. */
    private TrialResult slowResult(String name, int rank, boolean equal, int corrupt) throws IOException {
        double ms = 0;
        for (JsonNode n : records(job.runDir(name))) {
            ms += n.path("step_ms").asDouble();
            for (JsonNode s : n.path("health").path("slow_ranks")) {
                return new TrialResult(Fault.SLOW, rank, 0, true, "slow", s.path("rank").asInt(), ms / 1e3, -1, 0, corrupt, equal);
            }
        }
        return new TrialResult(Fault.SLOW, rank, 0, false, "-", -1, -1, -1, 0, corrupt, equal);
    }

    static List<JsonNode> records(Path runDir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        Path metrics = runDir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(metrics)) return out;
        for (String line : Files.readAllLines(metrics)) {
            try {
                JsonNode n = JSON.readTree(line);
                if (n.path("type").asText().equals("train")) out.add(n);
            } catch (IOException e) {
                // a line cut short by a kill; the resumed run drops it
            }
        }
        return out;
    }

    private static JsonNode firstRestart(Path runDir) throws IOException {
        Path f = runDir.resolve("restarts.json");
        if (!Files.isRegularFile(f)) return null;
        JsonNode all = JSON.readTree(f.toFile());
        return all.isArray() && !all.isEmpty() ? all.get(0) : null;
    }

    /** Committed checkpoints (a manifest was written) that do not open and verify. */
    static int corruptCheckpoints(Path root) throws IOException {
        if (!Files.isDirectory(root)) return 0;
        int corrupt = 0;
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.filter(p -> p.getFileName().toString().matches("step-\\d+")).toList()) {
                if (!Files.isRegularFile(d.resolve(Manifest.FILE))) continue;
                try (Checkpoint c = Checkpoint.open(d)) {
                    c.step();
                } catch (TandemException e) {
                    corrupt++;
                }
            }
        }
        return corrupt;
    }

    /** The launcher's output, with the time each line arrived. */
    static final class TimedLines extends OutputStream {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private final List<String> lines = new ArrayList<>();
        private final List<Long> times = new ArrayList<>();

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                lines.add(line.toString(StandardCharsets.UTF_8));
                times.add(System.nanoTime());
                line.reset();
            } else {
                line.write(b);
            }
        }

        synchronized void note(String s) {
            lines.add(s);
            times.add(System.nanoTime());
        }

        /** When the first line containing {@code text} arrived (System.nanoTime), or 0. */
        synchronized long firstAt(String text) {
            for (int i = 0; i < lines.size(); i++) if (lines.get(i).contains(text)) return times.get(i);
            return 0;
        }
    }
}
