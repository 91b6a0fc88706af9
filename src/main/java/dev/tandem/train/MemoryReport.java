package dev.tandem.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.parallel.DataParallel;
import dev.tandem.tensor.MemoryCategory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Writes one rank's measured memory after its last optimizer step: bytes per category from the
 * memory accounting, with the plan facts needed to compare them with the ZeRO formulas.
 */
final class MemoryReport {
    private MemoryReport() {}

    static void write(Path file, Map<MemoryCategory, Long> bytes, DataParallel dp) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("rank", dp.rank());
        n.put("world_size", dp.size());
        n.put("zero_stage", dp.stage().level());
        n.put("parameters", dp.parameterCount());
        ObjectNode b = n.putObject("bytes");
        for (Map.Entry<MemoryCategory, Long> e : bytes.entrySet()) b.put(e.getKey().name().toLowerCase(Locale.ROOT), e.getValue());
        dev.tandem.io.AtomicFiles.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }
}
