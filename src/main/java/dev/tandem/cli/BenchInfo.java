package dev.tandem.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the machine a benchmark prints in its header. */
final class BenchInfo {
    private BenchInfo() {}

    static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
            }
        } catch (IOException ignored) {
            // not Linux: no model name
        }
        return System.getProperty("os.arch");
    }
}
