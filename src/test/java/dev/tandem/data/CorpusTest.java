package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @Test
    void readsUtf8(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("c.txt");
        Files.writeString(f, "héllo 😀\n");
        Corpus c = Corpus.read(f);
        assertThat(c.text()).isEqualTo("héllo 😀\n");
        assertThat(c.bytes()).isEqualTo(12);
        assertThat(c.sha256()).hasSize(64);
    }

    @Test
    void badUtf8NamesFileAndOffset(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("latin1.txt");
        Files.write(f, new byte[] {'a', 'b', 'c', (byte) 0xE9, 'd'}); // é in Latin-1
        assertThatThrownBy(() -> Corpus.read(f)).isInstanceOf(TandemException.class)
                .hasMessageContaining("latin1.txt").hasMessageContaining("byte offset 3").hasMessageContaining("0xe9");
        Files.write(f, new byte[] {'a', (byte) 0xF0, (byte) 0x9F}); // a cut 4-byte sequence at the end
        assertThatThrownBy(() -> Corpus.read(f)).hasMessageContaining("byte offset 1");
    }

    @Test
    void missingAndEmptyCorpora(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> Corpus.read(dir.resolve("none.txt"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("none.txt").hasMessageContaining("does not exist");
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        assertThatThrownBy(() -> Corpus.read(empty)).isInstanceOf(TandemException.class).hasMessageContaining("is empty");
    }
}
