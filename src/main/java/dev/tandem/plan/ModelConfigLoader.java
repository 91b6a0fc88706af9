package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a model shape from a JSON or TOML file: {@code layers, hidden, heads, vocab, seq} and
 * optionally {@code kv_heads, ffn_hidden, mlp, experts, top_k, capacity_factor, dropless, moe_every,
 * tied_head, positions, parscale, parscale_prefix, name} ({@link ModelKeys} lists every spelling).
 * Keys may sit at the top level or under a {@code [model]} table, so a training config (or a run's
 * train-config.json) can be passed as is: there the vocabulary is {@code [data] vocab_size}. A key
 * the planner does not know is an error that names it and the accepted ones: a model description
 * that the planner silently misreads would give a confident wrong answer.
 */
public final class ModelConfigLoader {
    private ModelConfigLoader() {}

    /** A catalog name, or a path to a .json/.toml file. */
    public static ModelSpec resolve(String nameOrPath) {
        Path path = Path.of(nameOrPath);
        String lower = nameOrPath.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".json") || lower.endsWith(".toml") || Files.isRegularFile(path)) {
            return load(path);
        }
        return ModelCatalog.get(nameOrPath);
    }

    public static ModelSpec load(Path path) {
        if (!Files.isRegularFile(path)) throw new PlanInputException("model config " + path + " does not exist");
        JsonNode root;
        try {
            ObjectMapper mapper = path.toString().toLowerCase(Locale.ROOT).endsWith(".toml") ? new TomlMapper() : new ObjectMapper();
            root = mapper.readTree(path.toFile());
        } catch (IOException e) {
            throw new PlanInputException("cannot read model config " + path + ": " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (!root.isObject()) throw new PlanInputException("model config " + path + ": expected an object of model keys");
        boolean trainingConfig = root.has("model") && root.get("model").isObject();
        ObjectNode node = (ObjectNode) (trainingConfig ? root.get("model") : root);
        Map<String, JsonNode> keys = keys(node, path);
        // A training config names the vocabulary in its [data] section (the tokenizer's size).
        if (trainingConfig && !keys.containsKey("vocab") && root.path("data").has("vocab_size")) {
            keys.put("vocab", root.path("data").get("vocab_size"));
        }
        return spec(keys, path);
    }

    /** The file's keys under Tandem's names; an unknown key or one given twice under two names is an error. */
    private static Map<String, JsonNode> keys(ObjectNode node, Path path) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        Map<String, String> spelled = new LinkedHashMap<>();
        for (var e : node.properties()) {
            String key = e.getKey();
            if (e.getValue().isNull() || ModelKeys.NO_COST.contains(key)) continue;
            String canonical = ModelKeys.canonical(key);
            if (canonical == null) {
                throw new PlanInputException("model config " + path + ": unknown key '" + key + "'; the planner reads " + ModelKeys.accepted());
            }
            if (out.containsKey(canonical)) {
                // Hugging Face GPT-2 files carry both n_positions and n_ctx; equal values are one setting.
                if (out.get(canonical).equals(e.getValue())) continue;
                throw new PlanInputException("model config " + path + ": '" + key + "' and '" + spelled.get(canonical) + "' both set "
                        + canonical + " (" + e.getValue() + " vs " + out.get(canonical) + "); keep one");
            }
            out.put(canonical, e.getValue());
            spelled.put(canonical, key);
        }
        return out;
    }

    private static ModelSpec spec(Map<String, JsonNode> k, Path path) {
        int hidden = integer(k, "hidden", path), heads = integer(k, "heads", path);
        MlpType mlp = k.containsKey("mlp") ? MlpType.named(k.get("mlp").asText()) : MlpType.GELU;
        int ffn = k.containsKey("ffn_hidden") ? integer(k, "ffn_hidden", path) : mlp.defaultFfnHidden(hidden);
        int kv = k.containsKey("kv_heads") ? integer(k, "kv_heads", path) : heads;
        String name = k.containsKey("name") ? k.get("name").asText() : path.getFileName().toString();
        int experts = k.containsKey("experts") ? integer(k, "experts", path) : 0;
        MoeShape moe = experts == 0 ? MoeShape.DENSE : new MoeShape(experts, k.containsKey("top_k") ? integer(k, "top_k", path) : 2,
                bool(k, "dropless", false, path) ? 0 : number(k, "capacity_factor", 1.25, path),
                k.containsKey("moe_every") ? integer(k, "moe_every", path) : 1);
        // GPT-2 and the Megatron runs tie the head; Llama-style files say tie_word_embeddings = false.
        boolean tied = bool(k, "tied_head", true, path);
        Positions positions = k.containsKey("positions") ? Positions.named(k.get("positions").asText())
                : mlp == MlpType.SWIGLU ? Positions.ROPE : Positions.LEARNED;
        ModelSpec spec = new ModelSpec(name, integer(k, "layers", path), hidden, heads, integer(k, "vocab", path), integer(k, "seq", path),
                ffn, 1, 0, kv, mlp, moe, tied, positions);
        int streams = k.containsKey("parscale") ? integer(k, "parscale", path) : 1;
        return streams == 1 ? spec : spec.withParScale(streams, k.containsKey("parscale_prefix") ? integer(k, "parscale_prefix", path) : 48);
    }

    private static int integer(Map<String, JsonNode> k, String key, Path path) {
        JsonNode v = k.get(key);
        if (v == null) {
            throw new PlanInputException("model config " + path + ": missing key '" + key + "' (or " + ModelKeys.ALIASES.get(key) + ")");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new PlanInputException("model config " + path + ": key '" + key + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static double number(Map<String, JsonNode> k, String key, double dflt, Path path) {
        JsonNode v = k.get(key);
        if (v == null) return dflt;
        if (!v.isNumber()) throw new PlanInputException("model config " + path + ": key '" + key + "' must be a number, got " + v);
        return v.asDouble();
    }

    private static boolean bool(Map<String, JsonNode> k, String key, boolean dflt, Path path) {
        JsonNode v = k.get(key);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw new PlanInputException("model config " + path + ": key '" + key + "' must be true or false, got " + v);
        return v.asBoolean();
    }
}
