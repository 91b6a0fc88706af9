package dev.tandem.plan;

/**
 * Time of collectives on the cluster's links, ring algorithms (what NCCL uses for large messages):
 * all-reduce moves 2(n−1)/n of the buffer through every rank's link in 2(n−1) steps, reduce-scatter
 * and all-gather (n−1)/n in n−1 steps, point-to-point the buffer once.
 *
 * <p>A ring is as fast as its slowest hop. Inside a node that is the device's fabric link; once a
 * group spans nodes it is the device's own share of the node's network (its NIC on a
 * rail-optimized cluster). Every device of a node communicates at the same time in its own group,
 * so a group gets no more than one NIC per member: no node-level aggregation is assumed.
 */
public final class CommModel {
    /** Gradient bucket that a data-parallel reduction can only start after the backward ends (PyTorch DDP default 25 MB). */
    static final double BUCKET_BYTES = 25e6;

    /** Inside a node, between nodes under one leaf switch, and across the (maybe oversubscribed) core. */
    public enum Link { INTRA_NODE, INTER_NODE, CROSS_LEAF }

    private final Hardware.Network net;
    private final int devicesPerNode;
    private final long devicesPerLeaf;
    private final double oversubscription;

    public CommModel(ClusterSpec cluster) {
        this.net = cluster.hardware().network();
        this.devicesPerNode = cluster.devicesPerNode();
        this.devicesPerLeaf = cluster.devicesPerLeaf();
        this.oversubscription = cluster.oversubscription();
    }

    public int devicesPerNode() {
        return devicesPerNode;
    }

    public double bandwidth(Link link) {
        return switch (link) {
            case INTRA_NODE -> net.intraBandwidth() * net.intraEfficiency();
            case INTER_NODE -> net.interBandwidth() * net.interEfficiency();
            case CROSS_LEAF -> net.interBandwidth() * net.interEfficiency() / oversubscription;
        };
    }

    public double latency(Link link) {
        return link == Link.INTRA_NODE ? net.intraLatency() : net.interLatency();
    }

    /** The link of a group of {@code span} consecutive ranks: inside a node, under one leaf, or across the core. */
    public Link spanning(long span) {
        return span <= devicesPerNode ? Link.INTRA_NODE : span <= devicesPerLeaf ? Link.INTER_NODE : Link.CROSS_LEAF;
    }

    public double allReduce(double bytes, int n, Link link) {
        if (n <= 1) return 0;
        return 2.0 * (n - 1) / n * bytes / bandwidth(link) + 2.0 * (n - 1) * latency(link);
    }

    /** Reduce-scatter or all-gather of a buffer of {@code bytes} (the full, unsharded size). */
    public double reduceScatter(double bytes, int n, Link link) {
        if (n <= 1) return 0;
        return (double) (n - 1) / n * bytes / bandwidth(link) + (n - 1) * latency(link);
    }

    public double allGather(double bytes, int n, Link link) {
        return reduceScatter(bytes, n, link);
    }

    /**
     * All-to-all where each of n ranks holds {@code bytes} to spread evenly over the group: it keeps
     * 1/n and sends (n−1)/n, in n−1 pairwise exchanges.
     */
    public double allToAll(double bytes, int n, Link link) {
        if (n <= 1) return 0;
        return (double) (n - 1) / n * bytes / bandwidth(link) + (n - 1) * latency(link);
    }

    public double pointToPoint(double bytes, Link link) {
        return bytes / bandwidth(link) + latency(link);
    }

    /** Tensor-parallel groups are consecutive ranks, inside one node. */
    public double tensorParallelAllReduce(double bytes, int tp) {
        return allReduce(bytes, tp, Link.INTRA_NODE);
    }

    /** Data-parallel group: stride tp, so it leaves the node once tp·dp exceeds the node. */
    public Link dataParallelLink(Plan c) {
        return spanning((long) c.tp() * c.dp());
    }

    /** Context-parallel ring: stride tp, so it leaves the node once tp·cp exceeds the node. */
    public Link contextLink(Plan c) {
        return (long) c.tp() * c.cp() <= devicesPerNode ? Link.INTRA_NODE : Link.INTER_NODE;
    }

    /**
     * Ring attention's traffic per layer and micro-batch, on each rank: forward passes K and V
     * ({@code kvBytes}, the rank's share) cp − 1 times, backward passes K, V and their gradients cp
     * times (the last hop returns the gradients to their owner). Counted as not hidden behind the
     * blocks' compute, so it is an upper bound.
     */
    public double ringAttention(double kvBytes, int cp, Link link) {
        if (cp == 1) return 0;
        return (cp - 1) * pointToPoint(kvBytes, link) + cp * pointToPoint(2 * kvBytes, link);
    }

    /** Pipeline neighbours: stride tp·dp; inside a node only if the whole mesh fits in one. */
    public Link pipelineLink(Plan c) {
        if ((long) c.worldSize() <= devicesPerNode) return Link.INTRA_NODE;
        // Neighbouring stages are tp·dp ranks apart: under one leaf while two of them fit in it.
        return 2L * c.tp() * c.dp() <= devicesPerLeaf ? Link.INTER_NODE : Link.CROSS_LEAF;
    }
}
