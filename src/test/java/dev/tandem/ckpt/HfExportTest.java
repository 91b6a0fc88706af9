package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Export of a sharded checkpoint as a Hugging Face GPT-2 directory: the tensor names, shapes and
 * dtypes GPT2LMHeadModel expects (Conv1D weights are [in, out]; the output head is tied to wte
 * and not stored), the GPT2Config fields, the tokenizer, and the values of the consolidated shards.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class HfExportTest {
    @TempDir Path dir;

    @Test
    void shardsBecomeOneHuggingFaceGpt2Directory() throws Exception {
        GPTConfig m = RankFixture.MODEL; // n_layer 1, n_head 2, n_embd 8, vocab 11, block 6
        List<RankFixture> job = RankFixture.job(2, 3, "adamw", 2);
        Path tok = Path.of("data/tokenizer-shakespeare-2k.json"); // its <|endoftext|> is id 2047
        Map<String, float[]> expected = new HashMap<>();
        try {
            for (RankFixture r : job) {
                for (ParamSlice s : r.dp.optimizerSlices()) {
                    float[] a = expected.computeIfAbsent(s.name(), k -> new float[(int) java.util.Arrays.stream(s.shape()).asLongStream()
                            .reduce(1, (x, y) -> x * y)]);
                    System.arraycopy(r.values(s), 0, a, (int) s.offset(), (int) s.length());
                }
            }
            CkptTestSupport.save(dir.resolve("ckpts"), job, 3, 2, CrashPoint.NONE);
        } finally {
            CkptTestSupport.closeAll(job);
        }
        // no tokenizer in this checkpoint: the export asks for one
        try (Checkpoint c = HfExport.openAny(dir.resolve("ckpts"), s -> { })) {
            assertThatThrownBy(() -> HfExport.export(c, dir.resolve("hf"), null)).isInstanceOf(TandemException.class)
                    .hasMessageContaining("--tokenizer");
            HfExport.export(c, dir.resolve("hf"), tok);
        }
        Path hf = dir.resolve("hf");
        assertThat(Files.readString(hf.resolve("tokenizer.json"))).isEqualTo(Files.readString(tok));
        JsonNode cfg = Manifest.JSON.readTree(hf.resolve("config.json").toFile());
        assertThat(cfg.path("model_type").asText()).isEqualTo("gpt2");
        assertThat(cfg.path("architectures").get(0).asText()).isEqualTo("GPT2LMHeadModel");
        assertThat(cfg.path("vocab_size").asInt()).isEqualTo(11);
        assertThat(cfg.path("n_positions").asInt()).isEqualTo(6);
        assertThat(cfg.path("n_embd").asInt()).isEqualTo(8);
        assertThat(cfg.path("n_layer").asInt()).isEqualTo(1);
        assertThat(cfg.path("n_head").asInt()).isEqualTo(2);
        assertThat(cfg.path("activation_function").asText()).isEqualTo("gelu_new");
        assertThat(cfg.path("layer_norm_epsilon").asDouble()).isEqualTo(1e-5);
        assertThat(cfg.path("tie_word_embeddings").asBoolean()).isTrue();
        // without these, GPT2Config assumes GPT-2's own <|endoftext|> id 50256
        assertThat(cfg.path("bos_token_id").asInt()).isEqualTo(2047);
        assertThat(cfg.path("eos_token_id").asInt()).isEqualTo(2047);

        Map<String, int[]> shapes = new HashMap<>(Map.of(
                "wte.weight", new int[] {11, 8}, "wpe.weight", new int[] {6, 8},
                "h.0.ln_1.weight", new int[] {8}, "h.0.ln_1.bias", new int[] {8},
                "h.0.attn.c_attn.weight", new int[] {8, 24}, "h.0.attn.c_attn.bias", new int[] {24},
                "h.0.attn.c_proj.weight", new int[] {8, 8}, "h.0.attn.c_proj.bias", new int[] {8},
                "h.0.ln_2.weight", new int[] {8}, "h.0.ln_2.bias", new int[] {8}));
        shapes.putAll(Map.of("h.0.mlp.c_fc.weight", new int[] {8, 32}, "h.0.mlp.c_fc.bias", new int[] {32},
                "h.0.mlp.c_proj.weight", new int[] {32, 8}, "h.0.mlp.c_proj.bias", new int[] {8},
                "ln_f.weight", new int[] {8}, "ln_f.bias", new int[] {8}));
        try (SafeTensors.Reader r = SafeTensors.read(hf.resolve(ModelFiles.WEIGHTS))) {
            assertThat(r.entries().keySet()).containsExactlyInAnyOrderElementsOf(shapes.keySet());
            assertThat(r.metadata()).containsEntry("format", "pt");
            for (var e : r.entries().entrySet()) {
                assertThat(e.getValue().dtype()).as(e.getKey()).isEqualTo(DType.F32);
                assertThat(e.getValue().shape()).as(e.getKey()).isEqualTo(shapes.get(e.getKey()));
            }
        }
        try (GPT loaded = ModelFiles.load(hf)) {
            assertThat(loaded.config()).isEqualTo(m);
            for (Parameter p : loaded.parameters()) assertThat(p.value().toFloatArray()).as(p.name()).isEqualTo(expected.get(p.name()));
        }
    }
}
