package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.TinyRun;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Expert parallelism on thread ranks: parity with one rank (the process tests are {@link
 * ExpertParallelParityTest}), bit-exact resume under the same plan, and resharding of a checkpoint
 * between expert layouts (ep = 2 to every expert on every rank, and to FSSDP), which continues
 * within the float tolerance of the parity tests (2e-5 relative).
 */
class ExpertParallelThreadsTest {
    @TempDir Path runs;

    static Map<String, String> moe(Path runs, String name, int steps, long seed) {
        Map<String, String> m = TinyRun.config(runs, name, steps);
        m.put("model.n_layer", "2");
        m.put("model.n_experts", "4");
        m.put("model.top_k", "2");
        m.put("model.capacity_factor", "1.0");
        m.put("model.router_skew", "1.5");
        m.put("run.seed", Long.toString(seed));
        m.put("optim.warmup_steps", "1");
        return m;
    }

    private List<StepMetrics> train(Map<String, String> m) throws Exception {
        TrainConfig cfg = TrainConfig.load(null, m);
        int n = cfg.parallel().worldSize();
        List<ProcessGroup> world = LocalWorld.create(n, CommOptions.defaults());
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Trainer.Result>> rs = new ArrayList<>();
            for (ProcessGroup g : world) rs.add(pool.submit(() -> new Trainer(cfg, new PrintStream(OutputStream.nullOutputStream()), false, g).run()));
            for (Future<Trainer.Result> f : rs) f.get();
            return rs.getFirst().get().steps();
        } finally {
            pool.shutdownNow();
            world.forEach(ProcessGroup::close);
        }
    }

    @Test
    void twoThreadRanksMatchOneRankWithTheSameMicroBatches() throws Exception {
        Map<String, String> one = moe(runs, "one", 4, 7);
        one.put("parallel.micro_batches", "2");
        List<StepMetrics> ref = train(one);
        // ZeRO-3 shards what every rank holds (all but the experts) and composes with either layout.
        for (String[] layout : List.of(new String[] {"ep", "0"}, new String[] {"fssdp", "0"}, new String[] {"ep", "3"})) {
            String mode = layout[0] + " zero " + layout[1];
            Map<String, String> ep = moe(runs, layout[0] + layout[1], 4, 7);
            ep.put("parallel.dp", "2");
            ep.put("parallel.ep", "2");
            ep.put("parallel.moe", layout[0]);
            ep.put("parallel.zero", layout[1]);
            List<StepMetrics> got = train(ep);
            for (int i = 0; i < ref.size(); i++) {
                assertThat(got.get(i).loss()).as("%s step %d", mode, i + 1).isCloseTo(ref.get(i).loss(), org.assertj.core.data.Percentage.withPercentage(1e-3));
                assertThat(got.get(i).gradNorm()).as("%s norm %d", mode, i + 1).isCloseTo(ref.get(i).gradNorm(), org.assertj.core.data.Percentage.withPercentage(1e-2));
                assertThat(got.get(i).router().tokensPerExpert()).isEqualTo(ref.get(i).router().tokensPerExpert());
            }
        }
    }

    private Map<String, String> twoRanks(String name, String ep, String mode) {
        Map<String, String> m = moe(runs, name, 8, 5);
        m.put("parallel.dp", "2");
        m.put("parallel.ep", ep);
        m.put("parallel.moe", mode);
        m.put("checkpoint.async", "false");
        return m;
    }

    private static List<Double> losses(List<StepMetrics> s) {
        return s.stream().map(StepMetrics::loss).toList();
    }

    @Test
    void checkpointsResumeBitExactlyAndReshardBetweenExpertLayouts() throws Exception {
        train(moe(runs, "tokens", 1, 5)); // one rank tokenizes the corpus into the cache, so that thread ranks only read it
        List<Double> full = losses(train(twoRanks("full", "2", "ep")));
        Map<String, String> split = twoRanks("split", "2", "ep");
        split.put("checkpoint.every", "4");
        split.put("run.stop_after", "4");
        List<Double> first = losses(train(split));
        split.remove("run.stop_after");
        split.put("checkpoint.resume", "latest");
        List<Double> joined = new ArrayList<>(first);
        joined.addAll(losses(train(split)));
        assertThat(joined).isEqualTo(full); // exact doubles

        String step4 = runs.resolve("split/checkpoints").resolve(dev.tandem.ckpt.Checkpoints.dirName(4)).toString();
        for (String[] layout : List.of(new String[] {"1", "ep"}, new String[] {"2", "fssdp"})) {
            Map<String, String> other = twoRanks("reshard-" + layout[1] + layout[0], layout[0], layout[1]);
            other.put("checkpoint.resume", step4);
            List<Double> rest = losses(train(other));
            assertThat(rest).hasSize(4);
            for (int i = 0; i < 4; i++) {
                assertThat(Math.abs(rest.get(i) - full.get(4 + i)) / full.get(4 + i)).as("ep %s moe %s step %d", layout[0], layout[1], 5 + i)
                        .isLessThan(2e-5);
            }
        }
    }
}
