package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataConfigTest {
    @Test
    void defaultsOpenTheBundledCorpus(@TempDir Path cache) {
        DataConfig d = DataConfig.defaults();
        try (TokenDataset data = new DataConfig(d.corpus(), d.tokenizer(), d.validationFraction(), cache).open(s -> {})) {
            assertThat(data.tokenizer().vocabSize()).isEqualTo(2048);
            assertThat(data.train().size() + data.validation().size()).isEqualTo(388_533);
        }
    }

    @Test
    void errorsNameTheKey(@TempDir Path dir) {
        assertThatThrownBy(() -> new DataConfig(Path.of("a"), Path.of("b"), 0, dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("data.validation_fraction");
        assertThatThrownBy(() -> new DataConfig(dir.resolve("none.txt"), Path.of("b"), 0.1, dir).open(s -> {}))
                .hasMessageContaining("data.corpus");
        assertThatThrownBy(() -> new DataConfig(DataConfig.DEFAULT_CORPUS, dir.resolve("t.json"), 0.1, dir).open(s -> {}))
                .hasMessageContaining("data.tokenizer").hasMessageContaining("tandem tokenizer train");
    }
}
