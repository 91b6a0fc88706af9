package dev.tandem.ckpt;

import dev.tandem.plan.Plan;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Saving a whole fixture job the way the ranks of a real job would: every rank's file, rank 0 last. */
final class CkptTestSupport {
    private CkptTestSupport() {}

    static Checkpointer.Options options(Path root, int rank, int n, boolean async) {
        return new Checkpointer.Options(root, rank, n, "test", async, 2, 0, 0, Duration.ofSeconds(20));
    }

    static com.fasterxml.jackson.databind.node.ObjectNode info(List<RankFixture> job, int stage) {
        var n = Manifest.JSON.createObjectNode();
        var m = n.putObject("model");
        m.put("n_layer", RankFixture.MODEL.nLayer());
        m.put("n_head", RankFixture.MODEL.nHead());
        m.put("n_embd", RankFixture.MODEL.nEmbd());
        m.put("vocab_size", RankFixture.MODEL.vocabSize());
        m.put("block_size", RankFixture.MODEL.blockSize());
        n.set("plan", Plan.parse("dp=" + job.size() + " zero=" + stage + " optimizer=" + job.getFirst().optimizer, Plan.SINGLE).toJson());
        n.putObject("optimizer").put("name", job.getFirst().optimizer).put("steps", job.getFirst().opt.steps());
        return n;
    }

    /** Saves every rank's state at {@code step} synchronously (ranks above 0 first, so rank 0 finds their files). */
    static void save(Path root, List<RankFixture> job, int stage, long step, CrashPoint crash) {
        for (int r = job.size() - 1; r >= 0; r--) {
            try (Checkpointer c = new Checkpointer(options(root, r, job.size(), false), job.get(r).pieces(), s -> { }, crash)) {
                c.save(step, r == 0 ? info(job, stage) : null, null);
            }
        }
    }

    static void closeAll(List<RankFixture> job) {
        job.forEach(RankFixture::close);
    }
}
