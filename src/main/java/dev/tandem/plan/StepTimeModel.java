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
 *       updated parameters after the step, ZeRO-2 reduces every micro-batch, ZeRO-3 gathers each layer's
 *       parameters before its forward and its backward, overlapped with the previous layer;</li>
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
        int tp = c.tp(), pp = c.pp(), dp = c.dp(), v = c.virtualStages(), mb = c.rowsPerMicroBatch(globalBatch);
        Recompute rc = c.recompute().heaviest();
        TrainingPrecision precision = c.precision();
        double micro = c.microBatches();
        double layersPerChunk = (double) c.layersPerDevice(m.layers()) / v;

        // Context parallelism: each rank computes 1/cp of every sequence, the mirrored chunks keep the causal work even.
        int cp = c.cp();
        double chunkCompute = layersPerChunk * lc.compute(rc) / cp;
        double chunkTp = layersPerChunk * lc.tpComm(rc);
        double embed = layers.embedding(mb) / cp, embedTp = layers.embeddingTensorParallel(tp, mb), out = layers.output(tp, mb) / cp;
        // The slower end of the pipeline sets the pace; with one stage both ends are on the device.
        boolean firstIsSlower = embed + embedTp >= out;
        double endStage = pp == 1 ? embed + out : firstIsSlower ? embed : out;
        double endStageTp = pp == 1 || firstIsSlower ? embedTp : 0;

        // Parameters on the busiest device, for gradient and optimizer traffic.
        double psi = Math.max(memory.stageParams(c, 0), memory.stageParams(c, pp - 1));
        double accumulatePsi = c.zero().shardsGradients() ? psi / dp : psi;
        double accumulate = timer.stream(3.0 * precision.gradBytes() * accumulatePsi);

        double compute = micro * (v * chunkCompute + endStage + accumulate);
        double tensorParallel = micro * (v * chunkTp + endStageTp);
        double bubble = (pp - 1) * (chunkCompute + chunkTp);

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
        double dataParallel = dataParallel(c, micro, psi, lc, backwardWindow);
        double optimizer = optimizer(c, psi);
        return new TimeBreakdown(compute, tensorParallel, p2p, dataParallel, bubble, optimizer);
    }

    private double dataParallel(Plan c, double micro, double psi, LayerCost lc, double window) {
        int dp = c.dp() * c.cp(); // gradients are summed over the context-parallel ranks too
        if (dp == 1) return 0;
        CommModel.Link link = comm.dataParallelLink(c);
        double grads = c.precision().gradBytes() * psi, params = c.precision().paramBytes() * psi;
        double lastBucket = Math.min(CommModel.BUCKET_BYTES, grads);
        return switch (c.zero()) {
            case ZERO0 -> Math.max(0, comm.allReduce(grads, dp, link) - window) + comm.allReduce(lastBucket, dp, link);
            case ZERO1 -> Math.max(0, comm.reduceScatter(grads, dp, link) - window) + comm.reduceScatter(lastBucket, dp, link)
                    + comm.allGather(params, dp, link);
            case ZERO2 -> micro * (Math.max(0, comm.reduceScatter(grads, dp, link) - window)
                    + comm.reduceScatter(lastBucket, dp, link)) + comm.allGather(params, dp, link);
            case ZERO3 -> {
                double layerBytes = (double) c.precision().paramBytes() * m.paramsPerLayer() / c.tp();
                double gather = comm.allGather(layerBytes, dp, link), scatter = comm.reduceScatter(layerBytes, dp, link);
                Recompute rc = c.recompute().heaviest();
                double perLayer = Math.max(0, gather - lc.forward())
                        + Math.max(0, gather + scatter - lc.backwardPhase(rc));
                double layersOnDevice = c.layersPerDevice(m.layers());
                // Embedding/output weights are gathered and reduced like a layer; the first gather of a
                // micro-batch has nothing to hide behind.
                double ends = psi - layersOnDevice * m.paramsPerLayer() / c.tp();
                double endBytes = c.precision().paramBytes() * ends;
                yield micro * (layersOnDevice * perLayer + gather
                        + comm.allGather(endBytes, dp, link) + comm.reduceScatter(endBytes, dp, link));
            }
        };
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
