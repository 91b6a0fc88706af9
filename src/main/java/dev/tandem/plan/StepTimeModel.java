package dev.tandem.plan;

/**
 * Seconds of one training step on the bottleneck device, assembled from per-layer kernel times
 * ({@link LayerModel}) and collective times ({@link CommModel}):
 *
 * <ul>
 *   <li>compute: m micro-batches × (v chunks × layers per chunk × layer time + the embedding or
 *       output layer of the end stage), plus adding each micro-batch's weight gradients into the
 *       gradient buffer (a separate kernel: read two gradients, write one);</li>
 *   <li>tensor parallel: every collective is on the critical path (the next GEMM needs its result);</li>
 *   <li>pipeline: the bubble is (p−1) chunk times ((p−1)/(m·v) of the ideal time), each micro-batch
 *       sends one activation forward and one gradient back per chunk, blocking;</li>
 *   <li>data parallel: the gradient reduction starts bucket by bucket during the backward of the last
 *       micro-batch and hides behind it, except the last bucket; ZeRO-1/2 add an all-gather of the
 *       updated parameters after the step, ZeRO-2 reduces every micro-batch, ZeRO-3 as {@link ZeroThree}
 *       describes; communication that runs under compute slows that compute by the share of the
 *       device it occupies;</li>
 *   <li>experts: the dispatch and combine all-to-alls of MoE layers block;</li>
 *   <li>islands: what the outer algorithm sends between islands, per step;</li>
 *   <li>optimizer: the update streams its state and master copy in and out, reads the gradient and
 *       writes the parameter (read and write in float32, where there is no master copy): 28 bytes per
 *       parameter of its shard for Adam in either precision; offloaded, gradients go down and
 *       parameters come back over the host link and the host's memory bandwidth (shared by the
 *       node's devices) does the step.</li>
 * </ul>
 *
 * Parameter and gradient bytes follow the plan's precision; kernel traffic and activations are
 * modelled in 16 bits whatever the precision.
 */
public final class StepTimeModel {
    private final ModelSpec m;
    private final ClusterSpec cluster;
    private final KernelTimer timer;
    private final CommModel comm;
    private final LayerModel layers;
    private final MemoryModel memory;

    public StepTimeModel(ModelSpec model, ClusterSpec cluster, KernelTimer timer, CommModel comm, LayerModel layers,
                         MemoryModel memory) {
        this.m = model;
        this.cluster = cluster;
        this.timer = timer;
        this.comm = comm;
        this.layers = layers;
        this.memory = memory;
    }

    public TimeBreakdown predict(Plan c, int globalBatch, LayerCost lc) {
        int tp = c.tp(), pp = c.pp(), v = c.virtualStages(), mb = c.rowsPerMicroBatch(globalBatch);
        Recompute rc = c.recompute().heaviest();
        TrainingPrecision precision = c.precision();
        double micro = c.microBatches();
        double layersPerChunk = (double) c.layersPerDevice(m.layers()) / v;

        // Context parallelism: each rank computes 1/cp of every sequence, the mirrored chunks keep the causal work even.
        int cp = c.cp();
        double chunkCompute = layersPerChunk * lc.compute(rc) / cp;
        double chunkTp = layersPerChunk * lc.tpComm(rc);
        double chunkA2a = layersPerChunk * lc.a2aComm(rc);
        double embed = layers.embedding(mb) / cp, embedTp = layers.embeddingTensorParallel(tp, mb), out = layers.output(tp, mb, precision) / cp;
        // The slower end of the pipeline sets the pace; with one stage both ends are on the device.
        boolean firstIsSlower = embed + embedTp >= out;
        double endStage = pp == 1 ? embed + out : firstIsSlower ? embed : out;
        double endStageTp = pp == 1 || firstIsSlower ? embedTp : 0;

        // Parameters on the busiest device, for gradient and optimizer traffic.
        double psi = Math.max(memory.stageParams(c, 0), memory.stageParams(c, pp - 1));
        double accumulatePsi = c.zero().shardsGradients() ? psi / c.dp() : psi;
        double accumulate = timer.stream(3.0 * precision.gradBytes() * accumulatePsi);

        double compute = micro * (v * chunkCompute + endStage + accumulate);
        double tensorParallel = micro * (v * chunkTp + endStageTp);
        double expertParallel = micro * v * chunkA2a;
        double bubble = (pp - 1) * (chunkCompute + chunkTp + chunkA2a);

        double p2p = 0;
        if (pp > 1) {
            // Megatron's scatter/gather: each tp rank sends its 1/t slice of the activation.
            double send = comm.pointToPoint(2.0 * mb * m.seq() * m.hidden() / tp, comm.pipelineLink(c));
            p2p = 2 * (micro * v + pp - 1) * send;
        }

        // K and V of the rank's 1/cp of each sequence, 16-bit, around the ring in every layer.
        double kvBytes = 2.0 * 2 * mb * ((double) m.seq() / cp) * m.hidden() / tp;
        p2p += micro * c.layersPerDevice(m.layers()) * comm.ringAttention(kvBytes, cp, comm.contextLink(c));

        double backwardWindow = v * layersPerChunk * lc.backwardPhase(rc);
        Overlap dataParallel = dataParallel(c, micro, psi, lc, backwardWindow);
        // Collectives that overlap compute take their streaming multiprocessors from it.
        compute += ZeroThree.contention(cluster.hardware()) * dataParallel.hidden();
        double optimizer = optimizer(c, psi);
        return new TimeBreakdown(compute, tensorParallel, p2p, dataParallel.exposed(), bubble, optimizer, expertParallel,
                islands(c, psi));
    }

    /** Data-parallel communication on the critical path, and the part of it that ran under compute. */
    record Overlap(double exposed, double hidden) {
        static Overlap of(double comm, double window) {
            double exposed = Math.max(0, comm - window);
            return new Overlap(exposed, comm - exposed);
        }

        Overlap plus(Overlap o) {
            return new Overlap(exposed + o.exposed, hidden + o.hidden);
        }

        Overlap times(double k) {
            return new Overlap(k * exposed, k * hidden);
        }

        static Overlap exposed(double seconds) {
            return new Overlap(seconds, 0);
        }
    }

    private Overlap dataParallel(Plan c, double micro, double psi, LayerCost lc, double window) {
        int dp = c.dp() * c.cp(); // gradients are summed over the context-parallel ranks too
        if (dp == 1) return Overlap.exposed(0);
        CommModel.Link link = comm.dataParallelLink(c);
        double grads = c.precision().gradBytes() * psi, params = c.precision().paramBytes() * psi;
        double lastBucket = Math.min(CommModel.BUCKET_BYTES, grads);
        return switch (c.zero()) {
            case ZERO0 -> Overlap.of(comm.allReduce(grads, dp, link), window).plus(Overlap.exposed(comm.allReduce(lastBucket, dp, link)));
            case ZERO1 -> Overlap.of(comm.reduceScatter(grads, dp, link), window)
                    .plus(Overlap.exposed(comm.reduceScatter(lastBucket, dp, link) + comm.allGather(params, dp, link)));
            case ZERO2 -> Overlap.of(comm.reduceScatter(grads, dp, link), window).plus(Overlap.exposed(comm.reduceScatter(lastBucket, dp, link)))
                    .times(micro).plus(Overlap.exposed(comm.allGather(params, dp, link)));
            case ZERO3 -> zeroThree(c, micro, psi, lc, link);
        };
    }

    /**
     * ZeRO-3 as {@link ZeroThree} describes it: per layer, the gather of its parameters in the forward
     * (prefetched behind the forward compute), and in the backward the gather again plus the float32
     * reduce-scatter of its gradients (behind the backward, recompute included). The embedding and output layer are one more module
     * each, and the first gather of a micro-batch has nothing to hide behind.
     */
    private Overlap zeroThree(Plan c, double micro, double psi, LayerCost lc, CommModel.Link link) {
        int dp = c.dp();
        double layerParams = m.paramsPerLayer() / c.tp();
        double gather = comm.allGather(c.precision().paramBytes() * layerParams, dp, link);
        double scatter = comm.reduceScatter(ZeroThree.REDUCE_BYTES * layerParams, dp, link);
        Recompute rc = c.recompute().heaviest();
        Overlap perLayer = Overlap.of(gather, lc.forward()).plus(Overlap.of(gather + scatter, lc.backwardPhase(rc)));
        double layersOnDevice = c.layersPerDevice(m.layers());
        double ends = psi - layersOnDevice * layerParams;
        double endComm = comm.allGather(c.precision().paramBytes() * ends, dp, link) + comm.reduceScatter(ZeroThree.REDUCE_BYTES * ends, dp, link);
        return perLayer.times(layersOnDevice).plus(Overlap.exposed(gather + endComm)).times(micro);
    }

    /**
     * The traffic between islands per step, over the island link (or the cluster's network when the
     * link is not throttled): sync all-reduces each step's gradients of a device's data-parallel shard
     * across islands; DiLoCo all-reduces a float32 pseudo-gradient every H steps; NoLoCo exchanges one
     * with a single peer island every H steps. Each rank talks to its counterparts in the other islands.
     */
    private double islands(Plan c, double psi) {
        OuterSpec o = c.outer();
        if (c.islands() == 1 || o.algorithm() == OuterSpec.Algorithm.NONE) return 0;
        IslandLink link = o.link();
        double bandwidth = link.bitsPerSecond() > 0 ? link.bytesPerSecond() : comm.bandwidth(CommModel.Link.CROSS_LEAF);
        double latency = link.latencySeconds() > 0 ? link.latencySeconds() : comm.latency(CommModel.Link.INTER_NODE);
        double shard = psi / c.dp();
        int n = c.islands();
        return switch (o.algorithm()) {
            case NONE -> 0;
            case SYNC -> ring(c.precision().gradBytes() * shard, n, bandwidth, latency);
            case DILOCO -> ring(4 * shard, n, bandwidth, latency) / o.steps();
            case NOLOCO -> (4 * shard / bandwidth + latency) / o.steps();
        };
    }

    /** A ring all-reduce of {@code bytes} over n members joined by links of this bandwidth and latency. */
    static double ring(double bytes, int n, double bandwidth, double latency) {
        if (n <= 1) return 0;
        return 2.0 * (n - 1) / n * bytes / bandwidth + 2.0 * (n - 1) * latency;
    }

    private double optimizer(Plan c, double psi) {
        double shard = c.zero().shardsOptimizer() ? psi / c.dp() : psi;
        double bytes = updateBytesPerParameter(c) * shard;
        if (c.offload() == Offload.NONE) return timer.stream(bytes);
        Hardware.Host host = cluster.hardware().host();
        double transfers = (c.precision().gradBytes() + c.precision().paramBytes()) * shard / host.linkBandwidth();
        double hostStep = bytes / (host.memoryBandwidthPerNode() / cluster.devicesPerNode());
        return transfers + hostStep;
    }

    /**
     * Bytes the optimizer step moves per parameter: the gradient in, state and master copy in and
     * out, the parameter out (in and out when the parameters are the master copy).
     */
    static double updateBytesPerParameter(Plan c) {
        TrainingPrecision p = c.precision();
        double state = c.optimizer().stateBytesPerParameter(true);
        return p.gradBytes() + 2 * (p.masterBytes() + state) + p.paramBytes() * (p.masterBytes() > 0 ? 1 : 2);
    }
}
