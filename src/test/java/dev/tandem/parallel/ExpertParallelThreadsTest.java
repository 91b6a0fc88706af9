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

/** Quick parity of expert parallelism on thread ranks (the process tests are {@link ExpertParallelParityTest}). */
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
        for (String mode : List.of("ep", "fssdp")) {
            Map<String, String> ep = moe(runs, mode, 4, 7);
            ep.put("parallel.dp", "2");
            ep.put("parallel.ep", "2");
            ep.put("parallel.moe", mode);
            List<StepMetrics> got = train(ep);
            for (int i = 0; i < ref.size(); i++) {
                assertThat(got.get(i).loss()).as("%s step %d", mode, i + 1).isCloseTo(ref.get(i).loss(), org.assertj.core.data.Percentage.withPercentage(1e-3));
                assertThat(got.get(i).gradNorm()).as("%s norm %d", mode, i + 1).isCloseTo(ref.get(i).gradNorm(), org.assertj.core.data.Percentage.withPercentage(1e-2));
                assertThat(got.get(i).router().tokensPerExpert()).isEqualTo(ref.get(i).router().tokensPerExpert());
            }
        }
    }
}
