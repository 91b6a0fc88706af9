package dev.tandem.plan;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Named model shapes. GPT-3 sizes follow Brown et al. 2020, Table 2.1 (vocabulary 50257, context
 * 2048); two rows of that table are not self-consistent and are corrected the usual way:
 * 1.3B uses 16 heads of 128 (the table says 24 heads of 128 with d_model 2048) and 13B uses
 * d_model 5120 (the table says 5140, not divisible by 40 heads). The Megatron-LM shapes are
 * Narayanan et al. 2021, Table 1 (V = 51200, s = 2048), with the GPT-3 175B and 530B shapes of
 * their Table 2 (96 × 12288 with 96 heads; 105 × 20480 with 128 heads). Llama shapes are the
 * published config.json files (Touvron et al. 2023; Llama 3 herd, Dubey et al. 2024), Mixtral's
 * Jiang et al. 2024. Only shapes live here, never results.
 */
public final class ModelCatalog {
    private static final Map<String, ModelSpec> MODELS = new LinkedHashMap<>();

    static {
        gpt3("gpt3-125m", 12, 768, 12);
        gpt3("gpt3-350m", 24, 1024, 16);
        gpt3("gpt3-760m", 24, 1536, 16);
        gpt3("gpt3-1.3b", 24, 2048, 16);
        gpt3("gpt3-2.7b", 32, 2560, 32);
        gpt3("gpt3-6.7b", 32, 4096, 32);
        gpt3("gpt3-13b", 40, 5120, 40);
        gpt3("gpt3-175b", 96, 12288, 96);
        megatron("megatron-1.7b", 24, 2304, 24);
        megatron("megatron-7.5b", 36, 4096, 32);
        megatron("megatron-39.1b", 48, 8192, 64);
        megatron("megatron-145.6b", 80, 12288, 96);
        megatron("megatron-1t", 128, 25600, 160);
        megatron("megatron-175b", 96, 12288, 96);
        megatron("megatron-530b", 105, 20480, 128);
        llama("llama2-7b", 32, 4096, 32, 32, 11008, 32000, 4096);
        llama("llama2-13b", 40, 5120, 40, 40, 13824, 32000, 4096);
        llama("llama2-70b", 80, 8192, 64, 8, 28672, 32000, 4096);
        llama("llama3-8b", 32, 4096, 32, 8, 14336, 128256, 8192);
        llama("llama3-70b", 80, 8192, 64, 8, 28672, 128256, 8192);
        llama("llama3-405b", 126, 16384, 128, 8, 53248, 128256, 8192);
        // Mixtral 8x7B: Mistral 7B's shape with 8 SwiGLU experts in every layer, top-2, dropless.
        MODELS.put("mixtral-8x7b", ModelSpec.llama("mixtral-8x7b", 32, 4096, 32, 8, 14336, 32000, 4096)
                .withMoe(new MoeShape(8, 2, 0, 1)));
    }

    private ModelCatalog() {}

    private static void gpt3(String name, int layers, int hidden, int heads) {
        MODELS.put(name, ModelSpec.gpt(name, layers, hidden, heads, 50257, 2048));
    }

    private static void megatron(String name, int layers, int hidden, int heads) {
        MODELS.put(name, ModelSpec.gpt(name, layers, hidden, heads, 51200, 2048));
    }

    private static void llama(String name, int layers, int hidden, int heads, int kvHeads, int ffn, int vocab, int seq) {
        MODELS.put(name, ModelSpec.llama(name, layers, hidden, heads, kvHeads, ffn, vocab, seq));
    }

    public static Map<String, ModelSpec> all() {
        return Map.copyOf(MODELS);
    }

    /** Looks a model up by name; "gpt-3-175b", "GPT3-175B" and "megatron-1008b" style spellings work. */
    public static ModelSpec get(String name) {
        String key = name.toLowerCase(Locale.ROOT).replace("gpt-3", "gpt3").replace('_', '-');
        if (key.equals("megatron-1008b") || key.equals("megatron-1.0t")) key = "megatron-1t";
        key = key.replace("llama-", "llama").replace("mixtral-8x7b-v0.1", "mixtral-8x7b");
        ModelSpec spec = MODELS.get(key);
        if (spec == null) {
            throw new PlanInputException("unknown model '" + name + "'; known: " + String.join(", ", MODELS.keySet())
                    + " (or give a JSON/TOML config file with layers, hidden, heads, vocab, seq)");
        }
        return spec;
    }
}
