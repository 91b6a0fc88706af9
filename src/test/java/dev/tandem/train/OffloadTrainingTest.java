package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training with a memory budget and the optimizer state offloaded: refused before training when
 * it cannot fit, with the smallest budget that would; at that budget it trains to the same bits
 * as in RAM, and resumes from its checkpoints to the same bits too.
 */
class OffloadTrainingTest {
    private static final int STEPS = 6;
    private static final Pattern SMALLEST = Pattern.compile("the smallest budget that fits is ([0-9.]+) MiB");

    @TempDir Path tmp;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private Trainer.Result run(String name, Map<String, String> extra) {
        Map<String, String> c = TinyRun.config(tmp, name, STEPS);
        c.putAll(extra);
        log.reset();
        return Trainer.runSingle(TrainConfig.load(null, c), new PrintStream(log, true, StandardCharsets.UTF_8), false);
    }

    private static Map<String, String> offloaded(String budget, String tier) {
        return Map.of("memory.budget", budget, "memory.tier", tier, "memory.subgroup", "64KiB", "parallel.offload", "optimizer",
                "memory.stride", "2");
    }

    /** The budget the refusal names, rounded up to whole KiB (the message shows MiB to one decimal). */
    private String smallestBudget() {
        TandemException e = org.assertj.core.api.Assertions.catchThrowableOfType(TandemException.class,
                () -> run("tiny", offloaded("256KiB", "file")));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("memory.budget 0.3 MiB is too small even with the optimizer state offloaded")
                .contains("parameters").contains("gradients").contains("activations");
        Matcher m = SMALLEST.matcher(e.getMessage());
        assertThat(m.find()).as(e.getMessage()).isTrue();
        return (long) Math.ceil((Double.parseDouble(m.group(1)) + 0.1) * 1024) + "KiB";
    }

    @Test
    void refusesBeforeTrainingNamingWhatDoesNotFitAndTheSmallestBudget() {
        smallestBudget();
        assertThat(Files.exists(tmp.resolve("tiny/metrics.jsonl"))).isFalse(); // refused before the first step
        Map<String, String> noOffload = Map.of("memory.budget", "256KiB");
        assertThatThrownBy(() -> run("ram-only", noOffload)).isInstanceOf(TandemException.class)
                .hasMessageContaining("must all be in the fast tier without offload")
                .hasMessageContaining("set parallel.offload = optimizer");
        assertThatThrownBy(() -> run("no-budget", Map.of("parallel.offload", "optimizer"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("set memory.budget");
    }

    @Test
    void offloadedTrainingMatchesInRamBitForBitOnEveryTier() throws Exception {
        Trainer.Result ram = run("ram", Map.of());
        String budget = smallestBudget();
        for (String tier : new String[] {"file", "cxl"}) {
            Trainer.Result off = run("off-" + tier, offloaded(budget, tier));
            assertThat(log.toString(StandardCharsets.UTF_8)).contains("interleaved with k = 2").contains("memory tiers:");
            for (int i = 0; i < STEPS; i++) {
                assertThat(Double.doubleToRawLongBits(off.steps().get(i).loss())).as("%s step %d", tier, i + 1)
                        .isEqualTo(Double.doubleToRawLongBits(ram.steps().get(i).loss()));
            }
            assertThat(Files.readAllBytes(off.modelDir().resolve(ModelFiles.WEIGHTS)))
                    .isEqualTo(Files.readAllBytes(ram.modelDir().resolve(ModelFiles.WEIGHTS)));
        }
    }

    @Test
    void resumesFromCheckpointsOfTheOffloadedStateBitForBit() {
        String budget = smallestBudget();
        Trainer.Result whole = run("whole", offloaded(budget, "file"));
        Map<String, String> first = new java.util.HashMap<>(offloaded(budget, "file"));
        first.put("checkpoint.every", "2");
        first.put("checkpoint.async", "true");
        first.put("run.stop_after", "3");
        run("split", first);
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("checkpoints: synchronous, since the optimizer state lives in a slower tier");
        first.put("run.stop_after", "0");
        first.put("checkpoint.resume", "latest");
        Trainer.Result rest = run("split", first);
        assertThat(rest.steps()).isNotEmpty();
        for (int i = 0; i < rest.steps().size(); i++) {
            StepMetrics r = rest.steps().get(i);
            StepMetrics w = whole.steps().get((int) r.step() - 1);
            assertThat(Double.doubleToRawLongBits(r.loss())).as("step %d", r.step()).isEqualTo(Double.doubleToRawLongBits(w.loss()));
        }
    }
}
