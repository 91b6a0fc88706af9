package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.launch.Settings;
import dev.tandem.plan.Calibration;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.HardwareCatalog;
import dev.tandem.plan.MeshShape;
import dev.tandem.plan.ModelCatalog;
import dev.tandem.plan.ModelConfigLoader;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.OptimizerSpec;
import dev.tandem.plan.Plan;
import dev.tandem.plan.PlanInputException;
import dev.tandem.plan.PlanReport;
import dev.tandem.plan.PlanSearch;
import dev.tandem.plan.Prediction;
import dev.tandem.plan.SearchResult;
import dev.tandem.plan.TrainingPrecision;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem plan}: the fastest parallel plans for a model on a cluster, with predicted memory and time. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        header = "Find the fastest parallel plan for a model on a cluster.",
        description = {"Search parallel plans (dp, tp, pp, v, micro-batch, ZeRO, recompute, offload) and rank them by",
                "predicted step time, with memory per device and the time breakdown. See docs/PLANNER.md."})
final class PlanCommand implements Runnable {
    @Spec CommandSpec spec;

    @Option(names = "--model", paramLabel = "NAME|CONFIG",
            description = "Catalog name (gpt3-175b, megatron-1t, ...) or a JSON/TOML file with layers, hidden, heads, vocab, seq.")
    String model;

    @Option(names = "--cluster", paramLabel = "SPEC|FILE",
            description = "Devices, e.g. 1024xA100-80GB, 64xH100, 8xMI250X, 2xCPU, or a cluster file (nodes of different sizes, oversubscription).")
    String cluster;

    @Option(names = "--global-batch", paramLabel = "B", description = "Sequences per step (default: 1 per device, at least 512).")
    Integer globalBatch;

    @Option(names = "--seq", paramLabel = "S", description = "Override the model's sequence length.")
    Integer seq;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "Plans to show (default ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Option(names = "--compare", paramLabel = "PLAN",
            description = {"Also predict this plan (a label, keys as in the Best plan line) and say how the best differs,",
                    "e.g. \"tp=8 pp=64 recompute=full\". Left out: dp fills the cluster, one sequence per micro-batch."})
    String compare;

    @Option(names = "--precision", paramLabel = "fp32|mixed",
            description = "Parameter and gradient precision to plan for (default: mixed on accelerators, fp32 on a calibrated CPU).")
    String precision;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adamw",
            description = "Optimizer whose state the plans hold (default ${DEFAULT-VALUE}): adamw, adamw8bit, lion, lion8bit, muon, soap, sgd.")
    String optimizer;

    @Option(names = "--serve", description = {"Plan serving instead of training: simulate every dp x tp x pp serving plan on the",
            "request trace (--trace) with iteration-level batching and a KV cache, and rank them by --objective."})
    boolean serve;

    @Option(names = "--trace", paramLabel = "JSONL", description = "Requests for --serve: one {\"arrival\": s, \"prompt\": n, \"output\": n} per line.")
    java.nio.file.Path trace;

    @Option(names = "--objective", paramLabel = "ttft|tpot|latency|throughput", defaultValue = "ttft",
            description = "What --serve ranks by (default ${DEFAULT-VALUE}: p90 time to first token).")
    String objective;

    @Option(names = "--list", description = "List the model and hardware catalogs.")
    boolean list;

    @Option(names = "--calibrate", description = "Measure this machine (GEMM throughput, memory and copy bandwidth) for --cluster NxCPU.")
    boolean calibrate;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try {
            if (list) {
                out.println("models:  " + String.join(", ", ModelCatalog.all().keySet().stream().sorted().toList()));
                out.println("devices: " + String.join(", ", HardwareCatalog.names()) + ", CPU (with --calibrate)");
                return;
            }
            DeviceProbe.Measurement measured = null;
            if (calibrate) {
                spec.commandLine().getErr().println("measuring this machine: GEMM throughput, memory and copy bandwidth (a few seconds)...");
                spec.commandLine().getErr().flush();
                try (WorkerPool pool = new WorkerPool(Settings.of(spec.root().userObject()).compute().threads())) {
                    measured = new dev.tandem.train.TandemProbe(Kernels.fast(pool)).measure();
                }
                if (!json) out.println(Calibration.describe(measured));
                if (model == null && cluster == null) return;
            }
            if (model == null || cluster == null) throw new TandemException("plan needs --model and --cluster (or --list, --calibrate)");
            if (top < 1) throw new TandemException("--top must be >= 1");
            ModelSpec m = ModelConfigLoader.resolve(model);
            if (seq != null) m = m.withSeq(seq);
            ClusterSpec c = cluster(measured);
            if (serve) {
                if (trace == null) throw new TandemException("--serve needs --trace FILE.jsonl (one {\"arrival\": s, \"prompt\": n, \"output\": n} per line)");
                var requests = dev.tandem.plan.serve.RequestTrace.load(trace);
                var goal = dev.tandem.plan.serve.ServingSearch.Objective.named(objective);
                var ranked = dev.tandem.plan.serve.ServingSearch.rank(m, c, requests, goal);
                out.print(dev.tandem.plan.serve.ServingReport.text(m, c, requests, goal, ranked, top));
                out.flush();
                return;
            }
            int batch = globalBatch != null ? globalBatch : Math.max(512, c.devices());
            CostModel cost = new CostModel(m, c, batch);
            PlanSearch.Space space = PlanSearch.Space.of(c);
            space = space.with(precision == null ? space.precision() : TrainingPrecision.named(precision), OptimizerSpec.named(optimizer));
            if (space.precision().gemmPeak(c.hardware()) <= 0) {
                throw new TandemException("--precision " + space.precision().configName() + " needs " + space.precision().configName()
                        .toUpperCase(Locale.ROOT) + " GEMMs, which " + c.hardware().name() + " does not have: use --precision mixed");
            }
            SearchResult result = PlanSearch.search(cost, Math.max(top, 10), space);
            Prediction compared = compare == null ? null : cost.predict(compared(space, c.devices(), batch));
            if (result.ranked().isEmpty() && compared == null && !json) {
                out.print(PlanReport.text(result, top, null));
                out.flush();
                throw new TandemException("no plan fits; see the rejection reasons above");
            }
            out.print(json ? PlanReport.json(result, top, compared) + "\n" : PlanReport.text(result, top, compared));
            out.flush();
        } catch (PlanInputException e) {
            throw new TandemException(e.getMessage(), e);
        }
    }

    /** The --compare label over the search's precision and optimizer; dp and micro_batches as its help says when left out. */
    private Plan compared(PlanSearch.Space space, int devices, int batch) {
        Plan p = Plan.parse(compare, space.base());
        boolean hasDp = compare.matches("(?s).*\\bdp=.*"), hasMicro = compare.contains("micro_batches=");
        if (!hasDp) {
            p = p.withMesh(new MeshShape(Math.max(1, devices / (p.tp() * p.pp() * p.cp())), p.tp(), p.pp(), 1, p.cp(), p.mesh().hdp()));
        }
        if (!hasMicro) p = p.withMicroBatches(Math.max(1, batch / p.dp()));
        return p;
    }

    private ClusterSpec cluster(DeviceProbe.Measurement measured) {
        String spec = cluster.trim();
        if (spec.toUpperCase(Locale.ROOT).endsWith("XCPU")) {
            if (measured == null) throw new TandemException("a CPU cluster needs --calibrate (the planner measures this machine)");
            int ranks;
            try {
                ranks = Integer.parseInt(spec.substring(0, spec.length() - 4).trim());
            } catch (NumberFormatException e) {
                throw new TandemException("cluster spec '" + spec + "' should look like 2xCPU", e);
            }
            return ClusterSpec.of(ranks, Calibration.hardware(measured, ranks));
        }
        return dev.tandem.plan.ClusterFileLoader.resolve(spec);
    }
}
