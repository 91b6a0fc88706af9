package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
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
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optimizer", "adam")))
                .isInstanceOf(TandemException.class).hasMessageContaining("optimizer must be one of");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optimizer_options", "momentum")))
                .isInstanceOf(TandemException.class).hasMessageContaining("optimizer_options");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("param_groups", "bias$: lr=x")))
                .isInstanceOf(TandemException.class).hasMessageContaining("param_groups");
        TrainConfig ok = TrainConfig.load(null, Map.of("optimizer", "muon", "optimizer_options", "momentum=0.9, lr_scale=matched",
                "param_groups", "wte: lr=0.5"));
        assertThat(ok.optimizerSettings().options()).containsEntry("lr_scale", "matched");
    }

    @Test
    void trainsWithTheConfiguredOptimizer() {
        TrainConfig cfg = TrainConfig.load(null, Map.ofEntries(
                Map.entry("n_layer", "1"), Map.entry("n_head", "2"), Map.entry("n_embd", "32"), Map.entry("block_size", "32"),
                Map.entry("batch_size", "4"), Map.entry("steps", "4"), Map.entry("warmup_steps", "1"),
                Map.entry("eval_every", "0"), Map.entry("eval_batches", "1"), Map.entry("optimizer", "lion8bit"),
                Map.entry("optimizer_options", "stable_embedding=true"), Map.entry("lr", "3e-4"),
                Map.entry("name", "lion"), Map.entry("runs_dir", tmp.toString())));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = Trainer.runSingle(cfg, new PrintStream(log), false);
        assertThat(r.steps()).hasSize(4);
        assertThat(Double.isFinite(r.lastEval().loss())).isTrue();
        assertThat(log.toString()).contains("optimizer: lion8bit");
    }
}
