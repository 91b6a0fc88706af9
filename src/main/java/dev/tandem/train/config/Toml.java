package dev.tandem.train.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a config tree as TOML: one table per section, scalars and arrays of scalars. Strings
 * are written as JSON writes them, which is a valid TOML basic string (the same escapes). Jackson's
 * TOML writer would put every key on a dotted line of its own ({@code model.n_layer = 4}); a user
 * reads and edits the sections as tables.
 */
final class Toml {
    private Toml() {}

    static String write(ObjectNode sections) {
        StringBuilder out = new StringBuilder();
        sections.properties().forEach(section -> {
            if (!out.isEmpty()) out.append('\n');
            out.append('[').append(section.getKey()).append("]\n");
            section.getValue().properties().forEach(e -> out.append(e.getKey()).append(" = ").append(value(e.getValue())).append('\n'));
        });
        return out.toString();
    }

    private static String value(JsonNode v) {
        if (v.isArray()) {
            List<String> items = new ArrayList<>();
            v.forEach(x -> items.add(value(x)));
            return "[" + String.join(", ", items) + "]";
        }
        if (v.isObject()) throw new IllegalArgumentException("a config value cannot be a table: " + v);
        return v.toString();
    }
}
