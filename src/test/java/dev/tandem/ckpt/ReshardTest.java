package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Saving N ranks at ZeRO stage s and loading into M ranks at stage s': every parameter element
 * and every AdamW moment element arrives bit-exactly where the new layout wants it, and the step
 * count comes along. (The same layout is the identity case.)
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class ReshardTest {
    @TempDir Path root;

    @ParameterizedTest(name = "{0} ranks ZeRO-{1} -> {2} ranks ZeRO-{3}")
    @CsvSource({"1,0,1,0", "2,1,2,1", "2,2,1,0", "1,0,2,3", "2,3,2,0", "3,3,2,1", "2,0,3,2"})
    void everyElementLandsWhereTheNewLayoutWantsIt(int n, int stage, int m, int stage2) {
        List<RankFixture> src = RankFixture.job(n, stage, "adamw", 3);
        List<RankFixture> dst = RankFixture.job(m, stage2, "adamw", 0);
        try {
            CkptTestSupport.save(root, src, stage, 3, CrashPoint.NONE);
            Map<String, float[]> params = new HashMap<>(), expAvg = new HashMap<>(), expAvgSq = new HashMap<>();
            for (RankFixture r : src) {
                for (ParamSlice s : r.dp.optimizerSlices()) {
                    place(params, s, s.value());
                    place(expAvg, s, r.opt.state().get(Pieces.prefix(s) + ".exp_avg").data());
                    place(expAvgSq, s, r.opt.state().get(Pieces.prefix(s) + ".exp_avg_sq").data());
                }
            }
            try (Checkpoint c = Checkpoint.open(root.resolve(Checkpoints.dirName(3)));
                 GPT whole = GPT.empty(RankFixture.MODEL)) {
                assertThat(c.step()).isEqualTo(3);
                Restore.parameters(c, whole.parameters());
                for (Parameter p : whole.parameters()) {
                    assertThat(p.value().toFloatArray()).as(p.name()).isEqualTo(params.get(p.name()));
                }
                for (RankFixture r : dst) {
                    Restore.optimizer(c, r.opt, "adamw", r.dp.optimizerSlices());
                    assertThat(r.opt.steps()).isEqualTo(3);
                    for (ParamSlice s : r.dp.optimizerSlices()) {
                        assertThat(slice(r.opt.state().get(Pieces.prefix(s) + ".exp_avg"))).isEqualTo(cut(expAvg, s));
                        assertThat(slice(r.opt.state().get(Pieces.prefix(s) + ".exp_avg_sq"))).isEqualTo(cut(expAvgSq, s));
                    }
                }
            }
        } finally {
            CkptTestSupport.closeAll(src);
            CkptTestSupport.closeAll(dst);
        }
    }

    @Test
    void eightBitStateRoundTripsInItsOwnLayoutButCannotBeResharded() {
        // Wide enough that slices reach the 4096 elements from which states are stored in 8 bits.
        var wide = new dev.tandem.nn.GPTConfig(1, 2, 64, 11, 6);
        List<RankFixture> src = RankFixture.job(wide, 2, 1, "adamw8bit", 2);
        List<RankFixture> same = RankFixture.job(wide, 2, 2, "adamw8bit", 0); // stages 1-3 cut the same shards
        List<RankFixture> other = RankFixture.job(wide, 1, 0, "adamw8bit", 0);
        try {
            CkptTestSupport.save(root, src, 1, 2, CrashPoint.NONE);
            try (Checkpoint c = Checkpoint.open(root.resolve(Checkpoints.dirName(2)))) {
                assertThat(c.pieces()).anyMatch(p -> p.dtype() == dev.tandem.tensor.DType.U8);
                for (int r = 0; r < 2; r++) {
                    Restore.optimizer(c, same.get(r).opt, "adamw8bit", same.get(r).dp.optimizerSlices());
                    for (var e : src.get(r).opt.state().entrySet()) {
                        Tensor t = same.get(r).opt.state().get(e.getKey());
                        assertThat(t.data().mismatch(e.getValue().data())).as(e.getKey()).isEqualTo(-1L);
                    }
                }
                assertThatThrownBy(() -> Restore.optimizer(c, other.getFirst().opt, "adamw8bit", other.getFirst().dp.optimizerSlices()))
                        .isInstanceOf(TandemException.class).hasMessageContaining("cannot be resharded")
                        .hasMessageContaining("2 rank(s), dp=2 tp=1 pp=1 zero=1");
                assertThatThrownBy(() -> Restore.optimizer(c, other.getFirst().opt, "adamw", other.getFirst().dp.optimizerSlices()))
                        .isInstanceOf(TandemException.class).hasMessageContaining("optimizer 'adamw8bit'");
            }
        } finally {
            CkptTestSupport.closeAll(src);
            CkptTestSupport.closeAll(same);
            CkptTestSupport.closeAll(other);
        }
    }

    private static void place(Map<String, float[]> full, ParamSlice s, MemorySegment data) {
        long n = 1;
        for (int d : s.shape()) n *= d;
        float[] a = full.computeIfAbsent(s.name(), k -> new float[0]);
        if (a.length == 0) {
            a = new float[(int) n];
            full.put(s.name(), a);
        }
        MemorySegment.copy(data, ValueLayout.JAVA_FLOAT, 0, a, (int) s.offset(), (int) s.length());
    }

    private static float[] cut(Map<String, float[]> full, ParamSlice s) {
        return java.util.Arrays.copyOfRange(full.get(s.name()), (int) s.offset(), (int) (s.offset() + s.length()));
    }

    private static float[] slice(Tensor t) {
        return t.toFloatArray();
    }
}
