package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a custom model shape from a JSON or TOML file: {@code layers, hidden, heads, vocab, seq}
 * and optionally {@code ffn_hidden} and {@code name}. Keys may sit at the top level or under a
 * {@code [model]} table, so a training config can be passed as is. Errors name the key.
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
        JsonNode node = root.has("model") && root.get("model").isObject() ? root.get("model") : root;
        int hidden = intKey(node, "hidden", path);
        String name = node.has("name") ? node.get("name").asText() : path.getFileName().toString();
        int ffn = node.has("ffn_hidden") ? intKey(node, "ffn_hidden", path) : 4 * hidden;
        return new ModelSpec(name, intKey(node, "layers", path), hidden, intKey(node, "heads", path),
                intKey(node, "vocab", path), intKey(node, "seq", path), ffn);
    }

    private static int intKey(JsonNode node, String key, Path path) {
        JsonNode v = node.get(key);
        if (v == null) throw new PlanInputException("model config " + path + ": missing key '" + key + "'");
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new PlanInputException("model config " + path + ": key '" + key + "' must be an integer, got " + v);
        }
        return v.asInt();
    }
}
