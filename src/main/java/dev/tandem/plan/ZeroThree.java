package dev.tandem.plan;

/**
 * How ZeRO-3 (FSDP) runs, for its time and its buffers. Parameters live sharded and are gathered
 * for use module by module (a module is one weight matrix with its small tensors), the next one
 * prefetched while the current one computes; the collectives of one layer go out as one coalesced
 * ring per direction (DeepSpeed's coalesced all-gather of the prefetch bucket, FSDP's flat parameter
 * per block), so each pays the ring's n−1 latency steps once per layer. After the forward the
 * gathered parameters are freed, so the backward gathers them again (once, for the recomputed
 * forward and the backward together); each module's gradient is reduce-scattered as soon as the
 * backward has produced it, in float32 (FSDP's mixed-precision recipe: torchtitan's default reduce
 * dtype, Llama 3's "reduce-scatter in FP32"), which is twice the bytes of the 16-bit gather.
 *
 * <p>Communication that overlaps compute still costs compute: NCCL runs each ring channel as a
 * thread block on its own streaming multiprocessor, up to {@value #COMM_SMS} channels on a
 * multi-NIC node, and the GEMMs lose those multiprocessors while it runs. At a small per-device
 * batch the gathers and reduce-scatters take longer than the layer's compute and set the pace.
 */
final class ZeroThree {
    /** Modules gathered ahead of the one computing (FSDP's default backward and forward prefetch of one). */
    static final int PREFETCH = 1;
    /** Bytes per gradient element in the reduce-scatter. */
    static final int REDUCE_BYTES = 4;
    /** Streaming multiprocessors (compute units) a running NCCL collective occupies: 16 channels, one block each. */
    static final int COMM_SMS = 32;

    private ZeroThree() {}

    /** The largest module of a layer (its weight matrix parameters on one tensor-parallel rank). */
    static double largestModule(ModelSpec m, int tp) {
        double h = m.hidden();
        double qkv = h * (h + 2.0 * m.kvDim()), mlp = h * m.ffnHidden() * (m.moe().sparse() ? m.moe().experts() : 1);
        return Math.max(qkv, mlp) / tp;
    }

    /**
     * Bytes ZeRO-3 keeps beyond the shards: the module computing and {@link #PREFETCH} gathered
     * ahead, in the parameters' precision, and one module's gradient cast for its reduce-scatter.
     */
    static double buffers(ModelSpec m, Plan c) {
        double module = largestModule(m, c.tp());
        return (1 + PREFETCH) * module * c.precision().paramBytes() + module * REDUCE_BYTES;
    }

    /** Fraction of a device's compute a running collective takes away. */
    static double contention(Hardware hw) {
        return Math.min(1.0, (double) COMM_SMS / hw.compute().units());
    }
}
