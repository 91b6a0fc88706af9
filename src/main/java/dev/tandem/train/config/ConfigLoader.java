package dev.tandem.train.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.tandem.TandemException;
import dev.tandem.plan.Plan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a {@link TrainConfig}: the defaults as a tree of sections, a file's tables laid over them,
 * then {@code section.key} overrides, then each section bound to its record. Every key is checked
 * against the known ones before binding, so a typo or a key of the earlier flat form is an error
 * that names it (and, for a flat key, its new place).
 */
final class ConfigLoader {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** The sections, in the order files and {@code --print-config} list them. */
    static final List<String> SECTIONS = List.of("model", "data", "optim", "parallel", "eval", "checkpoint", "run", "memory");

    /** Options spelled without a section, and the key they set. */
    private static final Map<String, String[]> SHORT = Map.of("memory_budget", new String[] {"memory", "budget"});

    /** The {@code [parallel]} key that gives the whole plan as one label. */
    private static final String PLAN_LABEL = "plan";

    private ConfigLoader() {}

    /** The config as a tree of sections; {@code [parallel]} holds the plan's keys but its optimizer (that is {@code optim.name}). */
    static ObjectNode tree(TrainConfig c) {
        ObjectNode root = JSON.createObjectNode();
        root.set("model", JSON.valueToTree(c.model()));
        root.set("data", JSON.valueToTree(c.data()));
        root.set("optim", JSON.valueToTree(c.optim()));
        ObjectNode parallel = c.parallel().toJson();
        parallel.remove("optimizer");
        // The plan's JSON names the expert axis only when it spreads experts; a config knows the keys always.
        if (!parallel.has("ep")) parallel.put("ep", c.parallel().ep()).put("moe", c.parallel().experts().mode().configName());
        // Likewise the context axis (cp, hdp), named in the plan's JSON only when it splits sequences.
        if (!parallel.has("cp")) parallel.put("cp", c.parallel().cp()).put("hdp", c.parallel().mesh().hdp());
        root.set("parallel", parallel);
        root.set("eval", JSON.valueToTree(c.eval()));
        root.set("checkpoint", JSON.valueToTree(c.checkpoint()));
        root.set("run", JSON.valueToTree(c.run()));
        root.set("memory", JSON.valueToTree(c.memory()));
        return root;
    }

    static TrainConfig load(Path file, Map<String, String> overrides) {
        ObjectNode tree = tree(TrainConfig.defaults());
        ((ObjectNode) tree.get("parallel")).put(PLAN_LABEL, "");
        Set<String> parallelKeysSet = new LinkedHashSet<>();
        Set<String> given = new LinkedHashSet<>(); // section.key of everything the file or the overrides set
        if (file != null) {
            ObjectNode f = readFile(file);
            checkKeys(f, tree, "in " + file);
            f.properties().forEach(e -> {
                ((ObjectNode) tree.get(e.getKey())).setAll((ObjectNode) e.getValue());
                e.getValue().fieldNames().forEachRemaining(k -> given.add(e.getKey() + "." + k));
                if (e.getKey().equals("parallel")) e.getValue().fieldNames().forEachRemaining(parallelKeysSet::add);
            });
        }
        overrides.forEach((key, value) -> {
            String[] sk = dotted(key, tree);
            ((ObjectNode) tree.get(sk[0])).put(sk[1], value);
            if (sk[0].equals("parallel")) parallelKeysSet.add(sk[1]);
            given.add(sk[0] + "." + sk[1]);
        });
        InitFrom.fill(tree, given);
        OptimSection optim = bind(tree, "optim", OptimSection.class);
        return new TrainConfig(bind(tree, "model", ModelSection.class), bind(tree, "data", DataSection.class), optim,
                plan((ObjectNode) tree.get("parallel"), parallelKeysSet, optim),
                bind(tree, "eval", EvalSection.class), bind(tree, "checkpoint", CheckpointSection.class), bind(tree, "run", RunSection.class),
                bind(tree, "memory", MemorySection.class));
    }

    /** {@code [parallel]}: the plan label if given (then no other key), else the plan's keys over one float32 rank. */
    private static Plan plan(ObjectNode node, Set<String> given, OptimSection optim) {
        Plan base = Plan.SINGLE.withOptimizer(optim.spec());
        String label = node.path(PLAN_LABEL).asText("");
        try {
            if (!label.isBlank()) {
                List<String> others = given.stream().filter(k -> !k.equals(PLAN_LABEL)).toList();
                if (!others.isEmpty()) {
                    throw new TandemException("parallel.plan gives the whole plan, but parallel." + String.join(", parallel.", others)
                            + " is set too: use either the label or the keys");
                }
                return Plan.parse(label, base);
            }
            ObjectNode keys = node.deepCopy();
            keys.remove(PLAN_LABEL);
            return Plan.fromJson(keys, base);
        } catch (dev.tandem.plan.PlanInputException e) {
            throw new TandemException("[parallel]: " + e.getMessage(), e);
        }
    }

    private static <T> T bind(ObjectNode tree, String section, Class<T> type) {
        try {
            return JSON.treeToValue(tree.get(section), type);
        } catch (ValueInstantiationException e) {
            if (e.getCause() instanceof TandemException te) throw te;
            throw new TandemException("invalid [" + section + "]: " + e.getOriginalMessage());
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().getLast().getFieldName();
            throw new TandemException("config key '" + section + "." + key + "' has a value of the wrong type (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new TandemException("cannot read [" + section + "]: " + e.getMessage(), e);
        }
    }

    /** {@code optim.lr} → [optim, lr], checked against the keys of {@code known}; a flat key of the earlier form gets its new spelling. */
    private static String[] dotted(String key, ObjectNode known) {
        String k = key.replace('-', '_');
        if (SHORT.containsKey(k)) return SHORT.get(k);
        int dot = k.indexOf('.');
        if (dot < 0) {
            String moved = RenamedKeys.newKey(k);
            if (moved != null) throw new TandemException("--" + k + " is now --" + moved + " (config keys live in sections; docs/TRAINING.md)");
            throw new TandemException("unknown option --" + k + ": overrides are --section.key value, e.g. --optim.lr 3e-4; sections: "
                    + String.join(", ", SECTIONS));
        }
        String section = k.substring(0, dot), name = k.substring(dot + 1);
        if (!known.has(section)) {
            throw new TandemException("unknown config section '" + section + "' in --" + k + "; sections: " + String.join(", ", SECTIONS));
        }
        if (!known.get(section).has(name)) throw unknownKey(section, name, known, "on the command line");
        return new String[] {section, name};
    }

    /** Every key of {@code f} must be a section holding known keys; flat keys of the earlier form are listed with their new places. */
    private static void checkKeys(ObjectNode f, ObjectNode known, String where) {
        List<String> moved = new ArrayList<>();
        f.properties().forEach(e -> {
            String k = e.getKey();
            if (known.has(k) && e.getValue() instanceof ObjectNode table) {
                if (k.equals("parallel") && table.has("optimizer")) {
                    throw new TandemException("[parallel] optimizer " + where + ": the optimizer is set as name under [optim]");
                }
                table.fieldNames().forEachRemaining(name -> {
                    if (!known.get(k).has(name)) throw unknownKey(k, name, known, where);
                });
            } else if (known.has(k)) {
                throw new TandemException("'" + k + "' " + where + " must be a table ([" + k + "] followed by its keys)");
            } else if (RenamedKeys.newKey(k) != null) {
                moved.add(k + " → " + RenamedKeys.newKey(k));
            } else {
                throw new TandemException("unknown config section or key '" + k + "' " + where + "; sections: " + String.join(", ", SECTIONS));
            }
        });
        if (!moved.isEmpty()) {
            throw new TandemException("the config " + where + " uses flat keys of an earlier version; keys now live in sections "
                    + "([model], [data], [optim], [parallel], [eval], [checkpoint], [run]): " + String.join(", ", moved)
                    + " (see docs/TRAINING.md)");
        }
    }

    private static TandemException unknownKey(String section, String name, ObjectNode known, String where) {
        List<String> keys = new ArrayList<>();
        known.get(section).fieldNames().forEachRemaining(keys::add);
        return new TandemException("unknown config key '" + section + "." + name + "' " + where + "; [" + section + "] has: "
                + String.join(", ", keys));
    }

    private static ObjectNode readFile(Path file) {
        if (!Files.isRegularFile(file)) throw new TandemException("config file not found: " + file);
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper reader = name.endsWith(".toml") ? new TomlMapper() : name.endsWith(".json") ? new ObjectMapper() : null;
        if (reader == null) throw new TandemException("config file " + file + " must end in .toml or .json");
        try {
            JsonNode node = reader.readTree(file.toFile());
            if (!(node instanceof ObjectNode obj)) throw new TandemException("config file " + file + " must hold tables of keys");
            return obj;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new TandemException("cannot parse config file " + file + where + ": " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new TandemException("cannot read config file " + file + ": " + e.getMessage());
        }
    }
}
