package dev.tandem.launch.chaos;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training every chaos trial runs: {@code tandem train} with {@code overrides}
 * ({@code section.key} → value) on {@code nproc} ranks, checkpoints and restarts on, each trial's
 * files under {@code runsDir/<trial name>}; a slow rank computes {@code slowdown} times slower.
 */
public record ChaosJob(int nproc, Map<String, String> overrides, Path runsDir, int maxRestarts, double slowdown) {
    public ChaosJob {
        overrides = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /**
     * The drill's job: a two-layer model of width 64 on {@code nproc} data-parallel ranks, one thread
     * each, a checkpoint every 4 steps, up to 3 restarts, no evaluation and no link probes.
     */
    public static ChaosJob small(int nproc, int steps, Path runsDir, double slowdown) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model.n_layer", "2");
        m.put("model.n_head", "2");
        m.put("model.n_embd", "64");
        m.put("model.block_size", "64");
        m.put("data.batch_size", Integer.toString(4 * nproc));
        m.put("parallel.dp", Integer.toString(nproc));
        m.put("run.steps", Integer.toString(steps));
        m.put("run.threads", "1");
        m.put("run.log_every", "1000");
        m.put("run.link_probe_every", "0");
        m.put("eval.every", "0");
        m.put("eval.batches", "1");
        m.put("checkpoint.every", "4");
        return new ChaosJob(nproc, m, runsDir, 3, slowdown);
    }

    List<String> args(String name) {
        List<String> args = new ArrayList<>(List.of("train"));
        overrides.forEach((k, v) -> args.addAll(List.of("--" + k, v)));
        args.addAll(List.of("--run.name", name, "--run.runs_dir", runsDir.toString(), "--run.max_restarts", Integer.toString(maxRestarts)));
        return args;
    }

    Path runDir(String name) {
        return runsDir.resolve(name);
    }

    Path checkpointRoot(String name) {
        return runDir(name).resolve("checkpoints");
    }

    Path weights(String name) {
        return runDir(name).resolve("model").resolve("model.safetensors");
    }
}
