package dev.tandem.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.io.AtomicFiles;
import dev.tandem.plan.DeviceProbe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;

/**
 * The machine's measurement for the planner's prediction, reused by the runs of the next ten
 * minutes on this machine. A fresh process spends about two seconds on the probe (most of it
 * waiting for the JIT), which every short run and every rank-0 process of a test paid; the
 * machine does not change in ten minutes, and the probe's rate is per CPU share, so a busier
 * moment does not carry over. Kept in the temporary directory, keyed by the Java version, the
 * class path (a new build is a new key) and the threads and cores; written atomically, so
 * concurrent runs read a whole file or measure themselves.
 */
final class RecentProbe {
    static final Duration REUSE_FOR = Duration.ofMinutes(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    private RecentProbe() {}

    /** A measurement of at most {@link #REUSE_FOR} ago on this machine, else {@code probe}'s now (and kept). */
    static DeviceProbe.Measurement measure(DeviceProbe probe, int threads) {
        return measure(probe, threads, Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** As {@link #measure(DeviceProbe, int)}, keeping the measurement in {@code dir}. */
    static DeviceProbe.Measurement measure(DeviceProbe probe, int threads, Path dir) {
        Path file = dir.resolve(fileName(threads));
        try {
            if (Files.isRegularFile(file)
                    && Duration.between(Files.getLastModifiedTime(file).toInstant(), Instant.now()).compareTo(REUSE_FOR) < 0) {
                return JSON.readValue(Files.readString(file, StandardCharsets.UTF_8), DeviceProbe.Measurement.class);
            }
        } catch (IOException | RuntimeException unreadable) {
            // measure again below
        }
        DeviceProbe.Measurement m = probe.measure();
        try {
            AtomicFiles.writeString(file, JSON.writeValueAsString(m));
        } catch (IOException | RuntimeException unwritable) {
            // the next run measures again
        }
        return m;
    }

    static String fileName(int threads) {
        String key = Runtime.version() + "|" + System.getProperty("java.class.path") + "|" + threads + "|"
                + Runtime.getRuntime().availableProcessors();
        byte[] digest;
        try {
            digest = java.security.MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return "tandem-probe-" + HexFormat.of().formatHex(digest, 0, 8) + ".json";
    }
}
