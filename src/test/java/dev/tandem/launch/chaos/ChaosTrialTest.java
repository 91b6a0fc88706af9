package dev.tandem.launch.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One chaos trial per fault class that other tests do not already cover — {@code RunFaultsTest}
 * kills a rank after a checkpoint and {@code KilledWriterTest} kills checkpoint writers: a hang and a
 * slow rank. Each must be detected, classified with the right rank, lose no committed checkpoint,
 * and end with the weights of the uninterrupted run, bit for bit. (All four classes, at random
 * steps and ranks, are {@code ./tandem chaos}'s.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChaosTrialTest {
    private static final int STEPS = 28;
    @TempDir static Path runs;
    private ChaosTrial trial;
    private byte[] reference;

    @BeforeAll
    void reference() throws Exception {
        // 3x slow: clear even when the test machine is busy (the 1.5x target is the chaos benchmark's)
        trial = new ChaosTrial(ChaosJob.small(3, STEPS, runs, 3.0));
        reference = trial.reference("reference");
    }

    private void check(TrialResult r, Fault fault, int rank) {
        assertThat(r.fault()).isEqualTo(fault);
        assertThat(r.detected()).as("%s detected", fault).isTrue();
        assertThat(r.classifiedAs()).isEqualTo(fault.expectedClass());
        assertThat(r.blamedRank()).isEqualTo(rank);
        assertThat(r.corruptCheckpoints()).isZero();
        assertThat(r.weightsEqual()).as("final weights equal the uninterrupted run's").isTrue();
    }

    @Test
    void aStoppedRankIsFoundHungAndTheJobRecovers() throws Exception {
        TrialResult r = trial.run("stop", Fault.STOP, 1, 9, reference);
        check(r, Fault.STOP, 1);
        assertThat(r.recoverSeconds()).isPositive();
        assertThat(r.stepsLost()).as("resumed from the checkpoint of step 8").isBetween(1L, 4L);
    }

    @Test
    void aRankComputingThreeTimesSlowerIsFlagged() throws Exception {
        check(trial.run("slow", Fault.SLOW, 2, 0, reference), Fault.SLOW, 2);
    }
}
