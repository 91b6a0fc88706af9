package dev.tandem.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.health.SlowRankDetector.SlowRank;
import dev.tandem.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Leaving a fail-slow rank out of an elastic job ({@code run.evict_slow_after}): once a rank has
 * stayed flagged slow for that many steps after the flag was raised, every rank saves a checkpoint
 * at the same step, rank 0 records the verdict in {@code <run>/evicted.json}, and all exit with
 * {@link #EXIT_CODE}; the launcher then restarts the job from that checkpoint without the slow
 * rank's data-parallel replica (its places). The ranks agree without a vote: each feeds the same
 * all-gathered timings to the same detector, so each reaches the same verdict at the same step.
 */
public final class SlowRankEviction {
    /** The exit code of every rank of a job that stops to leave a slow rank out. */
    public static final int EXIT_CODE = 5;
    private static final String FILE = "evicted.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The verdict: world rank {@code rank} was {@code slowdown}× slow from {@code sinceStep}; the checkpoint of {@code step} holds the job. */
    public record Verdict(int rank, double slowdown, long sinceStep, long step) {
        public String describe() {
            return String.format(Locale.ROOT, "rank %d was %.2fx slower than its peers from step %d to step %d (run.evict_slow_after)",
                    rank, slowdown, sinceStep, step);
        }
    }

    private final int after;
    /** The step at which each rank flagged now was first flagged in its current run of flags. */
    private final Map<Integer, Long> flaggedAt = new HashMap<>();

    /** @param after steps a rank must stay flagged before it is left out (> 0) */
    SlowRankEviction(int after) {
        if (after <= 0) throw new IllegalArgumentException("after must be > 0, got " + after);
        this.after = after;
    }

    /**
     * The flags after {@code stepsDone} steps; returns the rank to leave out now, if any: the first
     * that has been flagged at every step for the last {@code after} steps. (A flag's own
     * {@code sinceStep} is where the evidence starts, about a window before the flag was raised.)
     */
    Optional<Verdict> observe(List<SlowRank> flagged, long stepsDone) {
        flaggedAt.keySet().retainAll(flagged.stream().map(SlowRank::rank).toList());
        for (SlowRank s : flagged) flaggedAt.putIfAbsent(s.rank(), stepsDone);
        return flagged.stream().filter(s -> stepsDone - flaggedAt.get(s.rank()) >= after).findFirst()
                .map(s -> new Verdict(s.rank(), s.slowdown(), s.sinceStep(), stepsDone));
    }

    /**
     * After step {@code stepsDone}, with that step's {@code health}: when a rank is to be left out,
     * every rank saves a checkpoint of this step and waits until it is committed, rank 0 records
     * the verdict, and every rank throws the error it exits with.
     */
    void afterStep(StepHealth health, long stepsDone, Checkpointing ckpt, ProcessGroup world, Path runDir, TrainingListener listener) {
        Optional<Verdict> verdict = observe(health.slow(), stepsDone);
        if (verdict.isEmpty()) return;
        ckpt.saveAndFinish(stepsDone, runDir);
        ckpt.reportCommitted(listener);
        world.barrier(); // rank 0 has committed the checkpoint before any rank exits
        throw stop(verdict.get(), runDir, world.rank() == 0);
    }

    /** Rank 0's record of {@code v} in {@code runDir}, and the error every rank exits with. */
    static TandemException stop(Verdict v, Path runDir, boolean write) {
        if (write) {
            ObjectNode n = JSON.createObjectNode();
            n.put("rank", v.rank());
            n.put("slowdown", v.slowdown());
            n.put("since_step", v.sinceStep());
            n.put("checkpoint_step", v.step());
            AtomicFiles.writeString(runDir.resolve(FILE), n.toPrettyString());
        }
        return new TandemException(v.describe() + ": saved a checkpoint at step " + v.step()
                + " and stopped, so that the launcher restarts the job without it", null, EXIT_CODE);
    }

    /** The verdict the last attempt of the job in {@code runDir} left, consumed (deleted) so that a later attempt is not misread. */
    public static Optional<Verdict> take(Path runDir) {
        Path f = runDir.resolve(FILE);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            JsonNode n = JSON.readTree(f.toFile());
            Files.delete(f);
            return Optional.of(new Verdict(n.path("rank").asInt(), n.path("slowdown").asDouble(), n.path("since_step").asLong(),
                    n.path("checkpoint_step").asLong()));
        } catch (IOException e) {
            throw new TandemException("cannot read " + f + ", the slow-rank verdict of the last attempt: " + e.getMessage());
        }
    }
}
