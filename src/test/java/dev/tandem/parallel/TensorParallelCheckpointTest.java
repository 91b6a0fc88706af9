package dev.tandem.parallel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpointer;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.Pieces;
import dev.tandem.ckpt.Restore;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Split;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.Plan;
import dev.tandem.tensor.MemoryAccounting;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A checkpoint written at one tensor-parallel size loads at another: each rank saves its parts
 * with where they sit in the whole tensors (the parameters every rank holds whole are saved once),
 * and after loading, every parameter and every AdamW moment element is bit-for-bit what the
 * saving job held, and training continues with the same losses as the saving job's own
 * continuation (within the tolerance of {@link TensorParallelParityTest}, since the two sizes sum
 * in different orders; the same size continues bit-for-bit).
 */
class TensorParallelCheckpointTest {
    private static final int SAVED_AT = 3, STEPS = 6;
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path root;

    /** What a job holds at the save and how it continues: whole parameters and moments (name → elements), later losses. */
    private record Job(Map<String, float[]> params, Map<String, float[]> expAvg, Map<String, float[]> expAvgSq, List<Double> losses) {}

    @ParameterizedTest(name = "tp {0} -> tp {1}, sequence parallel {2}")
    @CsvSource({"2,1,true", "1,2,false", "2,2,false"})
    void loadsAtAnotherTensorParallelSize(int from, int to, boolean sp) {
        long live = MemoryAccounting.current().liveTotal();
        Job saved = run(from, sp, null);
        Job loaded;
        try (Checkpoint c = Checkpoint.open(root.resolve(Checkpoints.dirName(SAVED_AT)))) {
            assertThat(c.pieces()).filteredOn(p -> p.param().equals("ln_f.weight") && p.state() == null).hasSize(1); // saved once
            loaded = run(to, sp, c);
        }
        assertThat(loaded.params()).containsOnlyKeys(saved.params().keySet());
        saved.params().forEach((n, v) -> assertThat(loaded.params().get(n)).as(n).isEqualTo(v));
        saved.expAvg().forEach((n, v) -> assertThat(loaded.expAvg().get(n)).as(n + " exp_avg").isEqualTo(v));
        saved.expAvgSq().forEach((n, v) -> assertThat(loaded.expAvgSq().get(n)).as(n + " exp_avg_sq").isEqualTo(v));
        for (int i = 0; i < STEPS - SAVED_AT; i++) {
            double a = loaded.losses().get(i), b = saved.losses().get(i);
            if (from == to) assertThat(a).as("step %d", SAVED_AT + i + 1).isEqualTo(b);
            else assertThat(Math.abs(a - b) / b).as("step %d: %s vs %s", SAVED_AT + i + 1, a, b).isLessThan(1e-5);
        }
        assertThat(MemoryAccounting.current().liveTotal()).isEqualTo(live);
    }

    /**
     * A tp-rank job: fresh from the seed and saving after {@link #SAVED_AT} steps ({@code resume}
     * null), or loaded from {@code resume}; either way it records its state at the save point and
     * then trains to {@link #STEPS}.
     */
    private Job run(int tp, boolean sp, Checkpoint resume) {
        Map<String, float[]> params = new ConcurrentHashMap<>(), m = new ConcurrentHashMap<>(), v = new ConcurrentHashMap<>();
        List<Double> losses = Collections.synchronizedList(new ArrayList<>());
        LocalWorld.run(tp, CommOptions.defaults(), world -> {
            GPT model = resume == null ? GPT.initialized(TpRank.MODEL, TpRank.SEED) : GPT.empty(TpRank.MODEL);
            if (resume != null) Restore.parameters(resume, model.parameters()); // whole tensors, before the split
            try (TpRank r = new TpRank(model, world, 1, tp, 0, sp)) {
                Map<String, Split> splits = r.tp.splits();
                if (resume == null) {
                    for (int s = 0; s < SAVED_AT; s++) r.step(s);
                    save(r, world.rank(), tp);
                } else {
                    Restore.optimizer(resume, r.opt, "adamw", r.dp.optimizerSlices(), splits);
                }
                for (Parameter p : r.model.parameters()) place(params, p.name(), splits.get(p.name()), p.value().data());
                for (ParamSlice s : r.dp.optimizerSlices()) {
                    place(m, s.name(), splits.get(s.name()), r.opt.state().get(s.name() + ".exp_avg").data());
                    place(v, s.name(), splits.get(s.name()), r.opt.state().get(s.name() + ".exp_avg_sq").data());
                }
                for (int s = SAVED_AT; s < STEPS; s++) {
                    double l = r.step(s);
                    if (world.rank() == 0) losses.add(l);
                }
            }
        });
        return new Job(params, m, v, losses);
    }

    /** Saves this rank's pieces as the trainer does (ZeRO-0, one data-parallel rank). */
    private void save(TpRank r, int rank, int n) throws Exception {
        var options = new Checkpointer.Options(root, rank, n, "test", false, 1, 0, 0, Duration.ofSeconds(30));
        try (Checkpointer c = new Checkpointer(options,
                Pieces.of(r.dp.optimizerSlices(), r.opt.state(), r.tp.splits(), s -> r.tp.owns(s.name())), s -> { })) {
            ObjectNode info = null;
            if (rank == 0) {
                info = JSON.createObjectNode();
                info.set("plan", Plan.parse("tp=" + n, Plan.SINGLE).toJson());
                info.putObject("optimizer").put("name", "adamw").put("steps", r.opt.steps());
            }
            c.save(SAVED_AT, info, null);
        }
    }

    /** Writes a rank's part of a tensor into the whole tensor in {@code whole} (allocated on first use). */
    private static void place(Map<String, float[]> whole, String name, Split split, MemorySegment part) {
        float[] all = whole.computeIfAbsent(name, k -> {
            long numel = 1;
            for (int d : split.fullShape()) numel *= d;
            return new float[Math.toIntExact(numel)];
        });
        synchronized (all) {
            for (Split.Run run : split.runs(0, split.localNumel())) {
                MemorySegment.copy(part, ValueLayout.JAVA_FLOAT, run.local() * 4, all, (int) run.full(), (int) run.length());
            }
        }
    }
}
