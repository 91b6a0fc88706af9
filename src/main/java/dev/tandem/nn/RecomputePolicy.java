package dev.tandem.nn;

import dev.tandem.TandemException;
import dev.tandem.plan.Recompute;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which activations each transformer block keeps for its backward: the planner's
 * {@link Recompute} modes, one for every layer or one per layer. {@link Ops#withRecompute}
 * applies it to the modules named {@code h.<layer>}; other modules (embeddings, head) always run
 * as written. The default, {@link #SELECTIVE}, is what the ops do by themselves: attention keeps
 * one log-sum-exp per query and recomputes its probabilities in backward.
 */
public sealed interface RecomputePolicy {
    RecomputePolicy SELECTIVE = new Every(Recompute.SELECTIVE);

    /** The mode of transformer block {@code layer}. */
    Recompute layer(int layer);

    /** The same mode for every block. */
    static RecomputePolicy every(Recompute mode) {
        return new Every(mode);
    }

    /** Mode i for block h.i. */
    static RecomputePolicy perLayer(List<Recompute> modes) {
        return new PerLayer(List.copyOf(modes));
    }

    /**
     * Reads the config form: {@code none}, {@code selective} or {@code full} for every block, or a
     * comma-separated list with exactly one of them per block ({@code full,full,selective,none}).
     */
    static RecomputePolicy parse(String spec, int nLayer) {
        List<Recompute> modes = new ArrayList<>();
        for (String part : spec.split(",", -1)) modes.add(mode(part.strip().toLowerCase(Locale.ROOT), spec));
        if (modes.size() == 1) return every(modes.getFirst());
        if (modes.size() != nLayer) {
            throw new TandemException("recompute '" + spec + "' lists " + modes.size() + " modes but the model has n_layer = "
                    + nLayer + ": give one mode for all layers or exactly one per layer");
        }
        return perLayer(modes);
    }

    private static Recompute mode(String word, String spec) {
        return switch (word) {
            case "none" -> Recompute.NONE;
            case "selective" -> Recompute.SELECTIVE;
            case "full" -> Recompute.FULL;
            default -> throw new TandemException("recompute '" + spec + "': '" + word
                    + "' is not a mode; use none, selective or full, or a comma-separated list with one per layer");
        };
    }

    /** The mode of the module {@code name}: its layer's for a block {@code h.<layer>}, else selective. */
    default Recompute modeOf(String module) {
        if (!module.matches("h\\.\\d+")) return Recompute.SELECTIVE;
        return layer(Integer.parseInt(module.substring(2)));
    }

    /** One mode for every block. */
    record Every(Recompute mode) implements RecomputePolicy {
        @Override
        public Recompute layer(int layer) {
            return mode;
        }

        /** The config form, which {@link #parse} reads back. */
        @Override
        public String toString() {
            return mode.name().toLowerCase(Locale.ROOT);
        }
    }

    /** Mode i for block h.i. */
    record PerLayer(List<Recompute> modes) implements RecomputePolicy {
        @Override
        public Recompute layer(int layer) {
            if (layer >= modes.size()) {
                throw new TandemException("the recompute policy lists " + modes.size() + " layers but block h." + layer
                        + " ran: give one mode per layer of the model");
            }
            return modes.get(layer);
        }

        /** The config form, which {@link #parse} reads back. */
        @Override
        public String toString() {
            return modes.stream().map(m -> m.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(","));
        }
    }
}
