package dev.tandem.train;

import dev.tandem.launch.Launcher;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The config of a small training run for tests, as {@code section.key} overrides: one layer of
 * width 32 over 32 tokens, batches of 8, one thread, no evaluation before the end, files under
 * {@code runs}. A test puts what it varies on top; the map is its own to change.
 */
public final class TinyRun {
    private TinyRun() {}

    public static Map<String, String> config(Path runs, String name, int steps) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model.n_layer", "1");
        m.put("model.n_head", "2");
        m.put("model.n_embd", "32");
        m.put("model.block_size", "32");
        m.put("data.batch_size", "8");
        m.put("run.steps", Integer.toString(steps));
        m.put("optim.warmup_steps", "2");
        m.put("optim.lr", "3e-3");
        m.put("eval.every", "0");
        m.put("eval.batches", "1");
        m.put("run.log_every", "1000");
        m.put("run.name", name);
        m.put("run.runs_dir", runs.toString());
        m.put("run.threads", "1");
        return m;
    }

    /** {@code tandem train} with {@code cfg} as {@code --key value} overrides: what each rank process runs. */
    public static List<String> args(Map<String, String> cfg) {
        List<String> args = new ArrayList<>(List.of("train"));
        cfg.forEach((k, v) -> args.addAll(List.of("--" + k, v)));
        return args;
    }

    /**
     * Trains {@code cfg} on {@code nproc} rank processes started by the launcher, their output
     * captured; a failure is an AssertionError that shows it. Returns the output.
     */
    public static String launch(int nproc, Map<String, String> cfg) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true);
        try {
            new Launcher(ps, ps, Duration.ofSeconds(2)).launch(nproc, args(cfg), Map.of());
        } catch (RuntimeException e) {
            throw new AssertionError("launch failed:\n" + log, e);
        }
        return log.toString();
    }
}
