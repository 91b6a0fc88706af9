package dev.tandem.launch.chaos;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The chaos drill: one uninterrupted run of the job for reference, then {@code trials} runs, each
 * with one fault (the faults taken in turn) injected into a rank and after a step drawn from
 * {@code seed}; prints a line per trial and returns the results.
 */
public final class ChaosDrill {
    private final ChaosJob job;
    private final List<Fault> faults;
    private final long seed;
    private final int steps;
    private final PrintStream out;

    /** @param steps the job's steps: faults go in after a step between 3 and {@code steps - 3} */
    public ChaosDrill(ChaosJob job, List<Fault> faults, long seed, int steps, PrintStream out) {
        if (faults.isEmpty()) throw new IllegalArgumentException("no faults to inject");
        if (steps < 8) throw new IllegalArgumentException("a chaos job needs at least 8 steps, got " + steps);
        this.job = job;
        this.faults = List.copyOf(faults);
        this.seed = seed;
        this.steps = steps;
        this.out = out;
    }

    public List<TrialResult> run(int trials) throws IOException {
        ChaosTrial trial = new ChaosTrial(job);
        long t0 = System.nanoTime();
        out.println("chaos: reference run (no fault)...");
        byte[] reference = trial.reference("reference");
        out.printf(Locale.ROOT, "chaos: reference done in %.0f s; %d trial(s) follow%n", (System.nanoTime() - t0) / 1e9, trials);
        out.println(header());
        SplittableRandom rnd = new SplittableRandom(seed);
        List<TrialResult> results = new ArrayList<>();
        for (int i = 0; i < trials; i++) {
            Fault fault = faults.get(i % faults.size());
            int rank = rnd.nextInt(job.nproc());
            long at = 3 + rnd.nextInt(steps - 5);
            TrialResult r = trial.run(String.format("trial-%03d-%s", i + 1, fault.label()), fault, rank, at, reference);
            results.add(r);
            out.println(row(i + 1, r));
        }
        return results;
    }

    public static String header() {
        return String.format(Locale.ROOT, "%5s %-17s %4s %5s %8s %-8s %6s %9s %10s %5s %7s %7s", "trial", "fault", "rank", "step",
                "detected", "class", "blamed", "detect s", "recover s", "lost", "corrupt", "weights");
    }

    public static String row(int trial, TrialResult r) {
        return String.format(Locale.ROOT, "%5d %-17s %4d %5d %8s %-8s %6d %9s %10s %5d %7d %7s", trial, r.fault().label(), r.rank(), r.atStep(),
                r.detected() ? "yes" : "NO", r.classifiedAs(), r.blamedRank(), seconds(r.detectSeconds()), seconds(r.recoverSeconds()),
                r.stepsLost(), r.corruptCheckpoints(), r.weightsEqual() ? "equal" : "DIFFER");
    }

    private static String seconds(double s) {
        return s < 0 ? "-" : String.format(Locale.ROOT, "%.1f", s);
    }
}
