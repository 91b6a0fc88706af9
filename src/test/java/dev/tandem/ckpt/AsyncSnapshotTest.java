package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DataStates-style pipeline: what is saved is the state at the snapshot point, whatever
 * happens to the live tensors afterwards, and an async save writes the same bytes as a sync one.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class AsyncSnapshotTest {
    @TempDir Path root;

    private static Map<String, byte[]> bytes(List<Piece> pieces) {
        Map<String, byte[]> out = new HashMap<>();
        for (Piece p : pieces) out.put(p.name(), p.bytes().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        return out;
    }

    private static void assertSaved(Path dir, Map<String, byte[]> expected) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.pieces()).hasSize(expected.size());
            for (Piece p : c.pieces()) {
                assertThat(p.bytes().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as(p.name()).isEqualTo(expected.get(p.name()));
            }
        }
    }

    @Test
    void aTensorChangedAfterTheSnapshotPointDoesNotChangeTheSavedFile() throws Exception {
        List<RankFixture> job = RankFixture.job(2, 3, "adamw", 2);
        try {
            CountDownLatch mayWrite = new CountDownLatch(1);
            // Hold the persist thread before it opens the file, so the file is written after the change below.
            CrashPoint hold = where -> {
                if (where.equals("shard:open")) {
                    try {
                        assertThat(mayWrite.await(30, TimeUnit.SECONDS)).isTrue();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            };
            RankFixture r1 = job.get(1), r0 = job.get(0);
            Map<String, byte[]> at2 = bytes(r1.pieces());
            Map<String, byte[]> at2rank0 = bytes(r0.pieces());
            try (Checkpointer c1 = new Checkpointer(CkptTestSupport.options(root, 1, 2, true), r1.pieces(), s -> { }, hold);
                 Checkpointer c0 = new Checkpointer(CkptTestSupport.options(root, 0, 2, true), r0.pieces(), s -> { })) {
                c1.save(2, null, null);
                c0.save(2, CkptTestSupport.info(job, 3), null);
                c1.beforeUpdate(); // the snapshot copy is done; the optimizer may now write
                c0.beforeUpdate();
                r1.step(3);
                r0.step(3);
                assertThat(bytes(r1.pieces())).isNotEqualTo(at2);
                mayWrite.countDown();
            }
            assertSaved(root.resolve(Checkpoints.dirName(2)), merge(at2, at2rank0));
        } finally {
            CkptTestSupport.closeAll(job);
        }
    }

    @Test
    void asyncWritesWhatSyncWritesEvenWithOneBufferAndBackToBackSaves() {
        List<RankFixture> job = RankFixture.job(1, 0, "adamw", 1);
        try (Checkpointer c = new Checkpointer(new Checkpointer.Options(root.resolve("async"), 0, 1, "t", true, 1, 0, 0,
                java.time.Duration.ofSeconds(20)), job.getFirst().pieces(), s -> { })) {
            Map<Integer, Map<String, byte[]>> expected = new HashMap<>();
            for (int step = 2; step <= 6; step++) {
                c.beforeUpdate();
                job.getFirst().step(step);
                expected.put(step, bytes(job.getFirst().pieces()));
                c.save(step, CkptTestSupport.info(job, 0), null); // the single buffer: waits for the previous persist
                CkptTestSupport.save(root.resolve("sync"), job, 0, step, CrashPoint.NONE);
            }
            c.close();
            assertThat(c.saves()).isEqualTo(5);
            for (int step = 2; step <= 6; step++) {
                assertSaved(root.resolve("async").resolve(Checkpoints.dirName(step)), expected.get(step));
                assertSaved(root.resolve("sync").resolve(Checkpoints.dirName(step)), expected.get(step));
            }
        } finally {
            CkptTestSupport.closeAll(job);
        }
    }

    private static Map<String, byte[]> merge(Map<String, byte[]> a, Map<String, byte[]> b) {
        Map<String, byte[]> m = new HashMap<>(a);
        m.putAll(b);
        return m;
    }
}
