package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.launch.chaos.ChaosDrill;
import dev.tandem.launch.chaos.ChaosJob;
import dev.tandem.launch.chaos.Fault;
import dev.tandem.launch.chaos.TrialResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem chaos}: short multi-rank trainings with faults injected, and what detection and recovery made of them. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
        header = "Inject faults into short multi-rank trainings and report detection, classification and recovery.",
        description = {
        "Runs a small model on --nproc rank processes with checkpoints every 4 steps and automatic restarts, once without",
        "a fault for reference, then --trials times with one fault each (the --faults in turn, into a random rank after a",
        "random step): kill (SIGKILL), stop (SIGSTOP: a hang), kill-during-save (SIGKILL while a checkpoint is written),",
        "slow (the rank computes 1.5x slower from the start). Per trial: detected? classified right (class and rank)?",
        "seconds to detect and to recover, steps lost, checkpoints that no longer verify, final weights equal to the",
        "reference bit for bit. Ranks declare a silent peer gone after 5 s (TANDEM_HEARTBEAT_TIMEOUT). See docs/FAULTS.md."})
final class ChaosCommand implements Runnable {
    @Option(names = "--trials", defaultValue = "8", description = "Trials (default: ${DEFAULT-VALUE}).")
    int trials;

    @Option(names = "--faults", split = ",", defaultValue = "kill,stop,kill-during-save,slow",
            description = "Faults to inject, in turn (default: ${DEFAULT-VALUE}).")
    List<String> faults;

    @Option(names = "--nproc", defaultValue = "3", description = "Rank processes (default: ${DEFAULT-VALUE}).")
    int nproc;

    @Option(names = "--steps", defaultValue = "50", description = {"Steps per training (default: ${DEFAULT-VALUE}: a slow rank, slow from the start,",
            "counts as detected only when flagged within them, and the target is 50 steps)."})
    int steps;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the fault placement (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dir", defaultValue = "runs/chaos", description = "Where the trials' runs go (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public void run() {
        if (trials < 1) throw new TandemException("--trials must be >= 1, got " + trials);
        if (nproc < 2) throw new TandemException("--nproc must be >= 2: faults are found by the other ranks, got " + nproc);
        List<Fault> kinds;
        try {
            kinds = faults.stream().map(Fault::of).toList();
        } catch (IllegalArgumentException e) {
            throw new TandemException("--faults: " + e.getMessage());
        }
        ChaosJob job = ChaosJob.small(nproc, steps, dir.toAbsolutePath(), 1.5);
        List<TrialResult> results;
        try {
            results = new ChaosDrill(job, kinds, seed, steps, System.out).run(trials);
        } catch (IOException e) {
            throw new TandemException("chaos: " + e.getMessage(), e);
        }
        summarize(results);
    }

    private static void summarize(List<TrialResult> results) {
        int n = results.size();
        long detected = results.stream().filter(TrialResult::detected).count();
        long right = results.stream().filter(TrialResult::classifiedRight).count();
        int corrupt = results.stream().mapToInt(TrialResult::corruptCheckpoints).sum();
        long equal = results.stream().filter(TrialResult::weightsEqual).count();
        System.out.printf(Locale.ROOT, "%nchaos: %d trial(s): detected %d (%.0f%%), classified right %d (%.0f%%), corrupt checkpoints %d, "
                + "final weights equal to the reference %d (%.0f%%)%n", n, detected, 100.0 * detected / n, right, 100.0 * right / n,
                corrupt, equal, 100.0 * equal / n);
        for (Fault f : Fault.values()) {
            List<TrialResult> of = results.stream().filter(r -> r.fault() == f && r.detectSeconds() >= 0).toList();
            if (of.isEmpty()) continue;
            double worstDetect = of.stream().mapToDouble(TrialResult::detectSeconds).max().orElse(-1);
            double worstRecover = of.stream().mapToDouble(TrialResult::recoverSeconds).max().orElse(-1);
            System.out.printf(Locale.ROOT, "  %-17s worst detection %.1f s, worst recovery %s%n", f.label(), worstDetect,
                    worstRecover < 0 ? "-" : String.format(Locale.ROOT, "%.1f s", worstRecover));
        }
        if (right < n || corrupt > 0 || equal < n) throw new TandemException("chaos: not every trial was detected, classified and recovered", null, 1);
    }
}
