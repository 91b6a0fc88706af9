package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a custom model shape from a JSON or TOML file: {@code layers, hidden, heads, vocab, seq}
 * and optionally {@code ffn_hidden} and {@code name}. Keys may sit at the top level or under a
 * {@code [model]} table, so a training config (or a run's train-config.json) can be passed as is:
 * there the vocabulary is {@code [data] vocab_size}. Errors name the key.
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
        JsonNode node = root.has("model") && root.get("model").isObject() ? root.get("model").deepCopy() : root;
        // A training config names the vocabulary in its [data] section (the tokenizer's size).
        if (node != root && !node.has("vocab") && !node.has("vocab_size") && root.path("data").has("vocab_size")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) node).set("vocab_size", root.path("data").get("vocab_size"));
        }
        int hidden = intKey(node, "hidden", path);
        String name = node.has("name") ? node.get("name").asText() : path.getFileName().toString();
        boolean ffnGiven = node.hasNonNull("ffn_hidden") || node.hasNonNull("n_inner");
        int ffn = ffnGiven ? intKey(node, "ffn_hidden", path) : 4 * hidden;
        return new ModelSpec(name, intKey(node, "layers", path), hidden, intKey(node, "heads", path),
                intKey(node, "vocab", path), intKey(node, "seq", path), ffn);
    }

    /**
     * The same quantities under the names of a Tandem training config (train-config.json) and of a
     * Hugging Face GPT-2 config.json, so the planner reads a run's files as they are.
     */
    private static final Map<String, List<String>> ALIASES = Map.of(
            "layers", List.of("n_layer"), "hidden", List.of("n_embd"), "heads", List.of("n_head"),
            "vocab", List.of("vocab_size"), "seq", List.of("block_size", "n_positions"), "ffn_hidden", List.of("n_inner"));

    private static int intKey(JsonNode node, String key, Path path) {
        JsonNode v = node.get(key);
        if (v != null && v.isNull()) v = null;
        for (String alias : ALIASES.getOrDefault(key, List.of())) if (v == null) v = node.get(alias);
        if (v == null) {
            throw new PlanInputException("model config " + path + ": missing key '" + key + "' (or " + ALIASES.get(key) + ")");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new PlanInputException("model config " + path + ": key '" + key + "' must be an integer, got " + v);
        }
        return v.asInt();
    }
}
