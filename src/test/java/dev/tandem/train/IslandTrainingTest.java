package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.ckpt.HfImport;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Low-communication training end to end, islands as rank processes (started by the launcher, as
 * {@code tandem train --parallel.islands 2 --parallel.outer diloco} does): the bytes between
 * islands are exactly the model per outer step, DiLoCo with one island and lr 1, momentum 0 is the
 * inner optimizer alone bit for bit, a resume between outer steps or right after one is bit-exact,
 * and synchronous islands match plain data parallelism.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IslandTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Parameters of TinyRun's model over the bundled 2k tokenizer, float32. */
    private static final long MODEL_BYTES = new GPTConfig(1, 2, 32, 2048, 32, false).totalParameters() * 4;
    @TempDir static Path runs;

    private static Map<String, String> cfg(String name, int steps, String plan) {
        Map<String, String> c = TinyRun.config(runs, name, steps);
        c.put("parallel.plan", plan);
        return c;
    }

    private static void launch(int nproc, Map<String, String> cfg) {
        TinyRun.launch(nproc, cfg);
    }

    /** The train lines of a run's metrics log (rank 0: island 0). */
    private static List<JsonNode> steps(String name) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) out.add(n);
        }
        return out;
    }

    private static List<Double> losses(String name) throws Exception {
        return steps(name).stream().map(n -> n.get("loss").asDouble()).toList();
    }

    private static byte[] weights(String name) throws Exception {
        return Files.readAllBytes(runs.resolve(name).resolve("model").resolve(ModelFiles.WEIGHTS));
    }

    @Test
    void dilocoOnOneIslandWithLrOneAndNoMomentumIsTheInnerOptimizerAlone() throws Exception {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Trainer.Result alone = Trainer.runSingle(TrainConfig.load(null, TinyRun.config(runs, "alone", 8)), quiet, false);
        Trainer.Result outer = Trainer.runSingle(TrainConfig.load(null, cfg("outer-identity", 8, "outer=diloco outer_steps=3 outer_lr=1 "
                + "outer_momentum=0")), quiet, false);
        assertThat(outer.steps().stream().map(StepMetrics::loss).toList()).isEqualTo(alone.steps().stream().map(StepMetrics::loss).toList());
        assertThat(weights("outer-identity")).isEqualTo(weights("alone"));
    }

    /**
     * What {@code bench lowcomm} relies on when every row starts from a pretrained model: DiLoCo from
     * a model directory ({@code model.init_from}) takes that model as its first outer weights θ₀, not
     * the seed's fresh model. One island, outer lr 0.5 and no momentum: after the one outer step the
     * weights are φ + 0.5·(θ₀ − φ), φ the weights the inner optimizer alone reaches from θ₀.
     */
    @Test
    void dilocoFromAModelDirectoryStartsItsOuterWeightsAtThatModel() throws Exception {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Trainer.runSingle(TrainConfig.load(null, TinyRun.config(runs, "pretrained", 6)), quiet, false);
        Path start = runs.resolve("pretrained").resolve("model");
        Map<String, String> alone = TinyRun.config(runs, "from-start-alone", 3);
        alone.put("model.init_from", start.toString());
        Map<String, String> outer = cfg("from-start-outer", 3, "outer=diloco outer_steps=3 outer_lr=0.5 outer_momentum=0");
        outer.put("model.init_from", start.toString());
        Trainer.runSingle(TrainConfig.load(null, alone), quiet, false);
        Trainer.runSingle(TrainConfig.load(null, outer), quiet, false);
        try (GPT theta0 = model(start); GPT phi = model(runs.resolve("from-start-alone").resolve("model"));
             GPT theta1 = model(runs.resolve("from-start-outer").resolve("model"))) {
            double moved = 0;
            for (int p = 0; p < theta0.parameters().size(); p++) {
                MemorySegment t0 = theta0.parameters().get(p).value().data(), f = phi.parameters().get(p).value().data();
                MemorySegment t1 = theta1.parameters().get(p).value().data();
                for (long i = 0; i < theta0.parameters().get(p).value().numel(); i++) {
                    float a = t0.getAtIndex(ValueLayout.JAVA_FLOAT, i), b = f.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    assertThat(t1.getAtIndex(ValueLayout.JAVA_FLOAT, i)).as("%s[%d]", theta0.parameters().get(p).name(), i)
                            .isCloseTo(b + 0.5f * (a - b), within(1e-6f));
                    moved = Math.max(moved, Math.abs(a - b));
                }
            }
            assertThat(moved).as("the inner steps moved the weights, so θ₀ = φ would fail").isGreaterThan(1e-4);
        }
    }

    private static GPT model(Path dir) throws Exception {
        return HfImport.weights(dir, HfImport.config(dir));
    }

    /** Sum of a run's cross-island bytes; every step but the multiples of {@code h} sends nothing. */
    private static long crossIslandBytes(String name, int h) throws Exception {
        long sum = 0;
        for (JsonNode n : steps(name)) {
            long b = n.get("cross_island_bytes").asLong();
            if (n.get("step").asLong() % h != 0) assertThat(b).as("step %s", n.get("step")).isZero();
            sum += b;
        }
        return sum;
    }

    /**
     * One uninterrupted run, and the same run stopped after {@code stops} and resumed from the latest
     * checkpoint each time: the same losses and final weights, bit for bit.
     */
    private static void assertResumesBitExactly(String plan, int steps, String whole, String split, int... stops) throws Exception {
        Map<String, String> c = cfg(split, steps, plan);
        c.put("checkpoint.every", "2");
        for (int stop : stops) {
            c.put("run.stop_after", Integer.toString(stop));
            launch(2, c);
            c.put("checkpoint.resume", "latest");
        }
        assertThat(runs.resolve(split).resolve("checkpoints").resolve("island-1")).isDirectory();
        c.remove("run.stop_after");
        launch(2, c);
        assertThat(losses(split)).isEqualTo(losses(whole));
        assertThat(weights(split)).isEqualTo(weights(whole));
    }

    @Test
    void dilocoSendsTheModelPerOuterStepAndResumesBitExactlyBetweenOuterStepsAndRightAfterOne() throws Exception {
        String plan = "islands=2 outer=diloco outer_steps=3";
        launch(2, cfg("diloco", 8, plan));
        assertThat(losses("diloco")).hasSize(8);
        // A mean over 2 islands (a ring of two sends each rank's whole buffer once) after steps 3 and 6.
        assertThat(crossIslandBytes("diloco", 3)).isEqualTo(MODEL_BYTES * 2);
        // Stopped after 4 (between the outer steps after 3 and 6), then after 6 (right after one).
        assertResumesBitExactly(plan, 8, "diloco", "diloco-split", 4, 6);
    }

    @Test
    void nolocoSendsTheModelPerPairAndResumesBitExactly() throws Exception {
        String plan = "islands=2 outer=noloco outer_steps=3";
        launch(2, cfg("noloco", 8, plan));
        // One pair of islands: each rank sends its weights to its peer once per outer step (after 3 and 6).
        assertThat(crossIslandBytes("noloco", 3)).isEqualTo(MODEL_BYTES * 2);
        // Each island evaluates its own model (they differ two steps after the last pairing): the mean is logged.
        JsonNode eval = lastEval("noloco");
        double a = eval.get("val_loss_per_island").get(0).asDouble(), b = eval.get("val_loss_per_island").get(1).asDouble();
        assertThat(eval.get("val_loss_per_island")).hasSize(2);
        assertThat(a).isNotEqualTo(b);
        assertThat(eval.get("val_loss").asDouble()).isCloseTo((a + b) / 2, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(eval.get("train_loss_islands").asDouble()).isPositive();
        assertResumesBitExactly(plan, 8, "noloco", "noloco-split", 5);
    }

    @Test
    void synchronousIslandsMatchDataParallelism() throws Exception {
        // The same global batch split two ways either way; only the order of the float sums differs.
        // The logged training loss is island 0's half of the batch, so the trained models are compared,
        // through the validation loss at the end (tolerance of ZeroParityTest, 2e-5 relative).
        launch(2, cfg("dp2", 8, "dp=2"));
        launch(2, cfg("sync2", 8, "islands=2 outer=sync"));
        double dp = valLoss("dp2"), sync = valLoss("sync2");
        assertThat(Math.abs(sync - dp) / dp).isLessThan(2e-5);
        assertThat(crossIslandBytes("sync2", 1)).isEqualTo(MODEL_BYTES * 8); // the gradients, every step
    }

    private static double valLoss(String name) throws Exception {
        return lastEval(name).get("val_loss").asDouble();
    }

    private static JsonNode lastEval(String name) throws Exception {
        JsonNode last = null;
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("eval")) last = n;
        }
        return last;
    }
}
