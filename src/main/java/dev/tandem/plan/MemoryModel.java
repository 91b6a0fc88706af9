package dev.tandem.plan;

/**
 * Bytes per device for a plan: model states from {@link ZeroMemory} on the parameters a stage
 * holds, activations from {@link ActivationMemory} times the micro-batches a stage keeps in flight,
 * and the buffers around them. Both ends of the pipeline are checked (the first stage keeps the
 * most activations, the last holds the logits) and the larger is reported.
 */
public final class MemoryModel {
    private final ModelSpec m;
    private final ClusterSpec cluster;

    public MemoryModel(ModelSpec model, ClusterSpec cluster) {
        this.m = model;
        this.cluster = cluster;
    }

    /** Parameters on one device of stage {@code stage} (before ZeRO sharding). */
    public double stageParams(Plan c, int stage) {
        return stageMatrices(c) + stageOthers(c, stage);
    }

    /** The weight matrices of the layers on one device of a stage. */
    private double stageMatrices(Plan c) {
        return (double) c.layersPerDevice(m.layers()) * m.matrixParamsPerLayer() / c.tp();
    }

    /** Every other parameter on one device of stage {@code stage}: the layers' biases and norms, and the embeddings at the ends. */
    private double stageOthers(Plan c, int stage) {
        double layers = (double) c.layersPerDevice(m.layers()) * (m.paramsPerLayer() - m.matrixParamsPerLayer()) / c.tp();
        double words = (double) m.vocab() * m.hidden() / c.tp();
        double positions = (double) m.seq() * m.hidden();
        boolean first = stage == 0, last = stage == c.pp() - 1;
        // With pp > 1 the last stage keeps its own copy of the (tied) word embedding for the logits.
        return layers + (first ? words + positions : 0) + (last && !first ? words : 0);
    }

    public MemoryBreakdown predict(Plan c, int globalBatch) {
        MemoryBreakdown first = stage(c, globalBatch, 0);
        if (c.pp() == 1) return first;
        MemoryBreakdown last = stage(c, globalBatch, c.pp() - 1);
        return last.total() > first.total() ? last : first;
    }

    MemoryBreakdown stage(Plan c, int globalBatch, int stage) {
        Hardware hw = cluster.hardware();
        int mb = c.rowsPerMicroBatch(globalBatch), tp = c.tp(), pp = c.pp(), v = c.virtualStages();
        int micro = c.microBatches();
        Recompute rc = c.recompute().heaviest();
        TrainingPrecision precision = c.precision();
        boolean first = stage == 0, last = stage == pp - 1;

        ZeroMemory.ModelStates states = ZeroMemory.perDevice(stageMatrices(c), stageOthers(c, stage), c.dp(), c.zero(), precision,
                c.optimizer());
        // DiLoCo and NoLoCo keep float32 outer weights and momentum for every element the inner optimizer updates.
        double outer = c.outer().keepsOuterState()
                ? 8.0 * (stageMatrices(c) + stageOthers(c, stage)) / (c.zero().shardsOptimizer() ? c.dp() : 1) : 0;
        boolean offloaded = c.offload() == Offload.OPTIMIZER;
        double optimizerOnDevice = offloaded ? 0 : states.optimizer() + outer;
        double host = offloaded ? states.optimizer() + outer : 0;

        // Micro-batches whose activations a stage holds: GPipe holds all of them; 1F1B lets stage i run
        // p−i forwards ahead; interleaving adds (p−1)/(p·v) of a stage's worth on the first stage
        // (Korthikanti et al. 4.2.3).
        double layersPerStage = c.layersPerDevice(m.layers());
        double inFlight = pp == 1 ? 1 : c.schedule() instanceof Schedule.GPipe ? micro : Math.min(micro, pp - stage);
        if (v > 1 && pp > 1) inFlight *= 1 + (pp - 1.0) / (pp * v);
        // ParScale: the P streams are P× the sequences through every layer (the prefix keys are parameters).
        int rows = mb * m.streams();
        double perLayer = ActivationMemory.perLayer(m, rows, tp, c.sequenceParallel(), rc);
        double activations = layersPerStage * inFlight * perLayer;
        // Context parallelism: a rank holds 1/cp of each sequence (ring attention never forms more
        // than one chunk pair's scores), so its activations shrink by cp.
        int cp = c.cp();
        // The layer being back-propagated: everything it recomputed is alive at once.
        activations += switch (rc) {
            case FULL -> ActivationMemory.perLayer(m, rows, tp, c.sequenceParallel(), Recompute.NONE);
            case SELECTIVE -> ActivationMemory.attentionCore(m, rows, tp);
            case NONE -> 0;
        };
        activations /= cp;
        double sbh = (double) m.seq() / cp * mb * m.hidden();
        if (first) activations += inFlight * sbh / (c.sequenceParallel() ? tp : 1); // embedding dropout mask

        double buffers = 0;
        if (last) buffers += 6.0 * m.seq() / cp * mb * m.vocab() / tp; // 16-bit logits + FP32 copy in the loss
        if (cp > 1) buffers += 2 * 2 * 2 * sbh / tp; // ring attention: K and V being computed on and arriving
        if (tp > 1) buffers += 2 * sbh; // tensor-parallel all-reduce staging
        if (pp > 1) buffers += 2 * 2 * sbh / tp; // send and receive buffers
        if (c.dp() > 1 && !c.zero().shardsParameters()) buffers += 2 * CommModel.BUCKET_BYTES;
        if (c.zero().shardsParameters()) {
            double layerBytes = (double) precision.paramBytes() * m.paramsPerLayer() / tp;
            buffers += 3 * layerBytes; // gathered current + prefetched layer, one layer of full gradients
        }
        return new MemoryBreakdown(stage, states.params(), states.grads(), optimizerOnDevice, activations, buffers,
                hw.memory().reservedBytes(), hw.memory().bytes(), host);
    }
}
