package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.api.Training;
import dev.tandem.api.TrainingResult;
import dev.tandem.ckpt.ModelFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code model.init_from}: a run continues from a model directory with the directory's shape and tokenizer. */
class FinetuneTest {
    @TempDir Path tmp;

    @Test
    void continuesFromAnExportedModelWithItsShapeAndTokenizer() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 40)).build().run();
        Path model = base.modelDir();
        assertThat(model.resolve(ModelFiles.TOKENIZER)).exists();

        // The model keys are left at their defaults (4 layers of 192): init_from replaces them with the directory's.
        Map<String, String> cfg = TinyRun.config(tmp, "tuned", 3);
        cfg.keySet().removeIf(k -> k.startsWith("model."));
        cfg.put("model.init_from", model.toString());
        TrainingResult tuned = Training.builder().set(cfg).build().run();

        double fresh = base.steps().getFirst().loss(), trained = base.steps().getLast().loss();
        double start = tuned.steps().getFirst().loss();
        assertThat(start).as("first fine-tuning loss starts where the base model ended, not from scratch (%.3f)", fresh)
                .isLessThan(fresh - 1.0).isLessThan(trained + 0.5);
        assertThat(Files.readString(tuned.runDir().resolve("train-config.json"))).contains("\"n_layer\" : 1", "\"n_embd\" : 32");
    }

    @Test
    void aShapeKeyThatDisagreesWithTheDirectoryIsNamed() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 1)).build().run();
        Map<String, String> cfg = TinyRun.config(tmp, "tuned", 1);
        cfg.put("model.n_embd", "64");
        cfg.put("model.init_from", base.modelDir().toString());
        assertThatThrownBy(() -> Training.builder().set(cfg).build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.n_embd is 64 but the model in").hasMessageContaining("has 32");
    }
}
