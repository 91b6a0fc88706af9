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

    /** The weight matrices of the layers on one device of a stage: attention and dense MLPs, and its share of the experts. */
    private double stageMatrices(Plan c) {
        return stageDenseMatrices(c) + stageExperts(c);
    }

    private double stageDenseMatrices(Plan c) {
        return (double) c.layersPerDevice(m.layers()) * m.denseMatrixParamsPerLayer() / c.tp();
    }

    /** Expert matrices held: all of them, 1/ep of them in an expert group, 1/dp (each expert's owner) under FSSDP. */
    private double stageExperts(Plan c) {
        return (double) c.layersPerDevice(m.layers()) * m.expertParamsPerLayer() / c.tp() / expertShards(c);
    }

    private static int expertShards(Plan c) {
        return c.experts().mode() == ExpertLayout.Mode.FSSDP ? c.dp() : c.ep();
    }

    /** Every other parameter on one device of stage {@code stage}: the layers' biases and norms, and the embeddings at the ends. */
    private double stageOthers(Plan c, int stage) {
        double layers = (double) c.layersPerDevice(m.layers()) * m.otherParamsPerLayer() / c.tp();
        double words = (double) m.wordParams() / c.tp();
        double positions = m.positionParams();
        boolean first = stage == 0, last = stage == c.pp() - 1;
        // The last stage needs output weights: an untied head of its own, or (pp > 1) its copy of the tied word embedding.
        double head = m.tiedHead() ? (first ? 0 : words) : (double) m.headParams() / c.tp();
        return layers + (first ? words + positions : 0) + (last ? head : 0);
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

        // Experts are replicated over dp / (their shards) ranks, which is what ZeRO can shard them over. The
        // dense model is whole on every rank of a cp group too, and the runtime shards it over dp·cp.
        ZeroMemory.ModelStates dense = ZeroMemory.perDevice(stageDenseMatrices(c), stageOthers(c, stage), c.dp() * c.cp(), c.zero(), precision,
                c.optimizer());
        ZeroMemory.ModelStates experts = ZeroMemory.perDevice(stageExperts(c), 0, c.dp() / expertShards(c), c.zero(), precision,
                c.optimizer());
        ZeroMemory.ModelStates states = new ZeroMemory.ModelStates(dense.params() + experts.params(), dense.grads() + experts.grads(),
                dense.optimizer() + experts.optimizer());
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
        AttentionKernel attention = c.attention();
        double perLayer = ActivationMemory.perLayer(m, rows, tp, c.sequenceParallel(), rc, attention, precision);
        double activations = layersPerStage * inFlight * perLayer;
        // Context parallelism: a rank holds 1/cp of each sequence (ring attention never forms more
        // than one chunk pair's scores), so its activations shrink by cp.
        int cp = c.cp();
        // The layer being back-propagated: everything it recomputed is alive at once.
        activations += switch (rc) {
            case FULL -> ActivationMemory.perLayer(m, rows, tp, c.sequenceParallel(), Recompute.NONE, attention, precision);
            case SELECTIVE -> attention == AttentionKernel.FLASH ? 0 : ActivationMemory.attentionCore(m, rows, tp);
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
        if (c.dp() * c.cp() > 1 && !c.zero().shardsParameters()) buffers += 2 * CommModel.BUCKET_BYTES;
        if (c.zero().shardsParameters()) buffers += ZeroThree.buffers(m, c);
        if (precision == TrainingPrecision.FP8) {
            // The FP8 copy of each weight and its transpose while in use: all of them, or under ZeRO-3 the gathered modules.
            buffers += 2 * (c.zero().shardsParameters() ? (1 + ZeroThree.PREFETCH) * ZeroThree.largestModule(m, tp) : stageMatrices(c));
        }
        if (m.moe().sparse() && c.ep() > 1) {
            // Dispatch and combine buffers of the tokens' rows, 16-bit, in and out.
            buffers += 2 * 2.0 * mb * m.seq() * m.moe().computedExperts() * m.hidden() * 2;
        }
        return new MemoryBreakdown(stage, states.params(), states.grads(), optimizerOnDevice, activations, buffers,
                hw.memory().reservedBytes(), hw.memory().bytes(), host);
    }
}
