package dev.tandem.launch.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One chaos trial per fault class that other tests do not already cover — {@code RunFaultsTest}
 * kills a rank after a checkpoint and {@code KilledWriterTest} kills checkpoint writers: a slow
 * rank and a hang. Each must be detected, classified with the right rank and lose no committed
 * checkpoint. The slow rank's run changes no number (its drill only adds work), so its final
 * weights stand for the uninterrupted run's, and the hung run, restarted from a checkpoint, must
 * end with them bit for bit. (All four classes, at random steps and ranks, are {@code ./tandem
 * chaos}'s.)
 */
class ChaosTrialTest {
    private static final int STEPS = 28;
    @TempDir Path runs;

    private static void check(TrialResult r, Fault fault, int rank) {
        assertThat(r.fault()).isEqualTo(fault);
        assertThat(r.detected()).as("%s detected", fault).isTrue();
        assertThat(r.classifiedAs()).isEqualTo(fault.expectedClass());
        assertThat(r.blamedRank()).isEqualTo(rank);
        assertThat(r.corruptCheckpoints()).isZero();
    }

    @Test
    void aSlowRankIsFlaggedAndAStoppedRankIsFoundHungAndTheJobRecoversBitExactly() throws Exception {
        // 3x slow: clear even when the test machine is busy (the 1.5x target is the chaos benchmark's)
        ChaosJob job = ChaosJob.small(3, STEPS, runs, 3.0);
        ChaosTrial trial = new ChaosTrial(job);
        check(trial.run("slow", Fault.SLOW, 2, 0, new byte[0]), Fault.SLOW, 2);
        byte[] uninterrupted = Files.readAllBytes(job.weights("slow"));

        TrialResult hung = trial.run("stop", Fault.STOP, 1, 9, uninterrupted);
        check(hung, Fault.STOP, 1);
        assertThat(hung.recoverSeconds()).isPositive();
        assertThat(hung.stepsLost()).as("resumed from the checkpoint of step 8 or 12").isBetween(0L, 4L);
        assertThat(hung.weightsEqual()).as("final weights equal the uninterrupted run's").isTrue();
    }
}
