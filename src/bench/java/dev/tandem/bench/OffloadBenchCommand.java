package dev.tandem.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.launch.Launcher;
import dev.tandem.train.MetricsLog;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench offload}: training with the optimizer state in a slower memory tier against
 * training with everything in RAM. The budget is the smallest the runtime accepts for the model
 * (what the refusal names), so every byte of optimizer state is offloaded. Configurations: in RAM
 * (no budget); the file tier with naive offload (every subgroup updated in place in the tier) and
 * with interleaving (k measured) by positional I/O, and naive by memory mapping (the access
 * modes compared where every byte moves on the training thread); the CXL-like tier
 * naive and interleaved. Each run is a JVM of its own, so its peak resident set (VmHWM, from the
 * OS) is its own; configurations run in rounds in rotated order and medians are reported.
 *
 * <p>The bound: a step cannot be faster than the in-RAM step with its optimizer update replaced by
 * the longer of that update and moving the offloaded state in and out at the tier's bandwidths
 * (read then write on a disk; both at once on a full-duplex CXL link). Target: measured step ≤ 1.5 × bound.
 */
@Command(name = "offload", mixinStandardHelpOptions = true,
        description = "Memory tiers: step time, peak RSS and tier traffic, in RAM vs naive vs interleaved offload vs a CXL-like tier.")
final class OffloadBenchCommand implements Runnable {
    private static final Pattern SMALLEST = Pattern.compile("the smallest budget that fits is ([0-9.]+) MiB");

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps at the start of each run (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds over all configurations (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--n-layer", defaultValue = "8")
    int nLayer;

    @Option(names = "--n-embd", defaultValue = "512")
    int nEmbd;

    @Option(names = "--batch-size", defaultValue = "2")
    int batchSize;

    @Option(names = "--block-size", defaultValue = "64")
    int blockSize;

    @Option(names = "--cxl", defaultValue = "2,2,1", split = ",",
            description = "The CXL-like tier: read GB/s, write GB/s, µs per access (default: ${DEFAULT-VALUE}).")
    List<Double> cxl;

    @Option(names = "--dir", defaultValue = "runs/bench-offload", description = "Where runs go (default: ${DEFAULT-VALUE}).")
    Path dir;

    private record Config(String name, String tier, String access, int stride) {}

    /** One run's numbers: median step and optimizer step, the OS's peak RSS, accounted fast-tier bytes, tier facts. */
    private record Run(double stepMs, double optimizerMs, long vmHwm, long fastBytes, JsonNode tier) {}

    @Override
    public void run() {
        if (steps < 3 || warmup < 1 || rounds < 1 || cxl.size() != 3) {
            throw new TandemException("--steps must be >= 3, --warmup >= 1, --rounds >= 1, --cxl read,write,latency");
        }
        PrintStream out = System.out;
        String budget = smallestBudget();
        out.printf(Locale.ROOT, "bench offload: GPT n_layer %d, n_embd %d, batch %d × block %d; %d timed steps after %d warm-up per run; "
                + "%d rounds; budget %s per rank (the smallest the runtime accepts); CPU %s, %d cores%n", nLayer, nEmbd, batchSize,
                blockSize, steps, warmup, rounds, budget, BenchInfo.cpuModel(), Runtime.getRuntime().availableProcessors());
        List<Config> configs = List.of(new Config("ram", "", "", 0),
                new Config("file naive", "file", "pread", 0), new Config("file interleaved", "file", "pread", -1),
                new Config("file-mmap naive", "file", "mmap", 0),
                new Config("cxl naive", "cxl", "pread", 0), new Config("cxl interleaved", "cxl", "pread", -1));
        Map<Config, List<Run>> results = new LinkedHashMap<>();
        configs.forEach(c -> results.put(c, new ArrayList<>()));
        BenchProgress progress = new BenchProgress("offload", rounds * configs.size(), System.err);
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < configs.size(); i++) {
                Config c = configs.get((i + round) % configs.size());
                progress.next("round " + (round + 1) + " of " + rounds + ": " + c.name());
                results.get(c).add(train(c, budget));
            }
        }
        report(out, results, configs, budget);
    }

    private void report(PrintStream out, Map<Config, List<Run>> results, List<Config> configs, String budget) {
        List<Run> ram = results.get(configs.getFirst());
        double ramStep = median(ram.stream().map(Run::stepMs).toList()), ramOpt = median(ram.stream().map(Run::optimizerMs).toList());
        long ramHwm = (long) median(ram.stream().map(r -> (double) r.vmHwm()).toList());
        long overhead = ramHwm - ram.getFirst().fastBytes(); // the JVM and everything the accounting does not see
        long budgetBytes = dev.tandem.offload.ByteSize.parse("budget", budget);
        out.println();
        out.printf("%-22s %3s %9s %8s %9s %11s %11s %10s %10s %9s %10s %11s %8s %s%n", "config", "k", "step ms", "vs RAM", "optim ms",
                "VmHWM MiB", "fast MiB", "read MiB", "write MiB", "bound ms", "step/bound", "optim/bound", "RSS ok", "tier");
        for (Config c : configs) {
            List<Run> rs = results.get(c);
            double step = median(rs.stream().map(Run::stepMs).toList()), opt = median(rs.stream().map(Run::optimizerMs).toList());
            double hwm = median(rs.stream().map(r -> (double) r.vmHwm()).toList());
            JsonNode t = rs.getFirst().tier();
            if (t == null) {
                out.printf(Locale.ROOT, "%-22s %3s %9.1f %8s %9.1f %11.1f %11.1f %10s %10s %9s %10s %11s %8s %s%n", c.name(), "-", step,
                        "1.00×", opt, hwm / MIB, rs.getFirst().fastBytes() / MIB, "-", "-", "-", "-", "-", "-", "all state in RAM");
                continue;
            }
            double read = t.path("read_bytes_per_step").asDouble(), written = t.path("written_bytes_per_step").asDouble();
            double r = read / t.path("read_bytes_per_s").asDouble() * 1e3, w = written / t.path("write_bytes_per_s").asDouble() * 1e3;
            double transfer = c.tier().equals("cxl") ? Math.max(r, w) : r + w; // CXL links are full duplex
            double bound = ramStep - ramOpt + Math.max(ramOpt, transfer);
            // RAM standing for the CXL tier is resident too, as CXL memory would be: it is allowed on top.
            long ramTier = c.tier().equals("cxl") ? t.path("bytes").asLong() : 0;
            boolean rssOk = hwm <= budgetBytes + overhead + ramTier;
            out.printf(Locale.ROOT, "%-22s %3d %9.1f %7.2f× %9.1f %11.1f %11.1f %10.1f %10.1f %9.1f %9.2f× %10.2f× %8s %s%n", c.name(),
                    t.path("stride").asInt(), step, step / ramStep, opt, hwm / MIB, rs.getFirst().fastBytes() / MIB, read / MIB,
                    written / MIB, bound, step / bound, opt / Math.max(ramOpt, transfer), rssOk ? "yes" : "NO", String.format(Locale.ROOT, "%s %.1f/%.1f GB/s r/w",
                            t.path("name").asText(), t.path("read_bytes_per_s").asDouble() / 1e9, t.path("write_bytes_per_s").asDouble() / 1e9));
        }
        out.printf(Locale.ROOT, "medians over %d rounds. in RAM: step %.1f ms, optimizer %.1f ms, VmHWM %.1f MiB of which %.1f MiB is "
                        + "not in the accounting (the JVM: heap, code, threads) = the fixed overhead. 'RSS ok': VmHWM <= budget %s + "
                        + "that overhead (+ the tier's own bytes for the RAM-backed CXL-like tier). bound = RAM step - RAM optimizer + "
                        + "max(RAM optimizer, tier traffic at the tier's bandwidth); target step/bound <= 1.5; optim/bound: the optimizer "
                        + "step alone against max(RAM optimizer, tier traffic), less exposed to the load's noise. 'fast MiB': accounted "
                        + "bytes outside the slow tier at the last step (activations and buffers at their peak).%n",
                rounds, ramStep, ramOpt, ramHwm / MIB, overhead / MIB, budget);
    }

    private static final double MIB = 1 << 20;

    private Map<String, String> base(String name) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model.n_layer", Integer.toString(nLayer));
        o.put("model.n_head", "8");
        o.put("model.n_embd", Integer.toString(nEmbd));
        o.put("model.block_size", Integer.toString(blockSize));
        o.put("data.batch_size", Integer.toString(batchSize));
        o.put("run.steps", Integer.toString(warmup + steps));
        o.put("optim.warmup_steps", "1");
        o.put("eval.every", "0");
        o.put("eval.batches", "1");
        o.put("run.log_every", "100000");
        o.put("run.tensorboard", "false");
        o.put("run.name", name);
        o.put("run.runs_dir", dir.toString());
        return o;
    }

    /** What the runtime's refusal names as the smallest budget for this model with the optimizer state offloaded, rounded up to MiB. */
    private String smallestBudget() {
        Map<String, String> o = base("budget-probe");
        o.put("memory.budget", "1MiB");
        o.put("parallel.offload", "optimizer");
        o.put("run.steps", "1");
        try {
            Trainer.runSingle(TrainConfig.load(null, o), new PrintStream(new ByteArrayOutputStream()), false, 1);
        } catch (TandemException e) {
            Matcher m = SMALLEST.matcher(e.getMessage());
            if (m.find()) return (long) Math.ceil(Double.parseDouble(m.group(1))) + "MiB";
            throw e;
        }
        throw new IllegalStateException("a 1 MiB budget was accepted");
    }

    private Run train(Config c, String budget) {
        String name = c.name().replace(' ', '-');
        Map<String, String> o = base(name);
        if (!c.tier().isEmpty()) {
            o.put("memory.budget", budget);
            o.put("parallel.offload", "optimizer");
            o.put("memory.tier", c.tier());
            o.put("memory.file_access", c.access());
            o.put("memory.stride", Integer.toString(c.stride()));
            o.put("memory.cxl_read_gbps", Double.toString(cxl.get(0)));
            o.put("memory.cxl_write_gbps", Double.toString(cxl.get(1)));
            o.put("memory.cxl_latency_us", Double.toString(cxl.get(2)));
        }
        TrainConfig.load(null, o); // a bad option fails here, with its message, rather than in the child
        Launcher.runTrainQuietly("bench offload run " + name, 1, o);
        Path runDir = dir.resolve(name);
        List<Double> stepMs = MetricsLog.trainSteps(runDir.resolve("metrics.jsonl")).stream().map(j -> j.path("step_ms").asDouble()).toList();
        try {
            JsonNode mem = new ObjectMapper().readTree(runDir.resolve("memory-rank0.json").toFile());
            long fast = 0;
            for (var e : mem.path("bytes").properties()) if (!e.getKey().equals("offloaded")) fast += e.getValue().asLong();
            return new Run(median(stepMs.subList(warmup, stepMs.size())), mem.path("optimizer_ms_median").asDouble(),
                    mem.path("os").path("vm_hwm_bytes").asLong(), fast, mem.has("tier") ? mem.get("tier") : null);
        } catch (IOException e) {
            throw new TandemException("cannot read " + runDir.resolve("memory-rank0.json") + ": " + e.getMessage(), e);
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = xs.stream().sorted().toList();
        return s.get(s.size() / 2);
    }
}
