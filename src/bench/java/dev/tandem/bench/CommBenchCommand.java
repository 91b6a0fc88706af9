package dev.tandem.bench;

import dev.tandem.TandemException;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ProcessMemory;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.Rendezvous;
import dev.tandem.launch.Settings;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench comm}: nccl-tests-style table of algorithm and bus bandwidth per message size
 * for all-reduce, reduce-scatter and all-gather on 2, 4 and 8 local rank processes, beside two
 * references from the same run: memcpy bandwidth of one core (the physical limit of a copy) and
 * Open MPI. Bus bandwidth = algbw·2(n-1)/n for all-reduce and algbw·(n-1)/n for the others.
 */
@Command(name = "comm", mixinStandardHelpOptions = true,
        description = "Collective bandwidth per message size vs memcpy and Open MPI (nccl-tests style).")
final class CommBenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--ranks", split = ",", defaultValue = "2,4,8", description = "Rank counts (default: ${DEFAULT-VALUE}).")
    List<Integer> ranks;

    @Option(names = "--ops", split = ",", defaultValue = "all_reduce,reduce_scatter,all_gather",
            description = "Collectives to measure (default: ${DEFAULT-VALUE}).")
    List<String> ops;

    @Option(names = "--min-bytes", defaultValue = "1024", description = "Smallest message (default 1 KiB); sizes grow ×4 from it.")
    long minBytes;

    @Option(names = "--max-bytes", defaultValue = "268435456", description = "Largest message (default 256 MiB).")
    long maxBytes;

    @Option(names = "--transport", defaultValue = "auto", description = "auto (shared memory on one host), tcp or shm.")
    String transport;

    @Option(names = "--direct-min-bytes", defaultValue = "auto",
            description = "Over shared memory, messages this large are read in place by the receiver (one copy instead of two); "
                    + "'off' copies every message through the rings; 'adaptive': each group times both ways and takes the faster; "
                    + "'auto': from the ring size up between threads, adaptive between processes (see docs/COMMUNICATION.md) "
                    + "(default: ${DEFAULT-VALUE}).")
    String directMinBytes;

    @Option(names = "--board-min-bytes", defaultValue = "auto",
            description = "All-gathers this large, on 3 or more ranks, go through the shared board; 'off' gathers through the "
                    + "rings; 'auto': between processes, above the latency algorithms' threshold (default: ${DEFAULT-VALUE}).")
    String boardMinBytes;

    @Option(names = "--threads", description = "Tandem's ranks as threads of this JVM (in-process rings) instead of processes; "
            + "Open MPI still runs processes.")
    boolean threads;

    @Option(names = "--no-mpi", description = "Skip the Open MPI column.")
    boolean noMpi;

    @Option(names = "--repeat", defaultValue = "1",
            description = "Runs of Tandem and of Open MPI per rank count, alternating which goes first; the table shows medians "
                    + "over them and the range of the per-run ratio. Where ranks share cores, single runs vary by up to 2x "
                    + "(default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--sequential",
            description = "Run Tandem and Open MPI one after the other, not taking turns trial by trial (the method before "
                    + "docs/notes/benchmarks-history.md, Round 7); 'ours/MPI' is then the ratio of whole runs.")
    boolean sequential;

    @Option(names = "--worker", hidden = true)
    boolean worker;

    @Option(names = "--turns", hidden = true, description = "The worker's turn file and side (BenchTurns.spec).")
    String turns;

    @Override
    public void run() {
        if (worker) {
            Rendezvous.bindToCores(Settings.of(spec.root().userObject()).env());
            try (ProcessGroup g = Rendezvous.fromEnvironment(Settings.of(spec.root().userObject()).env());
                 BenchTurns.Seat seat = BenchTurns.join(turns)) {
                CommBenchWorker.run(g, ops, minBytes, maxBytes, seat, System.out);
            }
            return;
        }
        for (String op : ops) {
            if (!List.of("all_reduce", "reduce_scatter", "all_gather").contains(op)) throw new TandemException("unknown --ops entry: " + op);
        }
        if (repeat < 1) throw new TandemException("--repeat must be >= 1, got " + repeat);
        PrintStream out = System.out;
        List<String> notes = new ArrayList<>();
        Path root = repositoryRoot();
        Optional<MpiPeer> mpi = noMpi ? Optional.empty() : MpiPeer.build(root, root.resolve("target-bench").resolve("mpi"), notes);
        if (noMpi) notes.add("Open MPI column skipped (--no-mpi)");
        boolean paced = mpi.isPresent() && !sequential;
        out.printf("tandem bench comm on %s, %d cores, Java %s, transport %s, single-copy reads: %s, shared board: %s%n", BenchInfo.cpuModel(),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), threads ? "threads (in-process rings)" : transport,
                directMinBytes, boardMinBytes);
        Map<Long, Double> memcpy = bandwidth((src, dst) -> MemorySegment.copy(src, 0, dst, 0, dst.byteSize()));
        Map<Long, Double> pvm = ProcessMemory.unavailable() == null ? bandwidth(ProcessMemory::copyWithinThisProcess) : Map.of();
        BenchProgress progress = new BenchProgress("comm", ranks.size() * repeat, System.err);
        for (int n : ranks) {
            String over = n > Runtime.getRuntime().availableProcessors() ? " (oversubscribed: more ranks than cores)" : "";
            String loadBefore = loadAverage();
            List<Run> ours = new ArrayList<>(), theirs = new ArrayList<>();
            for (int rep = 0; rep < repeat; rep++) {
                progress.next(n + " ranks" + over + (repeat > 1 ? ", run " + (rep + 1) + " of " + repeat : ""));
                if (paced) {
                    Run[] both = runTakingTurns(mpi.get(), n, notes);
                    ours.add(both[0]);
                    theirs.add(both[1]);
                    continue;
                }
                boolean mpiFirst = rep % 2 == 1; // alternate, so a drift of the host's speed favours neither
                if (mpiFirst) theirs.add(runMpi(mpi, n, List.of(), notes));
                ours.add(Run.parse(runOurs(n, null)));
                if (!mpiFirst) theirs.add(runMpi(mpi, n, List.of(), notes));
            }
            out.printf("%n%d ranks%s; time = median of %d trials (min-max)%s%s, bandwidths in GB/s; load average %s -> %s%n",
                    n, over, CommBenchWorker.TRIALS, repeat == 1 ? "" : ", median over " + repeat + " runs (min-max over all their trials)",
                    paced ? "; Tandem and Open MPI took turns, one trial each" : "", loadBefore, loadAverage());
            out.printf("| %-14s | %9s | %22s | %7s | %7s | %22s | %9s | %8s | %13s | %7s | %7s |%n", "op", "size", "tandem time us",
                    "algbw", "busbw", "Open MPI time us", "MPI busbw", "ours/MPI", paced ? "pairs 25-75%" : "per-run ratio", "memcpy", "pvm");
            out.println("|----------------|-----------|------------------------|---------|---------|------------------------|-----------|----------|"
                    + "---------------|---------|---------|");
            for (String cell : ours.getFirst().results().keySet()) {
                String[] key = cell.split(" ");
                long bytes = Long.parseLong(key[1]);
                double[] t = combined(ours, cell);
                double factor = key[0].equals("all_reduce") ? 2.0 * (n - 1) / n : (n - 1.0) / n;
                double alg = bytes / (t[0] * 1e-6) / 1e9;
                double[] m = combined(theirs, cell);
                List<Double> ratios = paced ? pairRatios(ours, theirs, cell) : runRatios(ours, theirs, cell);
                String mpiTime = m == null ? "-" : String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", m[0], m[1], m[2]);
                String mpiBus = m == null ? "-" : String.format(Locale.ROOT, "%.2f", bytes / (m[0] * 1e-6) / 1e9 * factor);
                String ratio = ratios.isEmpty() ? "-" : String.format(Locale.ROOT, "%.2fx", median(ratios));
                String range = ratios.size() < 2 ? "-" : paced
                        ? String.format(Locale.ROOT, "%.2f-%.2f", quantile(ratios, 0.25), quantile(ratios, 0.75))
                        : String.format(Locale.ROOT, "%.2f-%.2f", ratios.getFirst(), ratios.getLast());
                Double mc = memcpy.get(nearest(memcpy, bytes));
                String pv = pvm.isEmpty() ? "-" : String.format(Locale.ROOT, "%.2f", pvm.get(nearest(pvm, bytes)));
                out.printf(Locale.ROOT, "| %-14s | %9s | %22s | %7.2f | %7.2f | %22s | %9s | %8s | %13s | %7.2f | %7s |%n", key[0],
                        human(bytes), String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", t[0], t[1], t[2]), alg, alg * factor, mpiTime, mpiBus,
                        ratio, range, mc, pv);
            }
        }
        out.println();
        out.println("memcpy: one thread copying a buffer of the same size (MemorySegment.copy), median of 5 trials; pvm: the same copy "
                + "by process_vm_readv (the kernel copy behind reading a peer process's memory in place), in GB/s.");
        out.println(paced
                ? "ours/MPI: the median over all pairs of trials (Tandem's trial k and Open MPI's trial k of the same run, measured "
                        + "back to back) of Open MPI time / Tandem time (above 1 means Tandem is faster); 'pairs 25-75%' the middle half of "
                        + "those ratios."
                : "ours/MPI: Open MPI time / Tandem time (above 1 means Tandem is faster); with --repeat, the median over the runs "
                        + "of that ratio within each pair of runs, and 'per-run ratio' its range.");
        for (String note : notes) out.println("note: " + note);
    }

    /**
     * One run of each side on {@code n} ranks, both started at once and then given turns by
     * {@link BenchTurns#alternate}, one trial each. Returns {Tandem's, Open MPI's}.
     */
    private Run[] runTakingTurns(MpiPeer mpi, int n, List<String> notes) {
        try (BenchTurns turnFile = BenchTurns.create();
             java.util.concurrent.ExecutorService sides = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var ourSide = sides.submit(() -> Run.parse(runOurs(n, turnFile.spec(BenchTurns.TANDEM))));
            var mpiSide = sides.submit(() -> runMpi(Optional.of(mpi), n, turnFile.peerArguments(BenchTurns.MPI), notes));
            turnFile.alternate(() -> !ourSide.isDone(), () -> !mpiSide.isDone());
            return new Run[] {ourSide.get(), mpiSide.get()};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemException("bench comm: interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new TandemException("bench comm: " + e.getCause(), e.getCause());
        }
    }

    /** One Open MPI run on {@code n} ranks, parsed; empty (and a note) when it is skipped or fails. */
    private Run runMpi(Optional<MpiPeer> mpi, int n, List<String> turnArguments, List<String> notes) {
        if (mpi.isEmpty()) return Run.EMPTY;
        try {
            return Run.parse(mpi.get().run(n, ops, minBytes, maxBytes, turnArguments));
        } catch (IOException | InterruptedException e) {
            synchronized (notes) {
                notes.add("Open MPI failed on " + n + " ranks: " + e.getMessage());
            }
            return Run.EMPTY;
        }
    }

    /** Per pair of runs, Open MPI's median / Tandem's median for {@code cell}; sorted. */
    static List<Double> runRatios(List<Run> ours, List<Run> theirs, String cell) {
        List<Double> ratios = new ArrayList<>();
        for (int rep = 0; rep < ours.size(); rep++) {
            double[] mine = ours.get(rep).results().get(cell), peer = theirs.get(rep).results().get(cell);
            if (mine != null && peer != null) ratios.add(peer[0] / mine[0]);
        }
        ratios.sort(null);
        return ratios;
    }

    /** Per pair of trials taken in turn (trial k of both sides in the same run), Open MPI's / Tandem's time; sorted. */
    static List<Double> pairRatios(List<Run> ours, List<Run> theirs, String cell) {
        List<Double> ratios = new ArrayList<>();
        for (int rep = 0; rep < ours.size(); rep++) {
            double[] mine = ours.get(rep).trials().get(cell), peer = theirs.get(rep).trials().get(cell);
            if (mine == null || peer == null) continue;
            for (int k = 0; k < Math.min(mine.length, peer.length); k++) ratios.add(peer[k] / mine[k]);
        }
        ratios.sort(null);
        return ratios;
    }

    /** Linear interpolation between the closest ranks of a sorted, non-empty list. */
    static double quantile(List<Double> sorted, double q) {
        double at = q * (sorted.size() - 1);
        int lo = (int) Math.floor(at), hi = (int) Math.ceil(at);
        return sorted.get(lo) + (sorted.get(hi) - sorted.get(lo)) * (at - lo);
    }

    /**
     * One side's run on one rank count: per cell ("op bytes") {median, min, max} from the RESULT
     * lines and the trials in order from the TRIAL lines, all in µs.
     */
    record Run(Map<String, double[]> results, Map<String, double[]> trials) {
        static final Run EMPTY = new Run(Map.of(), Map.of());

        /** Parses "RESULT op bytes median min max" and "TRIAL op bytes k time" lines, keeping the order of cells. */
        static Run parse(List<String> lines) {
            Map<String, double[]> results = new LinkedHashMap<>(), trials = new LinkedHashMap<>();
            for (String l : lines) {
                String[] p = l.trim().split("\\s+");
                String cell = p[1] + " " + p[2];
                if (p[0].equals("RESULT")) {
                    results.put(cell, new double[] {Double.parseDouble(p[3]), Double.parseDouble(p[4]), Double.parseDouble(p[5])});
                } else {
                    int k = Integer.parseInt(p[3]);
                    double[] had = trials.getOrDefault(cell, new double[0]);
                    double[] grown = Arrays.copyOf(had, Math.max(had.length, k + 1));
                    grown[k] = Double.parseDouble(p[4]);
                    trials.put(cell, grown);
                }
            }
            return new Run(results, trials);
        }
    }

    /** One cell over several runs: {median of the runs' medians, lowest min, highest max}; null if no run has it. */
    static double[] combined(List<Run> runs, String cell) {
        List<double[]> have = runs.stream().map(r -> r.results().get(cell)).filter(java.util.Objects::nonNull).toList();
        if (have.isEmpty()) return null;
        List<Double> medians = have.stream().map(t -> t[0]).sorted().toList();
        return new double[] {median(medians), have.stream().mapToDouble(t -> t[1]).min().orElseThrow(),
                have.stream().mapToDouble(t -> t[2]).max().orElseThrow()};
    }

    private static double median(List<Double> sorted) {
        int k = sorted.size();
        return k % 2 == 1 ? sorted.get(k / 2) : (sorted.get(k / 2 - 1) + sorted.get(k / 2)) / 2;
    }

    /** One Tandem run on {@code n} ranks, taking turns through {@code turnSpec} unless it is null; rank 0's TRIAL and RESULT lines. */
    private List<String> runOurs(int n, String turnSpec) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream cap = new PrintStream(captured, true, StandardCharsets.UTF_8);
        if (threads) {
            Map<String, String> settings = new HashMap<>(Map.of("TANDEM_DIRECT_MIN_BYTES", directMinBytes, "TANDEM_BOARD_MIN_BYTES", boardMinBytes));
            String logPaths = Settings.of(spec.root().userObject()).env().get("TANDEM_LOG_PATHS");
            if (logPaths != null) settings.put("TANDEM_LOG_PATHS", logPaths); // as a rank process would inherit it
            CommOptions options = CommOptions.fromEnvironment(settings);
            LocalWorld.run(n, options, g -> {
                try (BenchTurns.Seat seat = BenchTurns.join(turnSpec)) {
                    CommBenchWorker.run(g, ops, minBytes, maxBytes, seat, cap);
                }
            });
            return captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("RESULT ") || l.startsWith("TRIAL ")).toList();
        }
        List<String> args = new ArrayList<>(List.of("bench", "comm", "--worker", "--ops", String.join(",", ops),
                "--min-bytes", Long.toString(minBytes), "--max-bytes", Long.toString(maxBytes)));
        if (turnSpec != null) args.addAll(List.of("--turns", turnSpec));
        Map<String, String> env = new HashMap<>();
        env.put("TANDEM_TRANSPORT", transport);
        env.put("TANDEM_DIRECT_MIN_BYTES", directMinBytes);
        env.put("TANDEM_BOARD_MIN_BYTES", boardMinBytes);
        new Launcher(cap, System.err, Duration.ofSeconds(2)).launch(n, args, env);
        List<String> results = new ArrayList<>();
        for (String line : captured.toString(StandardCharsets.UTF_8).split("\n")) {
            int i = Math.max(line.indexOf("RESULT "), line.indexOf("TRIAL "));
            if (line.startsWith("[rank 0]") && i >= 0) results.add(line.substring(i));
        }
        return results;
    }

    /** GB/s of {@code copy(src, dst)} per message size, one thread, median of 5 trials. */
    private Map<Long, Double> bandwidth(java.util.function.BiConsumer<MemorySegment, MemorySegment> copy) {
        Map<Long, Double> gbs = new LinkedHashMap<>();
        try (OffHeap a = OffHeap.allocate(maxBytes, MemoryCategory.OTHER); OffHeap b = OffHeap.allocate(maxBytes, MemoryCategory.OTHER)) {
            MemorySegment src = a.segment(), dst = b.segment();
            long warmBytes = Math.min(minBytes, 64 * 1024);
            for (int i = 0; i < 20_000; i++) copy.accept(src.asSlice(0, warmBytes), dst.asSlice(0, warmBytes)); // JIT warm-up
            for (long bytes = minBytes; bytes <= maxBytes; bytes *= 4) {
                MemorySegment s1 = src.asSlice(0, bytes), d1 = dst.asSlice(0, bytes);
                long s0 = System.nanoTime();
                copy.accept(s1, d1);
                double warm = (System.nanoTime() - s0) / 1e9;
                int iters = (int) Math.max(1, Math.min(100_000, 0.05 / Math.max(warm, 1e-9)));
                double[] t = new double[5];
                for (int k = 0; k < t.length; k++) {
                    long s = System.nanoTime();
                    for (int i = 0; i < iters; i++) copy.accept(s1, d1);
                    t[k] = (System.nanoTime() - s) / 1e9 / iters;
                }
                Arrays.sort(t);
                gbs.put(bytes, bytes / t[2] / 1e9);
            }
        }
        return gbs;
    }

    /** The checkout this jar was built in (target/tandem.jar or target-bench/tandem.jar → ..), else the working directory. */
    private static Path repositoryRoot() {
        try {
            Path jar = Path.of(CommBenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path root = jar.getParent() == null ? null : jar.getParent().getParent();
            if (root != null && Files.isDirectory(root.resolve("src/bench/mpi"))) return root;
        } catch (java.net.URISyntaxException | RuntimeException ignored) {
            // fall back to the working directory
        }
        return Path.of("").toAbsolutePath();
    }

    private static long nearest(Map<Long, Double> m, long bytes) {
        long best = m.keySet().iterator().next();
        for (long k : m.keySet()) if (Math.abs(k - bytes) < Math.abs(best - bytes)) best = k;
        return best;
    }

    static String human(long bytes) {
        if (bytes >= 1 << 20) return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
        if (bytes >= 1 << 10) return String.format(Locale.ROOT, "%.0f KiB", bytes / 1024.0);
        return bytes + " B";
    }

    /**
     * The 1-minute load average (Linux), printed with each table: on a shared host the numbers
     * mean little without it. "?" where /proc/loadavg is missing.
     */
    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }
}
