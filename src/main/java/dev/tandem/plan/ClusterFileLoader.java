package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads a cluster description from a JSON or TOML file:
 *
 * <pre>
 *   device = "H100"            # a catalog device
 *   nodes = [8, 8, 8, 4]       # devices per node (or count = 32 for equal nodes of the catalog's size)
 *   nodes_per_leaf = 2         # nodes under one leaf switch (default: one switch for all)
 *   oversubscription = 2.0     # the core above the leaves is 2:1 oversubscribed (default 1)
 * </pre>
 *
 * Any other key is an error naming it.
 */
public final class ClusterFileLoader {
    private static final Set<String> KEYS = Set.of("device", "nodes", "count", "nodes_per_leaf", "oversubscription");

    private ClusterFileLoader() {}

    /** A {@code COUNTxDEVICE} spec, or a path to a .json/.toml cluster file. */
    public static ClusterSpec resolve(String specOrPath) {
        String lower = specOrPath.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".json") || lower.endsWith(".toml") || Files.isRegularFile(Path.of(specOrPath))) return load(Path.of(specOrPath));
        return ClusterSpec.parse(specOrPath);
    }

    public static ClusterSpec load(Path path) {
        if (!Files.isRegularFile(path)) throw new PlanInputException("cluster file " + path + " does not exist");
        JsonNode n;
        try {
            n = (path.toString().toLowerCase(Locale.ROOT).endsWith(".toml") ? new TomlMapper() : new ObjectMapper()).readTree(path.toFile());
        } catch (IOException e) {
            throw new PlanInputException("cannot read cluster file " + path + ": " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        String where = "cluster file " + path;
        for (var e : n.properties()) {
            if (!KEYS.contains(e.getKey())) {
                throw new PlanInputException(where + ": unknown key '" + e.getKey() + "'; the keys are device, nodes (or count), nodes_per_leaf, "
                        + "oversubscription");
            }
        }
        if (!n.has("device")) throw new PlanInputException(where + ": missing key 'device' (e.g. device = \"H100\")");
        Hardware hw = HardwareCatalog.get(n.get("device").asText());
        List<Integer> nodes = new ArrayList<>();
        int count;
        if (n.has("nodes")) {
            if (n.has("count")) throw new PlanInputException(where + ": give nodes (a list of node sizes) or count, not both");
            if (!n.get("nodes").isArray()) throw new PlanInputException(where + ": nodes must be a list of devices per node, e.g. [8, 8, 4]");
            n.get("nodes").forEach(x -> nodes.add(x.asInt()));
            count = nodes.stream().mapToInt(Integer::intValue).sum();
        } else if (n.has("count")) {
            count = n.get("count").asInt();
        } else {
            throw new PlanInputException(where + ": give nodes = [8, 8, ...] or count = N");
        }
        int perLeaf = n.has("nodes_per_leaf") ? n.get("nodes_per_leaf").asInt() : Integer.MAX_VALUE;
        double over = n.has("oversubscription") ? n.get("oversubscription").asDouble() : 1;
        return new ClusterSpec(count, hw, nodes, perLeaf, over);
    }
}
