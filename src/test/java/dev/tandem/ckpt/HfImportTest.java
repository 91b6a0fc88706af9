package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Precision;
import dev.tandem.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugging Face GPT-2 directories built here (nothing is downloaded): Tandem's own export read
 * back, half-precision and sharded weights, GPT-2's vocab.json + merges.txt, and the ways a
 * directory can fail to fit, each error naming the tensor or the file.
 */
class HfImportTest {
    private static final Path SHAKESPEARE_TOKENIZER = Path.of("data/tokenizer-shakespeare-2k.json");

    @TempDir Path dir;

    private static float[] logits(GPT model, int... tokens) {
        try (Tape tape = Tape.inference(); Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, tokens.length)) {
            for (int i = 0; i < tokens.length; i++) ids.setInt(i, tokens[i]);
            return model.logits(new Ops(tape, Kernels.reference()), ids).toFloatArray();
        }
    }

    @Test
    void exportedModelImportsWithBitIdenticalLogits() throws Exception {
        Tokenizer tok = TokenizerJson.load(SHAKESPEARE_TOKENIZER);
        GPTConfig cfg = new GPTConfig(2, 2, 16, tok.vocabSize(), 12);
        try (GPT model = GPT.initialized(cfg, 11)) {
            ModelFiles.save(dir, model, SHAKESPEARE_TOKENIZER);
            try (HfImport.Imported in = HfImport.load(dir)) {
                assertThat(in.model().config()).isEqualTo(cfg);
                assertThat(in.tokenizer().fingerprint()).isEqualTo(tok.fingerprint());
                int[] prompt = tok.encode("ROMEO: what light");
                assertThat(logits(in.model(), prompt)).isEqualTo(logits(model, prompt));
            }
        }
    }

    /**
     * A PEQA run quantizes each linear weight as it is read: the same codes, zero points and
     * scales, and so the same logits, as reading the float model whole and quantizing it after.
     */
    @Test
    void quantizingWhileReadingEqualsQuantizingAfter() throws Exception {
        Tokenizer tok = TokenizerJson.load(SHAKESPEARE_TOKENIZER);
        GPTConfig cfg = new GPTConfig(2, 2, 16, tok.vocabSize(), 12);
        try (GPT model = GPT.initialized(cfg, 12)) {
            ModelFiles.save(dir, model, SHAKESPEARE_TOKENIZER);
        }
        try (GPT streamed = HfImport.weights(dir, cfg, 4); GPT after = HfImport.weights(dir, cfg)) {
            assertThat(streamed.parameters().stream().filter(p -> dev.tandem.nn.Peqa.isLinearWeight(p.name())))
                    .allSatisfy(p -> assertThat(p.quantized()).as(p.name()).isNotNull());
            dev.tandem.nn.Peqa.apply(after, 4);
            dev.tandem.nn.Peqa.apply(streamed, 4);
            for (Parameter p : after.parameters()) {
                Parameter q = streamed.param(p.name());
                assertThat(q.quantized() != null).as(p.name()).isEqualTo(p.quantized() != null);
                if (p.quantized() == null) continue;
                assertThat(bytes(q.quantized().codes())).as(p.name()).isEqualTo(bytes(p.quantized().codes()));
                assertThat(bytes(q.quantized().zeros())).as(p.name()).isEqualTo(bytes(p.quantized().zeros()));
                assertThat(q.value().toFloatArray()).as(p.name()).isEqualTo(p.value().toFloatArray());
            }
            int[] prompt = tok.encode("ROMEO: what light");
            assertThat(logits(streamed, prompt)).isEqualTo(logits(after, prompt));
        }
    }

    private static byte[] bytes(Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** F16 and BF16 weights in two shards with an index, transformer.-prefixed, mask buffers and lm_head included, vocab.json + merges.txt. */
    @Test
    void halfPrecisionShardedWeightsAreConvertedToFloat32() throws Exception {
        for (DType half : List.of(DType.F16, DType.BF16)) {
            Path d = Files.createDirectories(dir.resolve(half.name()));
            GPTConfig cfg = new GPTConfig(2, 2, 8, 300, 6);
            try (GPT model = GPT.initialized(cfg, 3)) {
                ModelFiles.save(d, model, null);
                Files.delete(d.resolve(ModelFiles.WEIGHTS));
                Files.delete(d.resolve(ModelFiles.CHECKSUMS));
                Map<String, Tensor> a = new LinkedHashMap<>(), b = new LinkedHashMap<>();
                Map<String, String> weightMap = new LinkedHashMap<>();
                for (Parameter p : model.parameters()) {
                    boolean first = p.name().startsWith("w") || p.name().startsWith("h.0.");
                    (first ? a : b).put("transformer." + p.name(), p.value().convert(half, MemoryCategory.OTHER));
                    weightMap.put("transformer." + p.name(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
                }
                b.put("transformer.h.1.attn.bias", Tensor.zeros(MemoryCategory.OTHER, 1, 1, 6, 6)); // GPT-2's causal mask buffer
                b.put("lm_head.weight", model.param("wte.weight").value().convert(half, MemoryCategory.OTHER));
                SafeTensors.write(d.resolve("model-00001-of-00002.safetensors"), a, Map.of());
                SafeTensors.write(d.resolve("model-00002-of-00002.safetensors"), b, Map.of());
                var index = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
                weightMap.forEach(index.putObject("weight_map")::put);
                Files.writeString(d.resolve(HfImport.INDEX), index.toString());
                writeByteLevelVocabAndMerges(d);

                try (HfImport.Imported in = HfImport.load(d)) {
                    for (Parameter p : model.parameters()) {
                        float[] want = p.value().toFloatArray(), got = in.model().param(p.name()).value().toFloatArray();
                        for (int i = 0; i < want.length; i++) {
                            float rounded = half == DType.F16 ? Float.float16ToFloat(Float.floatToFloat16(want[i])) : Precision.roundToBf16(want[i]);
                            assertThat(got[i]).as("%s %s[%d]", half, p.name(), i).isEqualTo(rounded);
                        }
                    }
                    assertThat(in.tokenizer().vocabSize()).isEqualTo(258);
                    assertThat(in.tokenizer().decode(in.tokenizer().encode("ab ab"))).isEqualTo("ab ab");
                }
                a.values().forEach(Tensor::close);
                b.values().forEach(Tensor::close);
            }
        }
    }

    /** GPT-2's older tokenizer files: the 256 byte tokens, one merge "a b" → "ab", and <|endoftext|>. */
    private static void writeByteLevelVocabAndMerges(Path d) throws Exception {
        var vocab = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        for (int b = 0; b < 256; b++) vocab.put(dev.tandem.data.ByteLevel.encode(new byte[] {(byte) b}), b);
        vocab.put("ab", 256);
        vocab.put("<|endoftext|>", 257);
        Files.writeString(d.resolve(HfImport.VOCAB), vocab.toString());
        Files.writeString(d.resolve(HfImport.MERGES), "#version: 0.2\na b\n");
    }

    private Path exported(GPTConfig cfg) throws Exception {
        try (GPT model = GPT.initialized(cfg, 5)) {
            ModelFiles.save(dir, model, null);
        }
        Files.delete(dir.resolve(ModelFiles.CHECKSUMS)); // a directory from elsewhere: the edits below are deliberate
        writeByteLevelVocabAndMerges(dir);
        return dir;
    }

    private void rewriteWeights(java.util.function.Consumer<Map<String, Tensor>> edit) throws Exception {
        Path f = dir.resolve(ModelFiles.WEIGHTS);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafeTensors.Reader r = SafeTensors.read(f)) {
            r.entries().forEach((n, e) -> tensors.put(n, e.asTensor().convert(DType.F32, MemoryCategory.OTHER)));
        }
        edit.accept(tensors);
        SafeTensors.write(f, tensors, Map.of());
        tensors.values().forEach(Tensor::close);
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6));
        rewriteWeights(t -> t.remove("h.1.mlp.c_fc.bias").close());
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("missing tensor 'h.1.mlp.c_fc.bias'");
    }

    @Test
    void anUntiedOutputHeadIsRefusedNotDropped() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6));
        rewriteWeights(t -> {
            Tensor head = t.get("wte.weight").convert(DType.F32, MemoryCategory.OTHER);
            head.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 5, 0.5f);
            t.put("lm_head.weight", head);
        });
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("'lm_head.weight' differs from 'wte.weight'").hasMessageContaining("untied output head");
    }

    @Test
    void misShapedTensorIsNamedWithItsFile() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6));
        rewriteWeights(t -> {
            t.remove("h.0.attn.c_proj.weight").close();
            t.put("h.0.attn.c_proj.weight", Tensor.zeros(MemoryCategory.OTHER, 8, 9));
        });
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("'h.0.attn.c_proj.weight' has shape [8, 9]")
                .hasMessageContaining("[8, 8]");
    }

    @Test
    void wrongVocabSizeInConfigIsNamed() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6));
        Path config = dir.resolve(ModelFiles.CONFIG);
        Files.writeString(config, Files.readString(config).replace("\"vocab_size\" : 258", "\"vocab_size\" : 300"));
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("'wte.weight' has shape [258, 8]").hasMessageContaining("vocab_size 300");
    }

    @Test
    void tokenizerOfAnotherModelIsRefused() throws Exception {
        exported(new GPTConfig(2, 2, 8, 100, 6)); // 258 tokens cannot index a 100-row embedding
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("vocab.json + merges.txt").hasMessageContaining("258 tokens").hasMessageContaining("vocab_size 100");
        Files.writeString(dir.resolve(HfImport.MERGES), "#version: 0.2\na b\nab c\n"); // "abc" is not in vocab.json
        assertThatThrownBy(() -> HfImport.tokenizer(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("merges.txt").hasMessageContaining("not in vocab.json");
    }

    /** A tokenizer of the same size from another model numbers <|endoftext|> differently from config.json's eos/bos ids. */
    @Test
    void aSameSizeTokenizerWhoseEndOfTextIdDiffersIsNamed() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6)); // vocab.json puts <|endoftext|> at 257
        Path config = dir.resolve(ModelFiles.CONFIG);
        Files.writeString(config, Files.readString(config).replace("\"eos_token_id\" : null", "\"eos_token_id\" : 256"));
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining(HfImport.VOCAB).hasMessageContaining("<|endoftext|> is token 257")
                .hasMessageContaining(ModelFiles.CONFIG).hasMessageContaining("eos_token_id 256");
    }

    /** tokenizer.json next to a vocab.json + merges.txt of another tokenizer: which one the model knows is unclear, so both are named. */
    @Test
    void aTokenizerJsonThatDisagreesWithVocabAndMergesIsNamed() throws Exception {
        exported(new GPTConfig(2, 2, 8, 258, 6));
        Path other = Files.createDirectories(dir.resolve("other"));
        writeByteLevelVocabAndMerges(other);
        Files.writeString(other.resolve(HfImport.VOCAB), Files.readString(other.resolve(HfImport.VOCAB)).replace("\"ab\"", "\"ba\""));
        Files.writeString(other.resolve(HfImport.MERGES), "#version: 0.2\nb a\n");
        TokenizerJson.save(HfImport.tokenizer(other), dir.resolve(ModelFiles.TOKENIZER));
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("tokenizer.json and vocab.json + merges.txt are different tokenizers").hasMessageContaining("token 256");
    }

    @Test
    void halfOfAShardedModelMissingIsNamed() throws Exception {
        exported(new GPTConfig(1, 1, 4, 258, 3));
        Files.writeString(dir.resolve(HfImport.INDEX), "{\"weight_map\": {\"wte.weight\": \"model-00002-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> HfImport.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("model-00002-of-00002.safetensors").hasMessageContaining("missing");
    }
}
