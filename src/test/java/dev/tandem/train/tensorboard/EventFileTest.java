package dev.tandem.train.tensorboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.train.tensorboard.EventFileReader.CorruptEventFile;
import dev.tandem.train.tensorboard.EventFileReader.Event;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event file format, written by {@link EventFile} and read back by the independent {@link EventFileReader}. */
class EventFileTest {
    @TempDir Path tmp;

    private Path writeThreeSteps() {
        try (EventFile f = EventFile.create(tmp.resolve("tb"))) {
            for (int step = 0; step < 3; step++) {
                Map<String, Double> v = new LinkedHashMap<>();
                v.put("train/loss", 7.5 - step);
                v.put("train/zero", 0.0);
                v.put("train/third", step / 3.0);
                f.scalars(step, v);
            }
            return f.path();
        }
    }

    @Test
    void theReadersChecksumIsCrc32c() {
        // The CRC32C check value of "123456789" (RFC 3720, appendix B.4).
        assertThat(EventFileReader.crc32c("123456789".getBytes(StandardCharsets.US_ASCII), 0, 9)).isEqualTo(0xE3069283);
        int crc = 0x12345678;
        int masked = ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
        assertThat(EventFileReader.unmask(masked)).isEqualTo(crc);
    }

    @Test
    void scalarsReadBackAtTheirSteps() throws Exception {
        Path file = writeThreeSteps();
        assertThat(file.getFileName().toString()).startsWith("events.out.tfevents.");
        List<Event> events = EventFileReader.read(file);
        assertThat(events).hasSize(4);
        assertThat(events.getFirst().fileVersion()).isEqualTo("brain.Event:2");
        assertThat(events.getFirst().scalars()).isEmpty();
        for (int step = 0; step < 3; step++) {
            Event e = events.get(step + 1);
            assertThat(e.fileVersion()).isNull();
            assertThat(e.step()).isEqualTo(step);
            assertThat(e.wallTime()).isGreaterThan(1.6e9);
            assertThat(e.scalars()).containsExactly(Map.entry("train/loss", (float) (7.5 - step)), Map.entry("train/zero", 0f),
                    Map.entry("train/third", (float) (step / 3.0)));
        }
    }

    /** Any one byte changed anywhere in the file is caught by a CRC (or the length it protects). */
    @Test
    void aFlippedByteIsDetected() throws Exception {
        byte[] good = Files.readAllBytes(writeThreeSteps());
        assertThat(EventFileReader.read(good)).hasSize(4);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = Arrays.copyOf(good, good.length);
            bad[i] ^= 0x10;
            assertThatThrownBy(() -> EventFileReader.read(bad)).as("byte %d", i).isInstanceOf(CorruptEventFile.class)
                    .hasMessageMatching("(length CRC mismatch|data CRC mismatch|truncated record).*");
        }
        assertThatThrownBy(() -> EventFileReader.read(Arrays.copyOf(good, good.length - 1))).hasMessageContaining("truncated record");
    }

    @Test
    void eachWriterGetsAFileOfItsOwnInNameOrder() throws Exception {
        Path dir = tmp.resolve("tb");
        Path a, b;
        try (EventFile f = EventFile.create(dir)) {
            a = f.path();
        }
        try (EventFile f = EventFile.create(dir)) {
            b = f.path();
        }
        assertThat(b).isNotEqualTo(a);
        assertThat(EventFileReader.files(dir)).containsExactly(a, b);
        assertThat(EventFileReader.read(b)).hasSize(1);
    }
}
