package dev.tandem.train.config;

import dev.tandem.TandemException;
import dev.tandem.offload.ByteSize;
import dev.tandem.offload.FileTier;
import java.util.Locale;

/**
 * {@code [memory]}: the fast tier's budget per rank and the slower tier that takes what does not
 * fit (docs/MEMORY-TIERS.md). These describe the machine, not how a step is split, so they are a
 * run's settings rather than the plan's: the plan says <em>that</em> the optimizer state is
 * offloaded ({@code parallel.offload = optimizer}), and a checkpoint of that plan resumes on a
 * machine with another budget or tier unchanged.
 *
 * @param budget       bytes of fast tier (RAM) per rank, e.g. {@code 2GiB}; empty: no budget
 * @param tier         the slow tier: {@code file} (local disk), {@code cxl} (a RAM-backed tier
 *                     throttled to the stated bandwidth and latency) or {@code ram}
 * @param path         directory of the file tier's working files (empty: {@code <runs_dir>/<name>/offload})
 * @param fileAccess   how the file tier moves bytes: {@code pread} (positional I/O) or {@code mmap}
 * @param cxlReadGbps  the CXL-like tier's read bandwidth, GB/s
 * @param cxlWriteGbps its write bandwidth, GB/s
 * @param cxlLatencyUs its cost per access, µs
 * @param subgroup     bytes of optimizer state per interleaving subgroup, e.g. {@code 4MiB}
 * @param stride       k of the interleaving: subgroup x updates in the fast tier when (x+1) % k == 0;
 *                     −1 chooses k from measured speeds, 0 updates everything in the slow tier
 */
public record MemorySection(String budget, String tier, String path, String fileAccess, double cxlReadGbps, double cxlWriteGbps,
                            double cxlLatencyUs, String subgroup, int stride) {
    public MemorySection {
        if (budget == null || tier == null || path == null || fileAccess == null || subgroup == null) {
            throw new TandemException("memory.budget, .tier, .path, .file_access and .subgroup must be strings");
        }
        if (!budget.isBlank()) ByteSize.parse("memory.budget", budget);
        tierName(tier);
        FileTier.Access.named("memory.file_access", fileAccess);
        if (!(cxlReadGbps > 0) || !(cxlWriteGbps > 0) || !(cxlLatencyUs >= 0)) {
            throw new TandemException("memory.cxl_read_gbps and memory.cxl_write_gbps must be > 0 and memory.cxl_latency_us >= 0");
        }
        if (ByteSize.parse("memory.subgroup", subgroup) < 8) throw new TandemException("memory.subgroup must be at least 8 bytes");
        if (stride < -1) throw new TandemException("memory.stride must be -1 (measure), 0 (no interleaving) or k >= 1, got " + stride);
    }

    /** No budget: everything in RAM, as before tiers existed. */
    public static MemorySection defaults() {
        return new MemorySection("", "file", "", "pread", 8, 8, 1, "4MiB", -1);
    }

    /** The budget in bytes; 0 when none. */
    public long budgetBytes() {
        return budget.isBlank() ? 0 : ByteSize.parse("memory.budget", budget);
    }

    /** Elements of float32 AdamW state (8 bytes each: m and v) per subgroup. */
    public long subgroupElements() {
        return Math.max(1, ByteSize.parse("memory.subgroup", subgroup) / 8);
    }

    public FileTier.Access access() {
        return FileTier.Access.named("memory.file_access", fileAccess);
    }

    /** The tier's name, checked: file, cxl or ram. */
    public String tierKind() {
        return tierName(tier);
    }

    private static String tierName(String t) {
        String n = t.strip().toLowerCase(Locale.ROOT);
        if (!n.equals("file") && !n.equals("cxl") && !n.equals("ram")) {
            throw new TandemException("memory.tier must be file, cxl or ram, got '" + t + "'");
        }
        return n;
    }
}
