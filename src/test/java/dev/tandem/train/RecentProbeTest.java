package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.plan.DeviceProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs within ten minutes reuse the machine's measurement; an older one, or an unreadable file, is measured again. */
class RecentProbeTest {
    @TempDir
    Path dir;

    @Test
    void aRecentMeasurementIsReusedAnOldOneIsNot() throws Exception {
        AtomicInteger probes = new AtomicInteger();
        DeviceProbe probe = () -> new DeviceProbe.Measurement(1e11 + probes.incrementAndGet(), 5e10, 2e10, 2, 1L << 34, "test", 0.9);
        DeviceProbe.Measurement first = RecentProbe.measure(probe, 2, dir);
        assertThat(RecentProbe.measure(probe, 2, dir)).isEqualTo(first);
        assertThat(probes).hasValue(1);

        assertThat(RecentProbe.measure(probe, 1, dir).gemmFlops()).as("other threads, other key").isEqualTo(1e11 + 2);

        Path file = dir.resolve(RecentProbe.fileName(2));
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(RecentProbe.REUSE_FOR).minusSeconds(1)));
        assertThat(RecentProbe.measure(probe, 2, dir).gemmFlops()).isEqualTo(1e11 + 3);

        Files.writeString(file, "{not json");
        assertThat(RecentProbe.measure(probe, 2, dir).gemmFlops()).isEqualTo(1e11 + 4);
        assertThat(RecentProbe.measure(probe, 2, dir).gemmFlops()).as("and kept again").isEqualTo(1e11 + 4);
    }
}
