package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class CorpusReaderTest {
    @Property(tries = 300, seed = "20261126")
    void chunkedPreTokenizationEqualsWhole(@ForAll("unicode") String text, @ForAll @IntRange(min = 1, max = 40) int block) {
        Path file = write(text);
        try {
            List<String> chunks = new ArrayList<>();
            CorpusReader.Summary s = CorpusReader.read(file, block, c -> chunks.add(c.toString()));
            assertThat(String.join("", chunks)).isEqualTo(text);
            assertThat(s.bytes()).isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
            List<String> pieces = new ArrayList<>();
            for (String c : chunks) pieces.addAll(PreTokenizer.split(c));
            assertThat(pieces).isEqualTo(PreTokenizer.split(text));
        } finally {
            delete(file);
        }
    }

    @Test
    void badByteOffsetIsExactAcrossBlocks() throws IOException {
        byte[] good = "héllo wörld, ".repeat(10).getBytes(StandardCharsets.UTF_8);
        byte[] bytes = java.util.Arrays.copyOf(good, good.length + 2);
        bytes[good.length] = (byte) 0xC3; // a lead byte followed by ASCII: malformed at its own offset
        bytes[good.length + 1] = 'x';
        Path file = Files.createTempFile("bad", ".txt");
        try {
            Files.write(file, bytes);
            for (int block : new int[] {1, 2, 3, 7, 64, 1 << 20}) {
                assertThatThrownBy(() -> CorpusReader.read(file, block, c -> {})).isInstanceOf(TandemException.class)
                        .hasMessageContaining("byte offset " + good.length);
            }
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void shaAndSizeMatchTheFile() throws IOException {
        Path corpus = Path.of("data/tinyshakespeare.txt");
        CorpusReader.Summary s = CorpusReader.read(corpus, 1 << 16, c -> {});
        assertThat(s.bytes()).isEqualTo(Files.size(corpus));
        assertThat(s.sha256()).isEqualTo(TokenFile.sha256(corpus));
    }

    @Provide
    Arbitrary<String> unicode() {
        return TextArbitraries.unicodeText();
    }

    private static Path write(String text) {
        try {
            Path f = Files.createTempFile("corpus", ".txt");
            Files.writeString(f, text);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
