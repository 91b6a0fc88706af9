package dev.tandem.bench.peer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The load average a benchmark line gives (Linux); the CPU model is {@link dev.tandem.bench.BenchInfo#cpuModel}. */
final class MachineLoad {
    private MachineLoad() {}

    /** The 1, 5 and 15 minute load averages, e.g. "7.9 6.1 4.0", or "n/a". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
