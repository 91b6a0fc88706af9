package dev.tandem.bench.peer;

import dev.tandem.bench.BenchInfo;
import dev.tandem.bench.BenchProgress;
import dev.tandem.bench.Benchmarks;
import dev.tandem.tensor.PeakFlops;
import dev.tandem.tensor.WorkerPool;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench train}: tokens/s and MFU of a full training step (forward, backward, AdamW)
 * on one rank, Tandem beside PyTorch (libtorch CPU) on the same model, batch, weights and
 * threads. The engines never run at the same time (the peer's process is stopped while Tandem
 * runs, since its idle workers may spin): after a warm-up each, they alternate rounds of
 * timed steps, so load from other processes on a shared machine hits both alike.
 */
@Command(name = "train", mixinStandardHelpOptions = true, description = Benchmarks.TRAIN_DESCRIPTION)
public final class BenchTrainCommand implements Runnable {
    @Option(names = "--model", split = ",", paramLabel = "CASE",
            description = "small (n_layer 4, n_head 4, n_embd 192, T 128, batch 16), wide (n_layer 4, n_head 12, "
                    + "n_embd 768, T 256, batch 8) or LxHxC:T:B[:V]; default: ${DEFAULT-VALUE}")
    List<String> models = List.of("small", "wide");

    @Option(names = "--warmup", description = "untimed steps per engine before measuring (JIT, allocator); default: ${DEFAULT-VALUE}")
    int warmup = 3;

    @Option(names = "--rounds", description = "alternating rounds per engine; default: ${DEFAULT-VALUE}")
    int rounds = 8;

    // One step per round by default: each Tandem step is then timed right next to a PyTorch step,
    // and the ratio of such pairs stays meaningful while other processes' load drifts.
    @Option(names = "--steps", description = "timed steps per round and engine; default: ${DEFAULT-VALUE}")
    int steps = 1;

    @Option(names = "--threads", description = "compute threads for both engines; default: all cores (${DEFAULT-VALUE})")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--no-peer", description = "measure Tandem only")
    boolean noPeer;

    // Named by the form that changes the default: picocli's negatable options set the default
    // value for the "--no-" form of a name and its opposite for the plain form.
    @Option(names = "--no-peer-sweep", negatable = true,
            description = "time every PyTorch threading configuration (1 or all threads for its OpenMP and its OpenBLAS pool,"
                    + " idle workers spinning or sleeping) and compare Tandem with the fastest (--no-peer-sweep: all threads in both"
                    + " pools, sleeping); default: on")
    boolean peerSweep = true;

    @Option(names = "--sweep-steps", description = "timed peer steps per configuration in the sweep; default: ${DEFAULT-VALUE}")
    int sweepSteps = 3;

    @Option(names = "--data-parallel", split = ",", paramLabel = "N",
            description = "rank counts for the data-parallel rows (ZeRO 0–3 each; 1 = one rank); 0 to skip them; default: ${DEFAULT-VALUE}")
    List<Integer> dataParallel = List.of(1, 2);

    @Option(names = "--dp-steps", description = "training steps per data- and model-parallel row; default: ${DEFAULT-VALUE}")
    int dpSteps = 15;

    @Option(names = "--no-model-parallel", negatable = true, description = "rows for tp=2 and pp=2 on 2 ranks; default: on")
    boolean modelParallel = true;

    /** Tandem's compute threads, for this command. */
    private WorkerPool pool;

    @Override
    public void run() {
        try (WorkerPool p = new WorkerPool(threads)) {
            pool = p;
            bench();
        }
    }

    private void bench() {
        PrintStream out = System.out;
        double peakStart = PeakFlops.measure(pool, 300);
        out.printf("bench train: %s, %d cores; %d threads per engine; Java %s%n", BenchInfo.cpuModel(),
                Runtime.getRuntime().availableProcessors(), threads, Runtime.version());
        if (!noPeer) {
            out.printf("peer: PyTorch (libtorch CPU via org.bytedeco:pytorch) in its own process, %s unset there; %s%n",
                    String.join(", ", PeerProcess.UNSET), peerSweep ? "threading: the fastest of " + PeerConfig.grid(threads).size()
                            + " configurations, per model" : "threading: " + PeerConfig.sleeping(threads).label());
        }
        out.printf("step = zero grads + forward + backward + AdamW (lr %.0e, wd %.1f on matrices), same weights and batch%n",
                TrainHyper.LR, TrainHyper.WEIGHT_DECAY);
        out.printf("timing: %d warm-up steps each, then %d rounds × %d steps alternating engines; load %s%n%n",
                warmup, rounds, steps, MachineLoad.loadAverage());
        List<TrainBenchResult> results = new ArrayList<>();
        BenchProgress progress = new BenchProgress("train", models.size(), System.err);
        for (String spec : models) {
            progress.next(spec);
            results.add(measure(TrainBenchCase.parse(spec), out));
        }
        // Other processes can only lower the probe's rate: the larger of the two probes is the peak.
        double peak = Math.max(peakStart, PeakFlops.measure(pool, 300));
        out.printf("%nMFU reference: measured peak %.1f GFLOP/s (FMA probe on %d threads, best of start/end); load now %s%n",
                peak / 1e9, threads, MachineLoad.loadAverage());
        TrainBenchResult.printTable(out, results, peak);
        List<Integer> dpRanks = dataParallel.stream().filter(n -> n > 0).toList();
        if (!dpRanks.isEmpty()) ParallelRows.run(out, dpSteps, dpRanks, java.nio.file.Path.of("runs", "bench-train"));
        if (modelParallel) ParallelRows.runModelParallel(out, dpSteps, java.nio.file.Path.of("runs", "bench-train"));
    }

    private TrainBenchResult measure(TrainBenchCase c, PrintStream out) {
        out.printf("== %s: %s; %.1f MFLOP/token, %.1f GFLOP/step%n", c.name(), c.describe(),
                c.model().trainingFlopsPerToken(c.seqLen()) / 1e6, c.flopsPerStep() / 1e9);
        String loadBefore = MachineLoad.loadAverage();
        BenchBatch batch = BenchBatch.random(c, TrainHyper.DATA_SEED);
        StepLog tandemWarm = new StepLog(), peerWarm = new StepLog();
        StepLog tandem = new StepLog(), peer = new StepLog();
        List<Double> roundRatios = new ArrayList<>();
        PeerConfig config = noPeer ? null : peerSweep ? fastestPeer(c, out) : PeerConfig.sleeping(threads);
        PeerProcess torch = noPeer ? null : new PeerProcess(c, config);
        try (TandemTrainStep t = new TandemTrainStep(c, batch, dev.tandem.tensor.Kernels.fast(pool))) {
            out.printf("   parameters: Tandem %,d%s%n", t.parameterCount(),
                    torch == null ? "" : String.format(", PyTorch %s %,d (%s)", torch.version, torch.parameters, config.label()));
            if (torch != null) torch.pause();
            runTandem(t, warmup, tandemWarm);
            if (torch != null) peerWarm.addAll(torch.run(warmup));
            for (int r = 0; r < rounds; r++) {
                StepLog tr = new StepLog(), pr = null;
                // Alternate who goes first so neither always follows the other's cache footprint.
                // The peer is stopped while Tandem runs: its idle workers may spin.
                if (torch != null && r % 2 == 1) pr = torch.run(steps);
                if (torch != null) torch.pause();
                runTandem(t, steps, tr);
                if (torch != null && r % 2 == 0) pr = torch.run(steps);
                tandem.addAll(tr);
                if (pr != null) {
                    peer.addAll(pr);
                    roundRatios.add(pr.median() / tr.median());
                }
                out.printf("   round %d: Tandem %.0f ms/step%s%n", r + 1, 1e3 * tr.median(),
                        pr == null ? "" : String.format(", PyTorch %.0f ms/step", 1e3 * pr.median()));
            }
        } finally {
            if (torch != null) torch.close();
        }
        TrainBenchResult res = new TrainBenchResult(c, tandemWarm, tandem, torch == null ? null : peerWarm,
                torch == null ? null : peer, torch == null ? null : config.label() + "; " + torch.threadReport(),
                roundRatios, loadBefore + " → " + MachineLoad.loadAverage());
        res.printDetails(out);
        return res;
    }

    /**
     * Times the peer in every threading configuration (one warm-up step, then up to
     * {@code sweepSteps} timed ones; a configuration whose step takes over 3× the best so far is
     * stopped there) and returns the fastest by median step.
     */
    private PeerConfig fastestPeer(TrainBenchCase c, PrintStream out) {
        List<PeerConfig> grid = PeerConfig.grid(threads);
        out.printf("   PyTorch threading sweep (%d configurations, 1 warm-up + up to %d timed steps each):%n", grid.size(), sweepSteps);
        PeerConfig best = null;
        double bestSeconds = Double.POSITIVE_INFINITY;
        for (PeerConfig config : grid) {
            StepLog timed = new StepLog();
            String report;
            try (PeerProcess p = new PeerProcess(c, config)) {
                p.run(1);
                for (int i = 0; i < sweepSteps; i++) {
                    timed.addAll(p.run(1));
                    if (timed.median() > 3 * bestSeconds) break;
                }
                report = p.threadReport();
            }
            double seconds = timed.median();
            out.printf("     %-38s %8.0f ms/step %8.0f tok/s  (%s)%s%n", config.label(), 1e3 * seconds, c.tokensPerStep() / seconds,
                    report, timed.size() < sweepSteps ? "; stopped: over 3x the best" : "");
            if (seconds < bestSeconds) {
                bestSeconds = seconds;
                best = config;
            }
        }
        out.printf("   fastest: %s%n", best.label());
        return best;
    }

    private static void runTandem(TandemTrainStep t, int n, StepLog log) {
        for (int i = 0; i < n; i++) {
            log.add(t.step());
        }
    }
}
