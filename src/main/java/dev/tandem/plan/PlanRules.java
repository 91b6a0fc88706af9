package dev.tandem.plan;

/**
 * Whether a plan is well-formed for a model, cluster and global batch (before asking whether it
 * fits): the one place that knows how the parallel dimensions must divide each other.
 */
public final class PlanRules {
    private PlanRules() {}

    /** Null when valid, else the reason in one line. */
    public static String check(ModelSpec m, ClusterSpec cluster, int globalBatch, PlanCandidate c) {
        int perNode = cluster.devicesPerNode();
        if (c.devices() != cluster.devices()) {
            return "tp·pp·dp = " + c.devices() + " but the cluster has " + cluster.devices() + " devices";
        }
        if (c.tp() > perNode || perNode % c.tp() != 0) {
            return "tp=" + c.tp() + " must divide the " + perNode + " devices of a node (tensor parallelism stays inside a node)";
        }
        if (m.heads() % c.tp() != 0 || m.ffnHidden() % c.tp() != 0) {
            return "tp=" + c.tp() + " must divide the heads (" + m.heads() + ") and the MLP width (" + m.ffnHidden() + ")";
        }
        if (c.pp() > m.layers()) return "pp=" + c.pp() + " exceeds the " + m.layers() + " layers";
        if (c.chunks() > 1 && m.layers() % (c.pp() * c.chunks()) != 0) {
            return "interleaved schedule: pp·v = " + c.pp() * c.chunks() + " must divide the " + m.layers() + " layers";
        }
        if (globalBatch % (c.microBatch() * c.dp()) != 0) {
            return "global batch " + globalBatch + " is not a multiple of micro-batch × dp = " + c.microBatch() * c.dp();
        }
        if (c.chunks() > 1) {
            int micro = c.microBatches(globalBatch);
            if (c.pp() == 1) return "an interleaved schedule (v>1) needs pipeline parallelism (pp>1)";
            if (micro % c.pp() != 0) return "interleaved schedule: micro-batches (" + micro + ") must be a multiple of pp=" + c.pp();
        }
        if (c.sequenceParallel() && c.tp() == 1) return "sequence parallelism needs tp>1";
        if (c.zero().shardsOptimizer() && c.dp() == 1) return "ZeRO needs dp>1";
        return null;
    }
}
