package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.ckpt.Piece;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.TestKernels;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code stable_embedding} key: the model gets {@code wte_norm}, the 8-bit optimizers keep the
 * embeddings' state in float32, and the option survives the model directory and checkpoints.
 */
class StableEmbeddingConfigTest {
    @TempDir Path tmp;

    private static Map<String, String> tiny(Path runs, String optimizer, boolean stable) {
        Map<String, String> m = new HashMap<>(Map.ofEntries(
                Map.entry("model.n_layer", "1"), Map.entry("model.n_head", "2"), Map.entry("model.n_embd", "32"), Map.entry("model.block_size", "32"),
                Map.entry("data.batch_size", "4"), Map.entry("run.steps", "2"), Map.entry("optim.warmup_steps", "1"),
                Map.entry("eval.every", "0"), Map.entry("eval.batches", "1"), Map.entry("optim.name", optimizer),
                Map.entry("run.name", "stable"), Map.entry("run.runs_dir", runs.toString()), Map.entry("run.threads", "1")));
        m.put("model.stable_embedding", Boolean.toString(stable));
        return m;
    }

    /** 8-bit AdamW over a model of the config: wte (2048 × 32) is far above the 4096-element threshold. */
    private static DType wteStateDtype(TrainConfig cfg) {
        try (GPT model = GPT.initialized(new GPTConfig(1, 2, 32, 2048, 32, cfg.model().stableEmbedding()), 1);
             Optimizer opt = Optimizers.create(cfg.optim().name(), cfg.optimizerSettings(), ParamSlice.wholes(model.parameters()),
                     TestKernels.FAST)) {
            assertThat(opt.state().get("h.0.mlp.c_fc.weight.exp_avg").dtype()).isEqualTo(DType.U8);
            return opt.state().get("wte.weight.exp_avg").dtype();
        }
    }

    @Test
    void keepsTheEmbeddingStateOfEightBitOptimizersInFloat32() {
        assertThat(TrainConfig.defaults().model().stableEmbedding()).isFalse();
        assertThat(wteStateDtype(TrainConfig.load(null, tiny(tmp, "adamw8bit", false)))).isEqualTo(DType.U8);
        assertThat(wteStateDtype(TrainConfig.load(null, tiny(tmp, "adamw8bit", true)))).isEqualTo(DType.F32);
        assertThat(wteStateDtype(TrainConfig.load(null, tiny(tmp, "lion8bit", true)))).isEqualTo(DType.F32);
        // optimizers without 8-bit state take the key without complaint
        assertThat(TrainConfig.load(null, tiny(tmp, "muon", true)).optimizerSettings().options()).isEmpty();
        Map<String, String> contradiction = tiny(tmp, "adamw8bit", true);
        contradiction.put("optim.options", "stable_embedding=false");
        assertThatThrownBy(() -> TrainConfig.load(null, contradiction)).isInstanceOf(TandemException.class)
                .hasMessageContaining("stable_embedding=false");
    }

    @Test
    void survivesTheModelDirectoryAndCheckpoints() throws Exception {
        Map<String, String> cfg = tiny(tmp, "adamw8bit", true);
        cfg.put("checkpoint.every", "2");
        cfg.put("checkpoint.async", "false");
        Trainer.Result r = Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(new ByteArrayOutputStream()), false);

        assertThat(Files.readString(r.modelDir().resolve(ModelFiles.CONFIG))).contains("\"stable_embedding\" : true");
        try (GPT model = ModelFiles.load(r.modelDir())) {
            assertThat(model.config().stableEmbedding()).isTrue();
            assertThat(model.param("wte_norm.weight").value().toFloatArray()).doesNotContain(0f);
        }
        Path ckpt = r.runDir().resolve("checkpoints").resolve(Checkpoints.dirName(2));
        try (Checkpoint c = Checkpoint.open(ckpt)) {
            assertThat(c.modelConfig().stableEmbedding()).isTrue();
            Map<String, DType> dtypes = new HashMap<>();
            for (Piece p : c.pieces()) if (p.key() != null) dtypes.put(p.key(), p.dtype());
            assertThat(dtypes).containsEntry("wte.weight.exp_avg", DType.F32).containsEntry("h.0.mlp.c_fc.weight.exp_avg", DType.U8)
                    .containsKey("wte_norm.weight.exp_avg");
        }

        Map<String, String> plain = tiny(tmp, "adamw8bit", false);
        plain.put("run.steps", "4");
        plain.put("checkpoint.resume", ckpt.toString());
        assertThatThrownBy(() -> Trainer.runSingle(TrainConfig.load(null, plain), new PrintStream(new ByteArrayOutputStream()), false))
                .isInstanceOf(TandemException.class).hasMessageContaining("stableEmbedding=true");
    }
}
