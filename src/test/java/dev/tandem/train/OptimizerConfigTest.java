package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The optimizer config keys: checked at load time, and the trainer uses the chosen optimizer. */
class OptimizerConfigTest {
    @TempDir Path tmp;

    @Test
    void badOptimizerSettingsFailAtLoadNamingTheKey() {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optim.name", "adam")))
                .isInstanceOf(TandemException.class).hasMessageContaining("optimizer must be one of");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optim.options", "momentum")))
                .isInstanceOf(TandemException.class).hasMessageContaining("optim.options");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optim.param_groups", "bias$: lr=x")))
                .isInstanceOf(TandemException.class).hasMessageContaining("param_groups");
        TrainConfig ok = TrainConfig.load(null, Map.of("optim.name", "muon", "optim.options", "momentum=0.9, lr_scale=matched",
                "optim.param_groups", "wte: lr=0.5"));
        assertThat(ok.optimizerSettings().options()).containsEntry("lr_scale", "matched");
    }

    @Test
    void trainsWithTheConfiguredOptimizer() {
        TrainConfig cfg = TrainConfig.load(null, Map.ofEntries(
                Map.entry("model.n_layer", "1"), Map.entry("model.n_head", "2"), Map.entry("model.n_embd", "32"), Map.entry("model.block_size", "32"),
                Map.entry("data.batch_size", "4"), Map.entry("run.steps", "4"), Map.entry("optim.warmup_steps", "1"),
                Map.entry("eval.every", "0"), Map.entry("eval.batches", "1"), Map.entry("optim.name", "lion8bit"),
                Map.entry("optim.options", "stable_embedding=true"), Map.entry("optim.lr", "3e-4"),
                Map.entry("run.name", "lion"), Map.entry("run.runs_dir", tmp.toString())));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = Trainer.runSingle(cfg, new PrintStream(log), false);
        assertThat(r.steps()).hasSize(4);
        assertThat(Double.isFinite(r.lastEval().loss())).isTrue();
        assertThat(log.toString()).contains("optimizer: lion8bit");
    }
}
