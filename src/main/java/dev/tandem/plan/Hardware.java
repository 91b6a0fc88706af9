package dev.tandem.plan;

import java.util.EnumMap;
import java.util.Map;

/**
 * One accelerator and the node it sits in: everything the cost model knows about hardware.
 * Bandwidths are bytes/s in one direction, latencies seconds. Each group of fields is a record
 * of its own so a catalog entry reads like a datasheet.
 */
public record Hardware(String name, Compute compute, Memory memory, Network network, Host host, String sources) {

    /**
     * @param peakFlops dense (no sparsity) peak per precision at boost clock, FLOP/s
     * @param units streaming multiprocessors / compute units: how many GEMM tiles run at once
     * @param tileM GEMM output tile rows a library kernel uses for large problems
     * @param tileN GEMM output tile columns
     * @param matmulEfficiency best achievable fraction of peak for a large, well-shaped GEMM
     *     (public single-device matmul benchmarks; includes sustained clocks under load)
     * @param launchSeconds fixed cost of one kernel launch in an eager framework
     */
    public record Compute(Map<Precision, Double> peakFlops, int units, int tileM, int tileN,
                          double matmulEfficiency, double launchSeconds) {
        public Compute {
            peakFlops = Map.copyOf(new EnumMap<>(peakFlops));
        }
    }

    /**
     * @param bytes device memory capacity
     * @param bandwidth peak device memory bandwidth, bytes/s
     * @param efficiency achievable fraction of that bandwidth for streaming kernels (STREAM-like)
     * @param reservedBytes taken before training starts: runtime context, library workspaces,
     *     communication buffers, allocator slack
     */
    public record Memory(long bytes, double bandwidth, double efficiency, long reservedBytes) {}

    /**
     * @param devicesPerNode devices sharing the fast intra-node fabric
     * @param intraBandwidth per device, one direction, intra-node fabric (NVLink, Infinity Fabric, HCCS)
     * @param intraLatency per ring step inside a node
     * @param interBandwidth per device, one direction: the node's network bandwidth / devicesPerNode
     * @param interLatency per ring step across nodes
     * @param intraEfficiency achievable fraction of intraBandwidth for large collectives
     * @param interEfficiency achievable fraction of interBandwidth for large collectives
     */
    public record Network(int devicesPerNode, double intraBandwidth, double intraLatency,
                          double interBandwidth, double interLatency,
                          double intraEfficiency, double interEfficiency) {}

    /**
     * @param linkBandwidth host-device link per device, one direction (PCIe or CPU-GPU fabric)
     * @param memoryPerNode host memory per node (for optimizer-state offload)
     * @param memoryBandwidthPerNode host memory bandwidth per node (a CPU optimizer step is bound by it)
     */
    public record Host(double linkBandwidth, long memoryPerNode, double memoryBandwidthPerNode) {}

    /** Peak for mixed-precision training GEMMs: FP16/BF16, whichever the device lists (higher wins). */
    public double mixedPrecisionPeak() {
        double fp16 = compute.peakFlops.getOrDefault(Precision.FP16, 0.0);
        double bf16 = compute.peakFlops.getOrDefault(Precision.BF16, 0.0);
        double peak = Math.max(fp16, bf16);
        return peak > 0 ? peak : compute.peakFlops.getOrDefault(Precision.FP32, 0.0);
    }

    public double peak(Precision p) {
        return compute.peakFlops.getOrDefault(p, 0.0);
    }
}
