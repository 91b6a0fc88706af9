package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.HfExport;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.MoEConfig;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An MoE model through the whole single-rank pipeline: training with router statistics in the
 * log, bit-exact resume, the saved and exported model directories, generation with the KV cache,
 * and refusals of bad MoE keys.
 */
class MoETrainingTest {
    @TempDir Path runs;

    private Map<String, String> moe(String name, int steps) {
        Map<String, String> m = TinyRun.config(runs, name, steps);
        m.put("model.n_layer", "2");
        m.put("model.n_experts", "4");
        m.put("model.top_k", "2");
        m.put("model.capacity_factor", "1.0");
        m.put("model.moe_every", "2");
        return m;
    }

    private static Trainer.Result train(Map<String, String> cfg) {
        return Trainer.runSingle(TrainConfig.load(null, cfg), new PrintStream(new ByteArrayOutputStream(), true), false);
    }

    private static List<Double> losses(Trainer.Result r) {
        return r.steps().stream().map(StepMetrics::loss).toList();
    }

    @Test
    void trainsLogsRouterStatisticsResumesBitExactlyAndExports() throws Exception {
        Map<String, String> full = moe("full", 24);
        Trainer.Result r = train(full);
        List<Double> l = losses(r);
        assertThat(l.getLast()).isLessThan(l.getFirst() - 0.5);
        // one MoE block (moe_every 2 of 2 blocks), 8 rows × 32 tokens, top-2: 512 assignments a step
        for (StepMetrics m : r.steps()) {
            assertThat(m.router().assignments()).isEqualTo(512);
            assertThat(java.util.Arrays.stream(m.router().tokensPerExpert()).sum() + m.router().dropped()).isEqualTo(512);
            assertThat(m.router().auxLoss()).isPositive().isFinite();
            assertThat(m.router().zLoss()).isPositive().isFinite();
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(Files.readAllLines(r.runDir().resolve("metrics.jsonl")).stream()
                .filter(s -> s.contains("\"train\"")).findFirst().orElseThrow());
        assertThat(first.path("router").path("tokens_per_expert")).hasSize(4);
        assertThat(first.path("router").path("aux_loss").asDouble()).isEqualTo(r.steps().getFirst().router().auxLoss());

        Map<String, String> split = moe("split", 24);
        split.put("checkpoint.every", "12");
        split.put("run.stop_after", "12");
        Trainer.Result a = train(split);
        split.remove("run.stop_after");
        split.put("checkpoint.resume", "latest");
        Trainer.Result b = train(split);
        List<Double> joined = new ArrayList<>(losses(a));
        joined.addAll(losses(b));
        assertThat(joined).isEqualTo(l); // exact doubles
        assertThat(Files.readAllBytes(b.modelDir().resolve(ModelFiles.WEIGHTS)))
                .isEqualTo(Files.readAllBytes(r.modelDir().resolve(ModelFiles.WEIGHTS)));

        Path hf = runs.resolve("hf");
        try (Checkpoint c = HfExport.openAny(runs.resolve("split/checkpoints"), s -> { })) {
            assertThat(c.step()).isEqualTo(24);
            HfExport.export(c, hf, null);
        }
        JsonNode cfg = json.readTree(hf.resolve(ModelFiles.CONFIG).toFile());
        assertThat(cfg.path("architectures").get(0).asText()).isEqualTo("TandemGPT2MoE");
        assertThat(cfg.path("moe").path("n_experts").asInt()).isEqualTo(4);
        GPTConfig read = ModelFiles.readConfig(hf);
        assertThat(read.moe()).isEqualTo(new MoEConfig(4, 2, 1.0, false, 2, 0.01, 0.001));
        try (GPT exported = ModelFiles.load(hf); GPT trained = ModelFiles.load(r.modelDir())) {
            for (String name : List.of("h.1.mlp.router.weight", "h.1.mlp.experts.3.c_fc.weight", "h.0.mlp.c_fc.weight")) {
                assertThat(exported.param(name).value().toFloatArray()).as(name).isEqualTo(trained.param(name).value().toFloatArray());
            }
        }
    }

    /** Generation routes one token at a time, so with a dropless model its logits equal a full forward pass. */
    @Test
    void kvCacheGenerationOfAnMoeModelMatchesTheFullForwardPass() {
        GPTConfig cfg = new GPTConfig(2, 2, 16, 23, 12).withMoe(new MoEConfig(4, 2, 1.0, true, 1, 0.01, 0.001));
        int[] tokens = {3, 7, 1, 22, 0, 5, 5, 9};
        try (GPT model = GPT.initialized(cfg, 5);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, tokens.length);
             Tape tape = Tape.inference()) {
            for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
            float[] full = model.logits(new Ops(tape, TestKernels.FAST), ids).toFloatArray();
            Generator gen = new Generator(model, TestKernels.FAST);
            for (int t = 0; t < tokens.length; t++) {
                float[] step = gen.feed(tokens[t]);
                for (int v = 0; v < cfg.vocabSize(); v++) {
                    assertThat(step[v]).as("position %d logit %d", t, v)
                            .isCloseTo(full[t * cfg.vocabSize() + v], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }

    @Test
    void badMoeKeysAreClearErrors() {
        Map<String, String> m = moe("bad", 1);
        m.put("model.top_k", "2");
        m.put("model.n_experts", "1");
        assertThatThrownBy(() -> TrainConfig.load(null, m)).isInstanceOf(TandemException.class)
                .hasMessageContaining("top_k = 2 is more than model.n_experts = 1");
        m.put("model.n_experts", "4");
        m.put("model.capacity_factor", "0");
        assertThatThrownBy(() -> TrainConfig.load(null, m)).isInstanceOf(TandemException.class)
                .hasMessageContaining("capacity_factor must be > 0");
        m.put("model.dropless", "true");
        assertThat(TrainConfig.load(null, m).gptConfig(100).moe().dropless()).isTrue();
        m.put("parallel.tp", "2");
        assertThatThrownBy(() -> TrainConfig.load(null, m)).isInstanceOf(TandemException.class).hasMessageContaining("tp = 1");
    }
}
