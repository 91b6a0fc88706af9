package dev.tandem.plan.serve;

import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.CommModel;
import dev.tandem.plan.KernelTimer;
import dev.tandem.plan.ModelSpec;

/**
 * Seconds of one serving iteration on one replica (tp × pp devices, 16-bit weights and KV cache):
 * some requests prefill their whole prompt, the others decode one token each. Per layer and device
 * the weight GEMMs run over all the iteration's tokens (a roofline: at small batches reading the
 * weights from memory sets the time, at large ones the FLOPs), prefill attention runs as a flash
 * kernel over each prompt (causal half of 4·s²·h), decode attention reads each sequence's K and V
 * (memory-bound), the element-wise kernels stream the activations, and tensor parallelism adds two
 * all-reduces of the activations. The stages of a pipeline run one after the other (one batch in
 * flight), with a send of the activations between them; the last stage computes the logits of one
 * token per sequence.
 */
public final class IterationCost {
    private final ModelSpec m;
    private final KernelTimer timer;
    private final CommModel comm;
    private final int tp, pp;

    public IterationCost(ModelSpec model, ClusterSpec cluster, int tp, int pp) {
        this.m = model;
        this.timer = new KernelTimer(cluster.hardware());
        this.comm = new CommModel(cluster);
        this.tp = tp;
        this.pp = pp;
    }

    /** The iteration: {@code prefill} prompt lengths, {@code decode} current context lengths (prompt + tokens so far). */
    public double seconds(int[] prefill, int[] decode) {
        return compute(prefill, decode) + communication(prefill, decode);
    }

    /** Kernel seconds of the iteration, communication left out (what tensor parallelism divides). */
    public double compute(int[] prefill, int[] decode) {
        double tokens = decode.length, sequences = prefill.length + decode.length;
        for (int p : prefill) tokens += p;
        if (sequences == 0) return 0;
        double h = m.hidden(), t = tp, d = m.headDim();
        double kv = Math.max(1.0, (double) m.kvHeads() / t) * d, heads = (double) m.heads() / t;
        double f = m.ffnHidden(), up = m.mlp().upWidth(m.ffnHidden()), dense = 1 - m.moeFraction();
        double layer = timer.gemm(tokens, h / t + 2 * kv, h, 1) + timer.gemm(tokens, h, h / t, 1)
                + dense * (timer.gemm(tokens, up / t, h, 1) + timer.gemm(tokens, h, f / t, 1));
        if (m.moe().sparse()) {
            // Each expert runs over the tokens routed to it; all experts are read once the batch touches them.
            double experts = m.moe().experts(), touched = Math.min(experts, tokens * m.moe().topK());
            double rows = tokens * m.moe().topK() / touched;
            layer += m.moeFraction() * (timer.gemm(rows, up / t, h, touched) + timer.gemm(rows, h, f / t, touched));
        }
        for (int s : prefill) {
            double pair = timer.gemmCompute(s, s, d, heads) + timer.gemmCompute(s, d, s, heads);
            layer += 0.5 * pair + timer.launch();
        }
        double contexts = 0;
        for (int c : decode) contexts += c;
        if (decode.length > 0) layer += timer.memoryBound(2 * 2 * kv * contexts); // K and V of every decoding sequence, 16-bit
        layer += timer.memoryBound((4 + 7 + 4 + 7) * tokens * h + (m.mlp().upWidth(m.ffnHidden()) + f) * 2 * tokens / t);
        double layersPerStage = Math.ceil((double) m.layers() / pp);
        double logits = timer.gemm(sequences, (double) m.vocab() / t, h, 1);
        double embed = timer.memoryBound(4 * tokens * h);
        // The stages run one after the other; the first adds the embedding, the last the logits.
        return pp * layersPerStage * layer + logits + embed;
    }

    /** Tensor-parallel all-reduces (two per layer) and pipeline sends of the iteration. */
    public double communication(int[] prefill, int[] decode) {
        double tokens = decode.length;
        for (int p : prefill) tokens += p;
        if (tokens == 0) return 0;
        double bytes = 2 * tokens * m.hidden();
        double perLayer = tp == 1 ? 0 : 2 * comm.tensorParallelAllReduce(bytes, tp);
        double layers = pp * Math.ceil((double) m.layers() / pp);
        double sends = pp == 1 ? 0 : (pp - 1) * comm.pointToPoint(bytes, comm.spanning((long) pp * tp));
        return layers * perLayer + sends;
    }

    /** Bytes of weights on one device (16-bit; the busiest stage, the embedding and untied head included). */
    public double weightBytesPerDevice() {
        return 2.0 * m.params() / (tp * pp) * (pp > 1 ? 1.0 + 1.0 / m.layers() : 1.0);
    }

    /** KV-cache bytes per token of context over the whole replica (16-bit K and V of every layer). */
    public double kvBytesPerToken() {
        return 2.0 * 2 * m.layers() * Math.max(m.kvDim(), (double) tp * m.headDim());
    }
}
