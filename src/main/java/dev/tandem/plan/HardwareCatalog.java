package dev.tandem.plan;

import static dev.tandem.plan.Precision.BF16;
import static dev.tandem.plan.Precision.FP16;
import static dev.tandem.plan.Precision.FP32;
import static dev.tandem.plan.Precision.FP8;
import static dev.tandem.plan.Precision.TF32;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Datasheet numbers for the devices the planner knows. Peaks are dense (no 2:4 sparsity) at
 * boost clock. Network bandwidth per device is the node's compute-network bandwidth divided by
 * its devices (rail-optimized clusters give each GPU its own NIC). Efficiencies are hardware
 * properties from public single-device benchmarks, the same for every model and plan.
 */
public final class HardwareCatalog {
    private static final double T = 1e12, G = 1e9;
    private static final long GB = 1_000_000_000L, GIB = 1L << 30;
    /** Achievable fractions shared by all devices unless a datasheet row says otherwise. */
    private static final double MEM_EFF = 0.85, INTRA_EFF = 0.80, INTER_EFF = 0.90, LAUNCH = 5e-6;
    private static final long RESERVED = 2 * GIB;

    private static final Map<String, Hardware> DEVICES = new LinkedHashMap<>();

    static {
        // NVIDIA A100 Tensor Core GPU datasheet (2021): FP16/BF16 312 TF, TF32 156 TF, FP32 19.5 TF,
        // 80GB HBM2e 2,039 GB/s (40GB HBM2 1,555 GB/s), NVLink 600 GB/s (300 per direction), 108 SMs.
        // DGX A100: 8 GPUs, 8x ConnectX-6 HDR 200 Gb/s for compute (25 GB/s per GPU), PCIe Gen4 x16
        // (32 GB/s), 2x EPYC 7742 with 8 channels DDR4-3200 each (410 GB/s), 1-2 TB host memory.
        // Matmul efficiency 0.86: 268 of 312 TF measured as the maximum achievable matmul FLOPS
        // (S. Bekman, "ML Engineering", compute/accelerator MAMF table).
        put("A100-80GB", new Hardware("A100-80GB",
                compute(Map.of(FP16, 312 * T, BF16, 312 * T, TF32, 156 * T, FP32, 19.5 * T), 108, 256, 128, 0.86),
                new Hardware.Memory(80 * GB, 2039 * G, MEM_EFF, RESERVED),
                network(8, 300 * G, 3e-6, 25 * G, 6e-6),
                new Hardware.Host(32 * G, 2048 * GB, 410 * G),
                "NVIDIA A100 datasheet; DGX A100 user guide; Bekman ML Engineering (MAMF)"));
        put("A100-40GB", new Hardware("A100-40GB",
                compute(Map.of(FP16, 312 * T, BF16, 312 * T, TF32, 156 * T, FP32, 19.5 * T), 108, 256, 128, 0.86),
                new Hardware.Memory(40 * GB, 1555 * G, MEM_EFF, RESERVED),
                network(8, 300 * G, 3e-6, 25 * G, 6e-6),
                new Hardware.Host(32 * G, 1024 * GB, 410 * G),
                "NVIDIA A100 datasheet; DGX A100 user guide; Bekman ML Engineering (MAMF)"));
        // NVIDIA H100 SXM5 datasheet: BF16/FP16 989.4 TF, FP8 1,979 TF, TF32 494.7 TF, FP32 66.9 TF,
        // 80GB HBM3 3.35 TB/s, NVLink 4 900 GB/s (450 per direction), 132 SMs. DGX H100: 8x ConnectX-7
        // 400 Gb/s (50 GB/s per GPU), PCIe Gen5 (64 GB/s), 2x Xeon 8480C, 8 ch DDR5-4800 each (614 GB/s), 2 TB.
        // Matmul efficiency 0.80: 792 of 989 TF maximum achievable matmul FLOPS (Bekman, MAMF table).
        put("H100-SXM", new Hardware("H100-SXM",
                compute(Map.of(FP16, 989.4 * T, BF16, 989.4 * T, FP8, 1979 * T, TF32, 494.7 * T, FP32, 66.9 * T), 132, 256, 128, 0.80),
                new Hardware.Memory(80 * GB, 3350 * G, MEM_EFF, RESERVED),
                network(8, 450 * G, 3e-6, 50 * G, 6e-6),
                new Hardware.Host(64 * G, 2048 * GB, 614 * G),
                "NVIDIA H100 datasheet; DGX H100 user guide; Bekman ML Engineering (MAMF)"));
        // NVIDIA H200 SXM datasheet: same Hopper die and peaks as H100 SXM, 141 GB HBM3e at 4.8 TB/s,
        // NVLink 900 GB/s; HGX H200 nodes: 8 GPUs, 400 Gb/s NIC per GPU, PCIe Gen5.
        put("H200", new Hardware("H200",
                compute(Map.of(FP16, 989.4 * T, BF16, 989.4 * T, FP8, 1979 * T, TF32, 494.7 * T, FP32, 66.9 * T), 132, 256, 128, 0.80),
                new Hardware.Memory(141 * GB, 4800 * G, MEM_EFF, RESERVED),
                network(8, 450 * G, 3e-6, 50 * G, 6e-6),
                new Hardware.Host(64 * G, 2048 * GB, 614 * G),
                "NVIDIA H200 datasheet; HGX H200 reference design"));
        // AMD Instinct MI250X datasheet: 383 TF FP16/BF16 matrix, 95.7 TF FP32 matrix, 128 GB HBM2e at
        // 3.2768 TB/s, 220 CUs, for two GCDs; one GCD is one device: half of each. Frontier/HPE
        // Cray EX235a node: 4 MI250X (8 GCDs); GCD-to-GCD Infinity Fabric 50-200 GB/s per direction
        // (a ring over all 8 GCDs is limited by the 50 GB/s links), 4x Slingshot-11 200 Gb/s per node
        // (12.5 GB/s per GCD), CPU-GCD Infinity Fabric 36 GB/s, 512 GB DDR4 at 205 GB/s.
        // Matmul efficiency 0.70 is an estimate (rocBLAS large-GEMM reports); no MAMF row to cite.
        put("MI250X", new Hardware("MI250X",
                compute(Map.of(FP16, 191.5 * T, BF16, 191.5 * T, FP32, 47.9 * T), 110, 256, 128, 0.70),
                new Hardware.Memory(64 * GB, 1638 * G, MEM_EFF, RESERVED),
                network(8, 50 * G, 4e-6, 12.5 * G, 8e-6),
                new Hardware.Host(36 * G, 512 * GB, 205 * G),
                "AMD MI250X datasheet (per GCD = half); OLCF Frontier user guide"));
        // NVIDIA V100 SXM2 datasheet: 125 TF tensor FP16 (no BF16), FP32 15.7 TF, 32 GB HBM2 900 GB/s,
        // NVLink 2 300 GB/s (150 per direction), 80 SMs. DGX-1: 8 GPUs, 4x EDR 100 Gb/s (6.25 GB/s per GPU),
        // PCIe Gen3 x16 (16 GB/s), 2x Xeon E5-2698 v4 4 ch DDR4-2400 each (154 GB/s), 512 GB.
        // Matmul efficiency 0.85: cuBLAS HGEMM on V100 reaches ~105-110 of 125 TF for large shapes.
        put("V100-32GB", new Hardware("V100-32GB",
                compute(Map.of(FP16, 125 * T, FP32, 15.7 * T), 80, 128, 128, 0.85),
                new Hardware.Memory(32 * GB, 900 * G, MEM_EFF, RESERVED),
                network(8, 150 * G, 4e-6, 6.25 * G, 8e-6),
                new Hardware.Host(16 * G, 512 * GB, 154 * G),
                "NVIDIA V100 datasheet; DGX-1 user guide"));
        // Huawei Ascend 910 (Atlas 800 training server 9000): 256 TF FP16 (no BF16), 32 GB HBM2 at
        // 1.2 TB/s, 32 Da Vinci cores, 8 NPUs per server linked by HCCS at 30 GB/s, one 100 GbE RoCE
        // port per NPU (12.5 GB/s), PCIe Gen4 x16 (32 GB/s), 4x Kunpeng 920. Matmul efficiency 0.70
        // is an estimate, as for MI250X.
        put("Ascend-910", new Hardware("Ascend-910",
                compute(Map.of(FP16, 256 * T), 32, 128, 128, 0.70),
                new Hardware.Memory(32 * GB, 1200 * G, MEM_EFF, RESERVED),
                network(8, 30 * G, 5e-6, 12.5 * G, 10e-6),
                new Hardware.Host(32 * G, 1024 * GB, 750 * G),
                "Huawei Ascend 910 / Atlas 800 datasheets"));
    }

    private HardwareCatalog() {}

    private static Hardware.Compute compute(Map<Precision, Double> peaks, int units, int tileM, int tileN, double eff) {
        return new Hardware.Compute(peaks, units, tileM, tileN, eff, LAUNCH);
    }

    private static Hardware.Network network(int perNode, double intraBw, double intraLat, double interBw, double interLat) {
        return new Hardware.Network(perNode, intraBw, intraLat, interBw, interLat, INTRA_EFF, INTER_EFF);
    }

    private static void put(String key, Hardware hw) {
        DEVICES.put(key, hw);
    }

    public static List<String> names() {
        return List.copyOf(DEVICES.keySet());
    }

    /** Accepts A100-80G, a100-80gb, A100_80GB, H100, H100-SXM5, MI250X-GCD, Ascend910, ... */
    public static Hardware get(String name) {
        Hardware hw = DEVICES.get(canonical(name));
        if (hw == null) {
            throw new PlanInputException("unknown device '" + name + "'; known: " + String.join(", ", DEVICES.keySet())
                    + " (or CPU with --calibrate)");
        }
        return hw;
    }

    static String canonical(String name) {
        String n = name.toUpperCase(Locale.ROOT).replace("_", "").replace("-", "").replace(" ", "");
        n = n.replaceAll("SXM\\d?", "").replaceAll("GB$", "G").replace("GCD", "");
        return switch (n) {
            case "A10080G", "A100" -> "A100-80GB";
            case "A10040G" -> "A100-40GB";
            case "H100", "H10080G" -> "H100-SXM";
            case "H200", "H200141G" -> "H200";
            case "MI250X", "MI250" -> "MI250X";
            case "V10032G", "V100" -> "V100-32GB";
            case "ASCEND910", "910", "ASCEND910A" -> "Ascend-910";
            default -> n;
        };
    }
}
