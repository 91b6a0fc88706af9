package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.plan.Calibration;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.Plan;
import dev.tandem.plan.PlanSearch;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One plan from planner to runtime: the planner's best plan for a small model on two calibrated
 * CPU ranks, written into a config file as its label, runs as two rank processes through {@code
 * tandem train --config}, and the checkpoint's manifest holds that very plan.
 */
class PlannerToRuntimeTest {
    /** Fixed numbers, so that the search (and the plan under test) is the same on every machine. */
    private static final DeviceProbe.Measurement MACHINE =
            new DeviceProbe.Measurement(100e9, 20e9, 10e9, 2, 24_000_000_000L, "fixed numbers for the test");

    @Test
    void thePlannersPlanIsThePlanTheRunStores(@TempDir Path tmp) throws Exception {
        int ranks = 2, batch = 8, layers = 2, heads = 2, embd = 32, block = 16;
        int vocab = TrainConfig.defaults().data().vocabSize();
        ModelSpec model = ModelSpec.gpt("test", layers, embd, heads, vocab, block);
        CostModel cost = new CostModel(model, ClusterSpec.of(ranks, Calibration.hardware(MACHINE, ranks)), batch);
        Plan best = PlanSearch.search(cost, 1).best().plan();
        assertThat(best.worldSize()).isEqualTo(ranks);

        Path config = Files.writeString(tmp.resolve("planned.toml"), """
                [model]
                n_layer = %d
                n_head = %d
                n_embd = %d
                block_size = %d

                [data]
                batch_size = %d

                [parallel]
                plan = "%s"

                [eval]
                every = 0
                batches = 1

                [checkpoint]
                every = 2
                async = false

                [run]
                name = "planned"
                runs_dir = "%s"
                steps = 2
                threads = 1
                """.formatted(layers, heads, embd, block, batch, best.label(), tmp.toString().replace("\\", "\\\\")));
        assertThat(TrainConfig.load(config, Map.of()).parallel()).isEqualTo(best);

        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), "train", "--config", config.toString());
        assertThat(exit).as("%s%s", out, err).isZero();

        try (Checkpoint c = Checkpoint.open(tmp.resolve("planned").resolve("checkpoints").resolve(Checkpoints.dirName(2)))) {
            assertThat(c.plan()).isEqualTo(best);
            assertThat(c.manifest().path("world_size").asInt()).isEqualTo(ranks);
        }
    }
}
