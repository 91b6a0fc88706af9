package dev.tandem.optim;

import dev.tandem.TandemException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Hyperparameters shared by all optimizers (AdamW's β, ε and weight decay, parameter groups)
 * plus optimizer-specific options by name ({@code momentum=0.95, nesterov=true}). Each optimizer
 * reads its options with a default taken from SPECS.md; {@link Optimizers#create} rejects an
 * option the chosen optimizer does not know, naming it.
 *
 * @param beta1       AdamW β1 (also the AdamW part of Muon)
 * @param beta2       AdamW β2
 * @param eps         AdamW ε
 * @param weightDecay decoupled weight decay for parameters that decay (see {@link ParamGroups})
 */
public record OptimizerSettings(float beta1, float beta2, float eps, float weightDecay, ParamGroups groups,
                                Map<String, String> options) {

    public OptimizerSettings {
        options = Map.copyOf(options);
    }

    /** β = (0.9, 0.95), ε = 1e-8, weight decay 0.1, no groups, no options. */
    public static OptimizerSettings gpt() {
        return new OptimizerSettings(0.9f, 0.95f, 1e-8f, 0.1f, ParamGroups.NONE, Map.of());
    }

    public OptimizerSettings withOptions(Map<String, String> more) {
        Map<String, String> all = new LinkedHashMap<>(options);
        all.putAll(more);
        return new OptimizerSettings(beta1, beta2, eps, weightDecay, groups, all);
    }

    public OptimizerSettings withWeightDecay(float wd) {
        return new OptimizerSettings(beta1, beta2, eps, wd, groups, options);
    }

    public OptimizerSettings withGroups(ParamGroups g) {
        return new OptimizerSettings(beta1, beta2, eps, weightDecay, g, options);
    }

    /** The AdamW hyperparameters of these settings. */
    public AdamW.Settings adamw() {
        return new AdamW.Settings(beta1, beta2, eps, weightDecay);
    }

    /** Parses {@code "key=value, key=value"} (blank gives no options). */
    public static Map<String, String> parseOptions(String spec) {
        Map<String, String> out = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) return out;
        for (String kv : spec.split(",")) {
            if (kv.isBlank()) continue;
            String[] x = kv.split("=", 2);
            if (x.length != 2 || x[0].isBlank()) {
                throw new TandemException("optim.options: expected key=value, got '" + kv.trim() + "'");
            }
            out.put(x[0].trim(), x[1].trim());
        }
        return out;
    }

    public float number(String key, float dflt) {
        String v = options.get(key);
        if (v == null) return dflt;
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new TandemException("optimizer option '" + key + "' needs a number, got '" + v + "'");
        }
    }

    public int integer(String key, int dflt) {
        String v = options.get(key);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new TandemException("optimizer option '" + key + "' needs an integer, got '" + v + "'");
        }
    }

    public boolean flag(String key, boolean dflt) {
        String v = options.get(key);
        if (v == null) return dflt;
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new TandemException("optimizer option '" + key + "' needs true or false, got '" + v + "'");
        };
    }

    public String text(String key, String dflt) {
        return options.getOrDefault(key, dflt);
    }

    /** Fails naming the first option not in {@code known}. */
    void requireKnown(String optimizer, Set<String> known) {
        for (String k : options.keySet()) {
            if (!known.contains(k)) {
                throw new TandemException("optimizer '" + optimizer + "' has no option '" + k + "'; its options: "
                        + (known.isEmpty() ? "(none)" : String.join(", ", new TreeSet<>(known))));
            }
        }
    }
}
