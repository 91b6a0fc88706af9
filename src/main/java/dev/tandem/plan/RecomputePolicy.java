package dev.tandem.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which activations each transformer block keeps for its backward: the {@link Recompute} modes,
 * one for every layer or one per layer. {@code Ops.withRecompute} applies it to the modules named
 * {@code h.<layer>}; other modules (embeddings, head) always run as written. The default, {@link
 * #SELECTIVE}, is what the ops do by themselves: attention keeps one log-sum-exp per query and
 * recomputes its probabilities in backward.
 */
public sealed interface RecomputePolicy {
    RecomputePolicy SELECTIVE = new Every(Recompute.SELECTIVE);

    /** The mode of transformer block {@code layer}. */
    Recompute layer(int layer);

    /**
     * The mode that recomputes most (full, then selective, then none): the planner models one mode
     * for all layers, and the most recomputing layer sets the pace of a per-layer policy.
     */
    Recompute heaviest();

    /** Why this policy does not fit a model of {@code nLayer} blocks, or null. */
    String layerProblem(int nLayer);

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
     * comma-separated list with one of them per block ({@code full,full,selective,none}).
     */
    static RecomputePolicy parse(String spec) {
        List<Recompute> modes = new ArrayList<>();
        for (String part : spec.split(",", -1)) modes.add(mode(part.strip().toLowerCase(Locale.ROOT), spec));
        return modes.size() == 1 ? every(modes.getFirst()) : perLayer(modes);
    }

    /** {@link #parse(String)}, checked against a model of {@code nLayer} blocks. */
    static RecomputePolicy parse(String spec, int nLayer) {
        RecomputePolicy p = parse(spec);
        String problem = p.layerProblem(nLayer);
        if (problem != null) throw new PlanInputException(problem);
        return p;
    }

    private static Recompute mode(String word, String spec) {
        return switch (word) {
            case "none" -> Recompute.NONE;
            case "selective" -> Recompute.SELECTIVE;
            case "full" -> Recompute.FULL;
            default -> throw new PlanInputException("recompute '" + spec + "': '" + word
                    + "' is not a mode; use none, selective or full, or a comma-separated list with one per layer");
        };
    }

    /** The mode of the module {@code name}: its layer's for a block {@code h.<layer>}, else selective. */
    default Recompute modeOf(String module) {
        if (!module.matches("h\\.\\d+")) return Recompute.SELECTIVE;
        return layer(Integer.parseInt(module.substring(2)));
    }

    private static String word(Recompute mode) {
        return mode.name().toLowerCase(Locale.ROOT);
    }

    /** One mode for every block. */
    record Every(Recompute mode) implements RecomputePolicy {
        @Override
        public Recompute layer(int layer) {
            return mode;
        }

        @Override
        public Recompute heaviest() {
            return mode;
        }

        @Override
        public String layerProblem(int nLayer) {
            return null;
        }

        /** The config form, which {@link #parse} reads back. */
        @Override
        public String toString() {
            return word(mode);
        }
    }

    /** Mode i for block h.i. */
    record PerLayer(List<Recompute> modes) implements RecomputePolicy {
        @Override
        public Recompute layer(int layer) {
            if (layer >= modes.size()) {
                throw new PlanInputException("the recompute policy lists " + modes.size() + " layers but block h." + layer
                        + " ran: give one mode per layer of the model");
            }
            return modes.get(layer);
        }

        @Override
        public Recompute heaviest() {
            for (Recompute r : List.of(Recompute.FULL, Recompute.SELECTIVE)) if (modes.contains(r)) return r;
            return Recompute.NONE;
        }

        @Override
        public String layerProblem(int nLayer) {
            if (modes.size() == nLayer) return null;
            return "recompute '" + this + "' lists " + modes.size() + " modes but the model has n_layer = " + nLayer
                    + ": give one mode for all layers or exactly one per layer";
        }

        /** The config form, which {@link #parse} reads back. */
        @Override
        public String toString() {
            return modes.stream().map(RecomputePolicy::word).collect(Collectors.joining(","));
        }
    }
}
