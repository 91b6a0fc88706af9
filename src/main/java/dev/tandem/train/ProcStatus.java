package dev.tandem.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** Lines of {@code /proc/self/status} (Linux): what the OS says this process holds. */
final class ProcStatus {
    private ProcStatus() {}

    /** A field given in kB (e.g. {@code VmHWM}, the peak resident set), in bytes; empty where there is no /proc. */
    static OptionalLong bytes(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    String[] parts = line.substring(field.length() + 1).strip().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }
}
