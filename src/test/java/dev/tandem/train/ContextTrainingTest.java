package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Context parallelism through the trainer ({@code tandem train --parallel.cp 2}): rank processes
 * started by the launcher split every row over a ring and give the losses of one rank; with data
 * parallelism and ZeRO too; a resume with cp is bit-exact; bad plans are refused by name.
 *
 * <p>Tolerance: a ring merges each query's key blocks by online softmax in another order than the
 * one-rank kernel, and the dp·cp gradient sum adds in another order, ~1e-7 relative per step;
 * over 4 AdamW steps the losses stay within 1e-5 relative. A missing shard weight or a doubled
 * reduction moves them by 1e-2 or more.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContextTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int STEPS = 4;
    private static final double TOLERANCE = 1e-5;
    @TempDir static Path runs;
    private List<Double> reference;
    private double referenceEval;

    private static Map<String, String> cfg(String name, String plan) {
        Map<String, String> c = TinyRun.config(runs, name, STEPS);
        c.put("parallel.plan", plan);
        c.put("checkpoint.async", "false");
        return c;
    }

    /**
     * The train losses and gradient norms of a run's metrics log, then its last validation loss
     * (the norms catch a gradient off by a constant factor, which AdamW's updates would hide).
     */
    private static List<Double> losses(String name) throws Exception {
        List<Double> out = new ArrayList<>();
        double eval = Double.NaN;
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) {
                out.add(n.get("loss").asDouble());
                out.add(n.get("grad_norm").asDouble());
            }
            if (n.get("type").asText().equals("eval")) eval = n.get("val_loss").asDouble();
        }
        out.add(eval);
        return out;
    }

    private static byte[] weights(String name) throws Exception {
        return Files.readAllBytes(runs.resolve(name).resolve("model").resolve(ModelFiles.WEIGHTS));
    }

    @BeforeAll
    void oneRank() throws Exception {
        Trainer.runSingle(TrainConfig.load(null, cfg("one", "dp=1")), new PrintStream(OutputStream.nullOutputStream()), false);
        reference = losses("one");
    }

    private void assertMatchesOneRank(List<Double> losses) {
        assertThat(losses).hasSize(reference.size());
        for (int i = 0; i < losses.size(); i++) {
            assertThat(losses.get(i)).as("loss %d of %s vs one rank %s", i, losses, reference)
                    .isCloseTo(reference.get(i), org.assertj.core.data.Offset.offset(TOLERANCE * reference.get(i)));
        }
    }

    /**
     * {@code tandem train} with cp = 2 on two rank processes, checkpointing every 2 steps: the one
     * rank's losses; then the same run stopped after step 2 and resumed from its checkpoint gives the
     * uninterrupted run's losses and weights bit for bit.
     */
    @Test
    void cpOnTwoRankProcessesTrainsAsOneRankAndResumesBitExactly() throws Exception {
        Map<String, String> whole = cfg("cp2", "dp=1 cp=2");
        whole.put("checkpoint.every", "2");
        String out = TinyRun.launch(2, whole);
        assertThat(out).contains("cp=2");
        assertMatchesOneRank(losses("cp2"));

        Map<String, String> split = cfg("cp2-resumed", "dp=1 cp=2");
        split.put("checkpoint.every", "2");
        split.put("run.stop_after", "2");
        TinyRun.launch(2, split);
        split.remove("run.stop_after");
        split.put("checkpoint.resume", "latest");
        TinyRun.launch(2, split);
        assertThat(losses("cp2-resumed")).isEqualTo(losses("cp2"));
        assertThat(weights("cp2-resumed")).isEqualTo(weights("cp2"));
    }

    /** cp with data parallelism and ZeRO 1–3 (ranks as threads: the trainer's composition, not the transport). */
    @Test
    void cpComposesWithDataParallelismAndZero() throws Exception {
        for (String plan : List.of("dp=2 cp=2 zero=1", "dp=2 cp=2 zero=2", "dp=1 cp=2 zero=3")) {
            String name = "threads-" + plan.replaceAll("[^A-Za-z0-9]+", "-");
            TrainConfig c = TrainConfig.load(null, cfg(name, plan));
            List<ProcessGroup> world = LocalWorld.create(c.parallel().worldSize(), CommOptions.defaults());
            ExecutorService pool = Executors.newFixedThreadPool(world.size());
            try {
                List<Future<Trainer.Result>> results = new ArrayList<>();
                for (ProcessGroup g : world) results.add(pool.submit(() -> new Trainer(c, new PrintStream(OutputStream.nullOutputStream()), false, g).run()));
                for (Future<Trainer.Result> f : results) f.get();
            } finally {
                pool.shutdownNow();
                world.forEach(ProcessGroup::close);
            }
            assertMatchesOneRank(losses(name));
        }
    }

    /**
     * A sequence one rank cannot hold within memory.budget trains on four: one rank is refused before
     * training, naming the activations and cp; cp = 4 passes the same check and its measured peak
     * (activations included) stays within the budget.
     */
    @Test
    void aSequenceOneRankCannotHoldTrainsSplitOverFour() throws Exception {
        Map<String, String> one = cfg("long-one", "dp=1 attention=flash recompute=selective");
        one.putAll(Map.of("model.block_size", "8192", "data.batch_size", "1", "run.steps", "1", "memory.budget", "96MiB"));
        assertThatThrownBy(() -> Trainer.runSingle(TrainConfig.load(null, one), new PrintStream(OutputStream.nullOutputStream()), false))
                .hasMessageContaining("memory.budget 96.0 MiB is too small").hasMessageContaining("activations and buffers (predicted)")
                .hasMessageContaining("parallel.cp = k splits each sequence over k ranks");
        Map<String, String> four = new java.util.LinkedHashMap<>(one);
        four.put("run.name", "long-four");
        four.put("parallel.plan", "dp=1 cp=4 attention=flash recompute=selective");
        TrainConfig c = TrainConfig.load(null, four);
        List<ProcessGroup> world = LocalWorld.create(4, CommOptions.defaults());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Trainer.Result>> results = new ArrayList<>();
            for (ProcessGroup g : world) {
                // Each thread rank counts its own memory, as a rank process would.
                dev.tandem.tensor.MemoryAccounting rank = dev.tandem.tensor.MemoryAccounting.process().child("rank" + g.rank());
                results.add(pool.submit(() -> rank.call(() -> new Trainer(c, new PrintStream(OutputStream.nullOutputStream()), false, g).run())));
            }
            for (Future<Trainer.Result> f : results) {
                long peak = f.get().steps().getFirst().memoryBytes().values().stream().mapToLong(Long::longValue).sum();
                assertThat(peak).as("measured peak of a rank").isLessThan(96L << 20);
            }
        } finally {
            pool.shutdownNow();
            world.forEach(ProcessGroup::close);
        }
    }

    /** A job whose ranks cp does not divide, through the launcher's rank processes: refused before training, naming the fix. */
    @Test
    void cpNotDividingTheRanksIsRefused() {
        assertThatThrownBy(() -> TinyRun.launch(2, cfg("cp3", "dp=1 cp=3"))).hasMessageContaining("cp must divide the ranks")
                .hasMessageNotContaining("at dev.tandem");
        assertThatThrownBy(() -> TrainConfig.load(null, cfg("cp-tp", "dp=1 cp=2 tp=2"))).hasMessageContaining("use tp = 1 and pp = 1 with cp = 2");
    }
}
