package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model files: today's architectures are read, and a key the planner does not know is an error. */
class ModelFileTest {
    @TempDir Path dir;

    private Path file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void aHuggingFaceLlamaConfigIsReadAsIs() throws Exception {
        Path p = file("config.json", """
                {"architectures": ["LlamaForCausalLM"], "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
                 "max_position_embeddings": 8192, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32,
                 "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": false,
                 "torch_dtype": "bfloat16", "vocab_size": 128256, "bos_token_id": 128000, "eos_token_id": 128001}""");
        ModelSpec m = ModelConfigLoader.load(p);
        assertThat(m.kvHeads()).isEqualTo(8);
        assertThat(m.mlp()).isEqualTo(MlpType.SWIGLU);
        assertThat(m.tiedHead()).isFalse();
        assertThat(m.positions()).isEqualTo(Positions.ROPE);
        assertThat(m.params()).isEqualTo(ModelCatalog.get("llama3-8b").params());
    }

    @Test
    void kvHeadsAndTheMlpChangeThePrediction() throws Exception {
        Path mha = file("mha.toml", "layers = 8\nhidden = 1024\nheads = 16\nvocab = 32000\nseq = 2048\n");
        Path gqa = file("gqa.toml", "layers = 8\nhidden = 1024\nheads = 16\nkv_heads = 2\nvocab = 32000\nseq = 2048\nmlp = \"swiglu\"\n");
        ClusterSpec c = ClusterSpec.parse("8xA100-80GB");
        double a = PlanSearch.search(new CostModel(ModelConfigLoader.load(mha), c, 64), 1).best().stepSeconds();
        double b = PlanSearch.search(new CostModel(ModelConfigLoader.load(gqa), c, 64), 1).best().stepSeconds();
        assertThat(a).isNotEqualTo(b);
        // The SwiGLU width left out follows Llama's rule: 2/3 of 4h rounded up to 256.
        assertThat(ModelConfigLoader.load(gqa).ffnHidden()).isEqualTo(2816);
    }

    @Test
    void expertsAreReadFromATrainingConfig() throws Exception {
        Path p = file("train.toml", """
                [model]
                n_layer = 4
                n_head = 4
                n_embd = 128
                block_size = 64
                n_experts = 8
                top_k = 2
                capacity_factor = 1.5
                moe_every = 2
                aux_loss_coef = 0.01
                [data]
                vocab_size = 500
                """);
        ModelSpec m = ModelConfigLoader.load(p);
        assertThat(m.moe()).isEqualTo(new MoeShape(8, 2, 1.5, 2));
        assertThat(m.vocab()).isEqualTo(500);
    }

    @Test
    void anUnknownKeyIsAnErrorNamingItAndTheAcceptedOnes() throws Exception {
        Path p = file("bad.json", "{\"layers\": 4, \"hidden\": 128, \"heads\": 4, \"vocab\": 100, \"seq\": 64, \"kv_head\": 2}");
        assertThatThrownBy(() -> ModelConfigLoader.load(p)).isInstanceOf(PlanInputException.class)
                .hasMessageContaining("unknown key 'kv_head'").hasMessageContaining("kv_heads (num_key_value_heads");
        Path act = file("act.json", "{\"layers\": 4, \"hidden\": 128, \"heads\": 4, \"vocab\": 100, \"seq\": 64, \"mlp\": \"relu\"}");
        assertThatThrownBy(() -> ModelConfigLoader.load(act)).hasMessageContaining("mlp must be gelu or swiglu");
        Path twice = file("twice.json", "{\"layers\": 4, \"n_layer\": 6, \"hidden\": 128, \"heads\": 4, \"vocab\": 100, \"seq\": 64}");
        assertThatThrownBy(() -> ModelConfigLoader.load(twice)).hasMessageContaining("both set layers");
        Path kv = file("kv.json", "{\"layers\": 4, \"hidden\": 128, \"heads\": 4, \"kv_heads\": 3, \"vocab\": 100, \"seq\": 64}");
        assertThatThrownBy(() -> ModelConfigLoader.load(kv)).hasMessageContaining("kv_heads must divide heads");
    }
}
