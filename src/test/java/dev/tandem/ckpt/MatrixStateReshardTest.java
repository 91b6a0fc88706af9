package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.ParamSlice;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Muon and SOAP state saved by one layout and loaded into another. Under ZeRO each matrix is
 * owned whole by one rank, so a matrix's state tensors carry the same keys whoever owns it and load
 * as they are; the AdamW part of Muon and SOAP's 1-D states are element-wise and resharded. The
 * test: after loading, one more step (the same gradients for the same elements in every layout)
 * gives bit-identical parameters in the old and the new layout. AdamW alone is the element-wise
 * baseline: its result for an element must not depend on where a shard boundary falls.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class MatrixStateReshardTest {
    /** Wide enough that Muon's hidden matrices and SOAP's bases are real matrices. */
    private static final GPTConfig MODEL = new GPTConfig(1, 2, 16, 11, 6);

    @TempDir Path root;

    @ParameterizedTest(name = "{0}: {1} ranks ZeRO-{2} -> {3} ranks ZeRO-{4}")
    @CsvSource({"muon,2,1,1,0", "muon,2,3,3,2", "muon,1,0,2,3", "soap,2,2,1,0", "soap,3,3,2,1", "adamw,2,3,3,2"})
    void continuesBitIdenticallyInAnotherLayout(String optimizer, int n, int stage, int m, int stage2) {
        List<RankFixture> src = RankFixture.job(MODEL, n, stage, optimizer, 3);
        List<RankFixture> dst = RankFixture.job(MODEL, m, stage2, optimizer, 0);
        try {
            CkptTestSupport.save(root, src, stage, 3, CrashPoint.NONE);
            try (Checkpoint c = Checkpoint.open(root.resolve(Checkpoints.dirName(3)));
                 GPT whole = GPT.empty(MODEL)) {
                Restore.parameters(c, whole.parameters());
                for (RankFixture r : dst) {
                    for (ParamSlice s : r.dp.optimizerSlices()) {
                        MemorySegment.copy(whole.param(s.name()).value().data(), s.offset() * 4, s.value(), 0, s.length() * 4);
                    }
                    Restore.optimizer(c, r.opt, optimizer, r.dp.optimizerSlices());
                    assertThat(r.opt.steps()).isEqualTo(3);
                }
            }
            src.forEach(r -> r.step(4));
            dst.forEach(r -> r.step(4));
            Map<String, float[]> before = assemble(src), after = assemble(dst);
            assertThat(after.keySet()).containsExactlyInAnyOrderElementsOf(before.keySet());
            before.forEach((name, v) -> assertThat(after.get(name)).as(name).containsExactly(v));
        } finally {
            CkptTestSupport.closeAll(src);
            CkptTestSupport.closeAll(dst);
        }
    }

    /** Every parameter, whole, from the slices the ranks update. */
    private static Map<String, float[]> assemble(List<RankFixture> job) {
        Map<String, float[]> out = new HashMap<>();
        for (RankFixture r : job) {
            for (ParamSlice s : r.dp.optimizerSlices()) {
                float[] a = out.computeIfAbsent(s.name(), k -> new float[Math.toIntExact(r.model.param(k).numel())]);
                MemorySegment.copy(s.value(), ValueLayout.JAVA_FLOAT, 0, a, (int) s.offset(), (int) s.length());
            }
        }
        return out;
    }
}
