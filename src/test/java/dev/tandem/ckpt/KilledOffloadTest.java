package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.TandemException;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training process whose optimizer state lives in the file tier, checkpointing every step, is
 * killed with SIGKILL while it trains (its I/O thread writes state back during every step, so the
 * kill lands amid tier traffic, and the tier file is left as it was), then resumed from {@code
 * latest}: the steps after the resume give the same bits as a run that was never stopped and
 * kept its state in RAM. The tier file is scratch; the checkpoint is the source of truth.
 */
class KilledOffloadTest {
    @TempDir Path runs;

    private Map<String, String> config(String name, String budget) {
        Map<String, String> c = new LinkedHashMap<>(Map.of("model.n_layer", "1", "model.n_head", "2", "model.n_embd", "64",
                "model.block_size", "32", "data.batch_size", "4", "run.steps", "10000", "eval.every", "0", "eval.batches", "1",
                "run.log_every", "1", "run.threads", "1"));
        c.put("run.name", name);
        c.put("run.runs_dir", runs.toString());
        c.put("run.tensorboard", "false");
        if (budget != null) {
            c.putAll(Map.of("memory.budget", budget, "parallel.offload", "optimizer", "memory.tier", "file", "memory.subgroup", "32KiB",
                    "memory.stride", "2", "checkpoint.every", "1", "checkpoint.keep_last", "3"));
        }
        return c;
    }

    private List<String> child(Map<String, String> cfg) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-javaagent")) cmd.add(a);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.cli.Main", "train"));
        cfg.forEach((k, v) -> cmd.addAll(List.of("--" + k, v)));
        return cmd;
    }

    private static Trainer.Result train(Map<String, String> cfg) {
        return Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(new ByteArrayOutputStream(), true), false);
    }

    /** The smallest budget the runtime accepts for this model with the moments offloaded (from its refusal), rounded up to KiB. */
    private String smallestBudget() {
        try {
            train(config("probe", "64KiB"));
        } catch (TandemException e) {
            Matcher m = Pattern.compile("the smallest budget that fits is ([0-9.]+) MiB").matcher(e.getMessage());
            assertThat(m.find()).as(e.getMessage()).isTrue();
            return (long) Math.ceil(Double.parseDouble(m.group(1)) * 1024) + "KiB";
        }
        throw new AssertionError("a 64 KiB budget was accepted");
    }

    @Test
    void killedAmidTierTrafficResumesToTheSameBitsAsInRam() throws Exception {
        Map<String, String> cfg = config("killed", smallestBudget());
        Path root = runs.resolve("killed/checkpoints");
        Process p = new ProcessBuilder(child(cfg)).redirectErrorStream(true).redirectOutput(runs.resolve("child.log").toFile()).start();
        try {
            while (p.isAlive() && Checkpoints.newestFirst(root).stream().noneMatch(d -> Checkpoints.stepOf(d) >= 4
                    && Files.exists(d.resolve(Manifest.FILE)))) {
                Thread.sleep(20);
            }
            assertThat(p.isAlive()).as("child exited early: %s", Files.readString(runs.resolve("child.log"))).isTrue();
            assertThat(Files.readString(runs.resolve("child.log"))).contains("slow tier file-pread");
        } finally {
            p.destroyForcibly();
            p.waitFor(60, TimeUnit.SECONDS);
        }
        long newest = Checkpoints.newestFirst(root).stream().mapToLong(Checkpoints::stepOf).max().orElseThrow();
        cfg.put("checkpoint.resume", "latest");
        cfg.put("run.stop_after", Long.toString(newest + 3));
        Trainer.Result resumed = train(cfg);
        Map<String, String> ram = config("ram", null);
        ram.put("run.stop_after", Long.toString(newest + 3));
        List<StepMetrics> reference = train(ram).steps();
        assertThat(resumed.steps()).isNotEmpty();
        for (StepMetrics s : resumed.steps()) {
            assertThat(Double.doubleToRawLongBits(s.loss())).as("step %d", s.step())
                    .isEqualTo(Double.doubleToRawLongBits(reference.get((int) s.step() - 1).loss()));
        }
    }
}
