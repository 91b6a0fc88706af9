package dev.tandem.plan;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The devices a plan runs on: {@code devices} copies of one device, in nodes of the sizes listed
 * ({@code nodeSizes}; empty = every node as the device's catalog entry has it), joined by a
 * network whose leaf switches hold {@code nodesPerLeaf} nodes each, with the core above them
 * {@code oversubscription} : 1 oversubscribed (traffic between leaves gets that much less
 * bandwidth per device; 1 = a full fat tree).
 */
public record ClusterSpec(int devices, Hardware hardware, List<Integer> nodeSizes, int nodesPerLeaf, double oversubscription) {
    private static final Pattern SPEC = Pattern.compile("\\s*(\\d+)\\s*[xX×*]\\s*(\\S+)\\s*");

    public ClusterSpec {
        if (devices < 1) throw new PlanInputException("cluster: need at least one device, got " + devices);
        nodeSizes = List.copyOf(nodeSizes);
        if (!nodeSizes.isEmpty()) {
            int sum = 0;
            for (int n : nodeSizes) {
                if (n < 1) throw new PlanInputException("cluster: every node needs at least one device, got " + nodeSizes);
                sum += n;
            }
            if (sum != devices) throw new PlanInputException("cluster: nodes " + nodeSizes + " hold " + sum + " devices, not " + devices);
        }
        if (nodesPerLeaf < 1) throw new PlanInputException("cluster: nodes_per_leaf must be >= 1, got " + nodesPerLeaf);
        if (!(oversubscription >= 1) || Double.isInfinite(oversubscription)) {
            throw new PlanInputException("cluster: oversubscription must be >= 1 (1 = none, 2 = 2:1), got " + oversubscription);
        }
    }

    /** Equal nodes as the catalog has them, a non-blocking network. */
    public ClusterSpec(int devices, Hardware hardware) {
        this(devices, hardware, List.of(), Integer.MAX_VALUE, 1);
    }

    /**
     * Devices of a node as the plans see it: the catalog's node size (all of them if fewer), or
     * with nodes of different sizes the largest group that tiles every node (their greatest
     * common divisor), so that a tensor-parallel group never straddles two nodes.
     */
    public int devicesPerNode() {
        if (nodeSizes.isEmpty()) return Math.min(devices, hardware.network().devicesPerNode());
        int g = 0;
        for (int n : nodeSizes) g = gcd(g, Math.min(n, hardware.network().devicesPerNode()));
        return g;
    }

    /** Devices under one leaf switch; groups larger than this cross the (oversubscribed) core. */
    public long devicesPerLeaf() {
        return nodesPerLeaf == Integer.MAX_VALUE ? Long.MAX_VALUE : (long) nodesPerLeaf * devicesPerNode();
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** Parses {@code 1024xA100-80G}; the device name goes through {@link HardwareCatalog#get}. */
    public static ClusterSpec parse(String spec) {
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw new PlanInputException("cluster spec '" + spec + "' should look like 1024xA100-80GB (count x device), or be a cluster file");
        }
        int count;
        try {
            count = Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            throw new PlanInputException("cluster spec '" + spec + "': device count too large", e);
        }
        return new ClusterSpec(count, HardwareCatalog.get(m.group(2)));
    }

    public static ClusterSpec of(int devices, Hardware hardware) {
        return new ClusterSpec(devices, hardware);
    }

    @Override
    public String toString() {
        String base = devices + "x" + hardware.name();
        if (!nodeSizes.isEmpty()) base += " in nodes " + nodeSizes;
        if (oversubscription > 1) base += String.format(java.util.Locale.ROOT, ", %d nodes per leaf, %.3g:1 core", nodesPerLeaf, oversubscription);
        return base;
    }
}
