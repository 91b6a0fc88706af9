package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import dev.tandem.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model directory as Hugging Face lays it out: {@code model.safetensors} (GPT-2 names,
 * [in, out] weights, float32), {@code config.json} (GPT2Config fields) and, when given, the
 * {@code tokenizer.json} the model was trained with.
 */
public final class ModelFiles {
    public static final String WEIGHTS = "model.safetensors";
    public static final String CONFIG = "config.json";
    public static final String TOKENIZER = "tokenizer.json";
    /** SHA-256 of the files above, in sha256sum's format, so that {@code sha256sum -c checksums.sha256} checks them too. */
    public static final String CHECKSUMS = "checksums.sha256";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ModelFiles() {}

    public static void save(Path dir, GPT model, Path tokenizerJson) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int bits = 0;
        for (Parameter p : model.parameters()) {
            if (p.quantized() == null) {
                tensors.put(p.name(), p.value());
                continue;
            }
            bits = p.quantized().bits();
            tensors.putAll(PeqaLayout.tensors(p));
        }
        SafeTensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
        // GPT2Config defaults bos/eos to 50256, GPT-2's own <|endoftext|>; name ours (or none).
        int endOfText = tokenizerJson == null ? -1 : dev.tandem.data.TokenizerJson.load(tokenizerJson).endOfText();
        ObjectNode config = hfConfig(model.config(), endOfText);
        if (bits > 0) config.set(PeqaLayout.CONFIG_KEY, PeqaLayout.config(bits));
        AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writeValueAsString(config));
        if (tokenizerJson != null) {
            AtomicFiles.write(dir.resolve(TOKENIZER), tmp -> Files.copy(tokenizerJson, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
        }
        ModelChecksums.write(dir, tokenizerJson == null ? java.util.List.of(WEIGHTS, CONFIG) : java.util.List.of(WEIGHTS, CONFIG, TOKENIZER));
    }

    /**
     * The GPT2Config fields Hugging Face transformers reads, plus {@code stable_embedding: true}
     * for a model with the stable embedding (which GPT2LMHeadModel does not implement);
     * {@code endOfText} is -1 when the tokenizer has none.
     */
    static ObjectNode hfConfig(GPTConfig c, int endOfText) {
        ObjectNode n = JSON.createObjectNode();
        // Hugging Face has no GPT-2 with experts: an MoE model names its own architecture, so that
        // transformers refuses it instead of loading the dense MLPs it lacks.
        n.putArray("architectures").add(c.moe().sparse() ? "TandemGPT2MoE" : "GPT2LMHeadModel");
        n.put("model_type", "gpt2");
        n.put("vocab_size", c.vocabSize());
        n.put("n_positions", c.blockSize());
        n.put("n_ctx", c.blockSize());
        n.put("n_embd", c.nEmbd());
        n.put("n_layer", c.nLayer());
        n.put("n_head", c.nHead());
        n.putNull("n_inner");
        n.put("activation_function", "gelu_new");
        n.put("layer_norm_epsilon", 1e-5);
        n.put("initializer_range", 0.02);
        n.put("resid_pdrop", 0.0);
        n.put("embd_pdrop", 0.0);
        n.put("attn_pdrop", 0.0);
        n.put("tie_word_embeddings", true);
        n.put("torch_dtype", "float32");
        if (endOfText >= 0) {
            n.put("bos_token_id", endOfText);
            n.put("eos_token_id", endOfText);
        } else {
            n.putNull("bos_token_id");
            n.putNull("eos_token_id");
        }
        if (c.stableEmbedding()) n.put("stable_embedding", true);
        if (c.parscale() > 1) {
            // The names of the ParScale reference implementation's config (Qwen2ParScaleConfig).
            n.put("parscale_n", c.parscale());
            n.put("parscale_n_tokens", c.parscalePrefix());
            n.put("parscale_attn_smooth", (double) dev.tandem.nn.ParScale.SMOOTHING);
        }
        MoEJson.write(n, c.moe());
        return n;
    }

    public static GPTConfig readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new TandemException("no " + CONFIG + " in " + dir + ": pass a directory written by 'tandem train'");
        }
        JsonNode n = JSON.readTree(file.toFile());
        return MoEJson.read(n, new GPTConfig(field(n, "n_layer", file), field(n, "n_head", file), field(n, "n_embd", file),
                field(n, "vocab_size", file), field(n, "n_positions", file), n.path("stable_embedding").asBoolean(false))
                .withParScale(n.path("parscale_n").asInt(1), n.path("parscale_n_tokens").asInt(0)));
    }

    private static int field(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) throw new TandemException(file + ": missing integer field '" + key + "'");
        return v.asInt();
    }

    /**
     * Loads a model directory; names may carry the {@code transformer.} prefix and weights may be
     * F32, F16 or BF16, sharded or not ({@link HfImport}). Where the directory has {@value #CHECKSUMS}
     * (Tandem writes it; Hugging Face directories have none), every file it lists must match, so a
     * damaged or altered file is an error rather than a silently different model.
     */
    public static GPT load(Path dir) throws IOException {
        return HfImport.weights(dir, readConfig(dir));
    }
}
