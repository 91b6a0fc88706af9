package dev.tandem.bench.peer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** What the numbers were measured on: CPU model, cores, SIMD flags, memory, load. */
public final class MachineInfo {
    private static final List<String> FLAGS = List.of("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
            "avx512_fp16", "amx_tile");

    private MachineInfo() {}

    public static String describe() {
        String model = "unknown CPU";
        String flags = "";
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            model = field(lines, "model name", model);
            List<String> have = List.of(field(lines, "flags", "").split(" "));
            flags = FLAGS.stream().filter(have::contains).collect(Collectors.joining(" "));
        } catch (IOException ignored) {
            // not Linux: keep the defaults
        }
        long memGiB = memTotalKiB() >> 20;
        return model + ", " + Runtime.getRuntime().availableProcessors() + " cores, " + flags
                + (memGiB > 0 ? ", " + memGiB + " GiB" : "");
    }

    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String field(List<String> lines, String key, String fallback) {
        return lines.stream().filter(l -> l.startsWith(key)).findFirst()
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(fallback);
    }

    private static long memTotalKiB() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith("MemTotal:")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(0L);
        } catch (IOException e) {
            return 0;
        }
    }
}
