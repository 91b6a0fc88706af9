package dev.tandem.plan;

import java.util.HashMap;
import java.util.Map;

/**
 * Predicts memory and step time of a plan for one model, cluster and global batch. Layer costs
 * depend only on (tp, sequence parallel, micro-batch) and are cached, so evaluating a candidate is
 * a handful of arithmetic operations; that is what makes exhaustive search cheap.
 */
public final class CostModel {
    private final ModelSpec model;
    private final ClusterSpec cluster;
    private final int globalBatch;
    private final MemoryModel memory;
    private final LayerModel layers;
    private final StepTimeModel time;
    private final Map<LayerModel.Shape, LayerCost> layerCache = new HashMap<>();

    public CostModel(ModelSpec model, ClusterSpec cluster, int globalBatch) {
        if (globalBatch < 1) throw new PlanInputException("global batch must be >= 1, got " + globalBatch);
        this.model = model;
        this.cluster = cluster;
        this.globalBatch = globalBatch;
        KernelTimer timer = new KernelTimer(cluster.hardware());
        CommModel comm = new CommModel(cluster);
        this.memory = new MemoryModel(model, cluster);
        this.layers = new LayerModel(model, timer, comm);
        this.time = new StepTimeModel(model, cluster, timer, comm, layers, memory);
    }

    public ModelSpec model() {
        return model;
    }

    public ClusterSpec cluster() {
        return cluster;
    }

    public int globalBatch() {
        return globalBatch;
    }

    public LayerCost layer(int tp, boolean sp, int microBatch) {
        return layer(new LayerModel.Shape(tp, sp, microBatch, AttentionKernel.MATERIALIZED, TrainingPrecision.MIXED, 1));
    }

    public LayerCost layer(LayerModel.Shape shape) {
        return layerCache.computeIfAbsent(shape, layers::layer);
    }

    /** Memory alone: lets the search skip timing plans that cannot fit. */
    public MemoryBreakdown memory(Plan c) {
        return memory.predict(c, globalBatch);
    }

    /** Memory of one device of pipeline stage {@code stage} (the runtime's rank 0 holds stage 0). */
    public MemoryBreakdown stageMemory(Plan c, int stage) {
        return memory.stage(c, globalBatch, stage);
    }

    /** Full prediction for a well-formed plan; throws if {@link PlanRules} rejects it. */
    public Prediction predict(Plan c) {
        String invalid = PlanRules.check(model, cluster, globalBatch, c);
        if (invalid != null) throw new PlanInputException("plan " + c.label() + ": " + invalid);
        MemoryBreakdown mem = memory(c);
        return predict(c, mem);
    }

    Prediction predict(Plan c, MemoryBreakdown mem) {
        TimeBreakdown t = time.predict(c, globalBatch, layer(LayerModel.Shape.of(c, globalBatch)));
        return new Prediction(c, mem, t,
                FlopsModel.hardware(model, globalBatch, c.recompute().heaviest(), c.attention()), FlopsModel.model(model, globalBatch),
                mfuPeak(c.precision()), cluster.devices(), rejection(c, mem));
    }

    /** The peak MFU is measured against: 16-bit (as Llama 3 reports its FP8 runs too), or float32's own. */
    private double mfuPeak(TrainingPrecision p) {
        return p == TrainingPrecision.FP32 ? p.gemmPeak(cluster.hardware()) : cluster.hardware().mixedPrecisionPeak();
    }

    /** Why a plan cannot run, or null. */
    String rejection(Plan c, MemoryBreakdown mem) {
        if (!mem.fits()) {
            return String.format(java.util.Locale.ROOT, "needs %.2f GB per device, has %.2f GB (activations %.2f GB, model states %.2f GB)",
                    mem.total() / 1e9, mem.capacity() / 1e9, mem.activations() / 1e9,
                    (mem.params() + mem.grads() + mem.optimizer()) / 1e9);
        }
        if (c.offload() == Offload.OPTIMIZER) {
            double perNode = mem.hostOptimizer() * cluster.devicesPerNode();
            if (perNode > cluster.hardware().host().memoryPerNode()) {
                return String.format("offloaded optimizer needs %.0f GB of host memory per node, has %.0f GB",
                        perNode / 1e9, cluster.hardware().host().memoryPerNode() / 1e9);
            }
        }
        return null;
    }
}
