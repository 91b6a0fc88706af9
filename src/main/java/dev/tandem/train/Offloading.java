package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;
import dev.tandem.offload.ByteSize;
import dev.tandem.offload.FileTier;
import dev.tandem.offload.OffloadedAdamW;
import dev.tandem.offload.RamTier;
import dev.tandem.offload.ThrottledTier;
import dev.tandem.offload.Tier;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.parallel.ParallelModel;
import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.Calibration;
import dev.tandem.plan.CostModel;
import dev.tandem.plan.DeviceProbe;
import dev.tandem.plan.MemoryBreakdown;
import dev.tandem.plan.Offload;
import dev.tandem.plan.Plan;
import dev.tandem.plan.PlanInputException;
import dev.tandem.plan.TierPlacement;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.train.config.MemorySection;
import dev.tandem.train.config.TrainConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The optimizer of a run with a memory budget ({@code [memory]}): places this rank's tensors in
 * the fast tier or the slow one ({@link TierPlacement}), refusing before training a run that cannot
 * fit, then builds AdamW with its state where the placement puts it. Without a budget it is the
 * plain optimizer, in RAM.
 */
final class Offloading {
    private Offloading() {}

    /**
     * @param rank this rank, for the file tier's working file
     */
    static Optimizer optimizer(TrainConfig cfg, ParallelModel pm, GPTConfig model, Kernels kernels, int rank, int ranks,
                               PrintStream out) {
        MemorySection mem = cfg.memory();
        Plan plan = cfg.parallel();
        List<ParamSlice> slices = pm.optimizerSlices();
        if (mem.budgetBytes() == 0) return Optimizers.create(cfg.optim().name(), cfg.optimizerSettings(), slices, kernels);
        boolean offload = plan.offload() == Offload.OPTIMIZER;
        if (!offload && !cfg.optim().name().equals("adamw")) {
            throw new TandemException("memory.budget places optimizer state by size, which the runtime does for adamw; optim.name is "
                    + cfg.optim().name() + ": use adamw, or leave memory.budget empty");
        }
        MemoryAccounting acc = MemoryAccounting.current();
        MemoryBreakdown predicted = predictedActivations(cfg, model, ranks);
        Map<String, Long> hot = new LinkedHashMap<>();
        hot.put("parameters", acc.live(MemoryCategory.PARAMETERS));
        hot.put("gradients", acc.live(MemoryCategory.GRADIENTS));
        hot.put("activations and buffers (predicted)", (long) (predicted.activations() + predicted.buffers()));
        long[] warm = slices.stream().mapToLong(s -> 8 * s.length()).toArray();
        long subgroup = mem.subgroupElements();
        long staging = OffloadedAdamW.stagingBytes(subgroup);
        TierPlacement place;
        try {
            place = TierPlacement.place(mem.budgetBytes(), hot, warm, staging, offload);
        } catch (PlanInputException e) {
            long activations = hot.get("activations and buffers (predicted)");
            // Long sequences: the activations grow with the tokens a rank holds, which context parallelism divides.
            throw new TandemException(e.getMessage() + (activations > mem.budgetBytes() / 2 && plan.pp() == 1 && plan.tp() == 1
                    ? String.format(Locale.ROOT, "; the activations (%s) are most of it: parallel.cp = k splits each sequence over k "
                    + "ranks, each holding 1/k of them", ByteSize.format(activations)) : ""));
        }
        Tier tier = place.slowBytes() == 0 ? null : openTier(cfg, place.slowBytes(), rank);
        OffloadedAdamW opt = new OffloadedAdamW(cfg.optimizerSettings().adamw(), slices, cfg.optimizerSettings().groups(), kernels,
                place.resident(), tier, subgroup, mem.stride());
        out.printf(Locale.ROOT, "memory: budget %s per rank; fast tier %s (parameters %s, gradients %s, activations predicted %s, "
                        + "optimizer state %s, staging %s); %s%n", ByteSize.format(mem.budgetBytes()), ByteSize.format(place.fastBytes()),
                ByteSize.format(hot.get("parameters")), ByteSize.format(hot.get("gradients")),
                ByteSize.format(hot.get("activations and buffers (predicted)")), ByteSize.format(opt.residentBytes()),
                ByteSize.format(opt.stagingBytes()), tier == null ? "nothing offloaded"
                        : String.format(Locale.ROOT, "slow tier %s holds %s of optimizer state in %d subgroups, interleaved with k = %d%s",
                        tier.spec().describe(), ByteSize.format(place.slowBytes()), opt.subgroupCount(), opt.stride(),
                        opt.stride() == 0 ? " (no interleaving: every subgroup updates in the slow tier)" : ""));
        return opt;
    }

    /** The planner's activations and buffers for this plan (they do not depend on the machine's speed). */
    private static MemoryBreakdown predictedActivations(TrainConfig cfg, GPTConfig model, int ranks) {
        var any = new DeviceProbe.Measurement(1e9, 1e9, 1e9, 1, Long.MAX_VALUE / 4, "memory only");
        CostModel cost = new CostModel(cfg.modelSpec(model.vocabSize()), ClusterSpec.of(ranks, Calibration.hardware(any, ranks)),
                cfg.data().batchSize());
        return cost.stageMemory(cfg.parallel(), 0);
    }

    private static Tier openTier(TrainConfig cfg, long bytes, int rank) {
        MemorySection mem = cfg.memory();
        return switch (mem.tierKind()) {
            case "ram" -> new RamTier(bytes);
            case "cxl" -> new ThrottledTier(new RamTier(bytes), mem.cxlReadGbps() * 1e9, mem.cxlWriteGbps() * 1e9,
                    (long) (mem.cxlLatencyUs() * 1e3));
            case "file" -> {
                Path dir = mem.path().isBlank() ? Path.of(cfg.run().runsDir(), cfg.run().name(), "offload") : Path.of(mem.path());
                yield new FileTier(dir.resolve("optimizer-rank" + rank + ".bin"), bytes, mem.access());
            }
            default -> throw new IllegalStateException(mem.tierKind());
        };
    }
}
