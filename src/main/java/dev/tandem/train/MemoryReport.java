package dev.tandem.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.offload.OffloadedAdamW;
import dev.tandem.offload.Tier;
import dev.tandem.optim.Optimizer;
import dev.tandem.parallel.DataParallel;
import dev.tandem.tensor.MemoryCategory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Writes one rank's measured memory after its last optimizer step: bytes per category from the
 * memory accounting, with the plan facts needed to compare them with the ZeRO formulas; the
 * process's peak and current resident set as the OS counts it ({@code /proc/self/status} VmHWM,
 * VmRSS, on Linux), which includes what the accounting does not see (the JVM itself), and the
 * resident set just before the model was loaded (the JVM's and the data's share of that peak); the median
 * optimizer step; and, when optimizer state lives in a slower tier, that tier's traffic per step.
 */
final class MemoryReport {
    private MemoryReport() {}

    static void write(Path file, Map<MemoryCategory, Long> bytes, DataParallel dp, Optimizer optimizer, double optimizerMsMedian,
                      long steps, long rssBeforeModel) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("rank", dp.rank());
        n.put("world_size", dp.size());
        n.put("zero_stage", dp.stage().level());
        n.put("parameters", dp.parameterCount());
        ObjectNode b = n.putObject("bytes");
        for (Map.Entry<MemoryCategory, Long> e : bytes.entrySet()) b.put(e.getKey().name().toLowerCase(Locale.ROOT), e.getValue());
        ObjectNode os = n.putObject("os");
        ProcStatus.bytes("VmHWM").ifPresent(x -> os.put("vm_hwm_bytes", x));
        ProcStatus.bytes("VmRSS").ifPresent(x -> os.put("vm_rss_bytes", x));
        if (rssBeforeModel >= 0) os.put("vm_rss_before_model_bytes", rssBeforeModel);
        n.put("optimizer_ms_median", optimizerMsMedian);
        if (optimizer instanceof OffloadedAdamW o && o.tier() != null) {
            Tier t = o.tier();
            ObjectNode tier = n.putObject("tier");
            tier.put("name", t.spec().name());
            tier.put("read_bytes_per_s", t.spec().readBytesPerS());
            tier.put("write_bytes_per_s", t.spec().writeBytesPerS());
            tier.put("latency_ns", t.spec().latencyNanos());
            tier.put("bytes", t.spec().capacityBytes());
            tier.put("read_bytes_per_step", (double) t.traffic().readBytes() / steps);
            tier.put("written_bytes_per_step", (double) t.traffic().writtenBytes() / steps);
            tier.put("stride", o.stride());
            tier.put("subgroups", o.subgroupCount());
            tier.put("resident_bytes", o.residentBytes());
            tier.put("staging_bytes", o.stagingBytes());
        }
        dev.tandem.io.AtomicFiles.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }
}
