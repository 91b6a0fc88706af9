package dev.tandem.launch.chaos;

/**
 * What one chaos trial found.
 *
 * @param fault            what was injected
 * @param rank             into which rank
 * @param atStep           the step after which it was injected (for a slow rank: 0, from the start)
 * @param detected         whether detection reported a fault at all
 * @param classifiedAs     the class detection gave ("crashed", "hung", "slow"), or "-" when none
 * @param blamedRank       the rank detection named, or -1
 * @param detectSeconds    from injection to detection (for a slow rank: steps to the flag, as seconds of training)
 * @param recoverSeconds   from detection to the first step trained after the restart (-1 where nothing restarted)
 * @param stepsLost        steps trained again after the restart
 * @param corruptCheckpoints committed checkpoints (with a manifest) that no longer verify
 * @param weightsEqual     whether the final weights equal those of the uninterrupted run, bit for bit
 */
public record TrialResult(Fault fault, int rank, long atStep, boolean detected, String classifiedAs, int blamedRank,
                          double detectSeconds, double recoverSeconds, long stepsLost, int corruptCheckpoints, boolean weightsEqual) {
    /** Detected, with the right class and the right rank. */
    public boolean classifiedRight() {
        return detected && classifiedAs.equals(fault.expectedClass()) && blamedRank == rank;
    }
}
