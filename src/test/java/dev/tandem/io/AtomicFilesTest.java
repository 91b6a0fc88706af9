package dev.tandem.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed write leaves the old content and no temporary; the error names the file and a full disk. */
class AtomicFilesTest {
    @TempDir Path dir;

    private long entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void replacesAFileWhole() throws IOException {
        Path f = dir.resolve("a.json");
        AtomicFiles.writeString(f, "old");
        AtomicFiles.writeString(f, "new");
        assertThat(Files.readString(f)).isEqualTo("new");
        assertThat(entries()).isEqualTo(1);
    }

    @Test
    void aFailedWriteKeepsTheOldFileAndLeavesNoTemporary() throws IOException {
        Path f = dir.resolve("a.json");
        AtomicFiles.writeString(f, "old");
        assertThatThrownBy(() -> AtomicFiles.write(f, tmp -> {
            Files.writeString(tmp, "half");
            throw new IOException("No space left on device");
        })).isInstanceOf(TandemException.class)
                .hasMessageContaining("cannot write " + f)
                .hasMessageContaining("no space left on the disk holding it (")
                .hasMessageContaining("MiB free)")
                .hasMessageContaining("--run.runs_dir");
        assertThat(Files.readString(f)).isEqualTo("old");
        assertThat(entries()).isEqualTo(1);
    }

    @Test
    void otherFailuresSayWhatHappened() {
        Path f = dir.resolve("b.json");
        assertThatThrownBy(() -> AtomicFiles.write(f, tmp -> {
            throw new IOException("Permission denied");
        })).hasMessage("cannot write " + f + ": Permission denied");
        assertThat(Files.exists(f)).isFalse();
    }

    @Test
    void aDirectoryIsReplacedWholeOrNotAtAll() throws IOException {
        Path model = dir.resolve("model");
        AtomicFiles.writeDirectory(model, tmp -> Files.writeString(tmp.resolve("w"), "1"));
        AtomicFiles.writeDirectory(model, tmp -> Files.writeString(tmp.resolve("w"), "2"));
        assertThat(Files.readString(model.resolve("w"))).isEqualTo("2");
        assertThatThrownBy(() -> AtomicFiles.writeDirectory(model, tmp -> {
            Files.writeString(tmp.resolve("w"), "3");
            throw new IOException("No space left on device");
        })).hasMessageContaining("cannot write " + model + ": no space left");
        assertThat(Files.readString(model.resolve("w"))).isEqualTo("2");
        assertThat(entries()).isEqualTo(1); // no temporary directory, no old copy
    }

    @Test
    void fullDiskIsRecognisedThroughWrappers() {
        assertThat(AtomicFiles.isDiskFull(new java.io.UncheckedIOException(new IOException("No space left on device")))).isTrue();
        assertThat(AtomicFiles.isDiskFull(new IOException("Disk quota exceeded"))).isTrue();
        assertThat(AtomicFiles.isDiskFull(new IOException("Input/output error"))).isFalse();
    }
}
