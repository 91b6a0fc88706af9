package dev.tandem.plan;

/**
 * Predicted bytes on the busiest device (the pipeline stage that needs the most).
 *
 * @param stage which pipeline stage this is (0 = first)
 * @param buffers communication buffers, gathered ZeRO-3 layers, logits of the output layer
 * @param reserved runtime context, workspaces and allocator slack (from the hardware catalog)
 * @param hostOptimizer optimizer bytes kept in host memory per device when offloading
 */
public record MemoryBreakdown(int stage, double params, double grads, double optimizer, double activations,
                              double buffers, double reserved, double capacity, double hostOptimizer) {
    public double total() {
        return params + grads + optimizer + activations + buffers + reserved;
    }

    public boolean fits() {
        return total() <= capacity;
    }
}
