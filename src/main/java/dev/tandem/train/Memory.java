package dev.tandem.train;

import dev.tandem.tensor.MemoryCategory;
import java.util.Locale;
import java.util.Map;

/** Human-readable byte counts per memory category. */
final class Memory {
    private Memory() {}

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    }

    static String format(Map<MemoryCategory, Long> m) {
        return "params " + bytes(m.getOrDefault(MemoryCategory.PARAMETERS, 0L))
                + ", grads " + bytes(m.getOrDefault(MemoryCategory.GRADIENTS, 0L))
                + ", optim " + bytes(m.getOrDefault(MemoryCategory.OPTIMIZER_STATE, 0L))
                + ", act " + bytes(m.getOrDefault(MemoryCategory.ACTIVATIONS, 0L))
                + ", comm " + bytes(m.getOrDefault(MemoryCategory.COMMUNICATION, 0L));
    }
}
