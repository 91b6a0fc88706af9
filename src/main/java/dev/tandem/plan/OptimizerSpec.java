package dev.tandem.plan;

import java.util.List;
import java.util.Locale;

/**
 * Which optimizer a plan runs and the precision of its state: what the planner needs to count
 * optimizer-state bytes and what the parallel strategies need to know (Muon and SOAP update whole
 * matrices, so ZeRO must not cut those between ranks and tensor parallelism cannot run them).
 * Hyperparameters are not part of the plan; they live in the config's {@code [optim]} section.
 *
 * @param family the update rule
 * @param state  precision of the state: float32, or 8-bit block-wise with a float32 scale per block
 */
public record OptimizerSpec(Family family, StatePrecision state) {

    public enum Family { ADAMW, LION, MUON, SOAP, SGD }

    public enum StatePrecision { F32, INT8 }

    /** Elements per block of the 8-bit states' float32 scale. */
    private static final int INT8_BLOCK = 256;

    /** The names {@link #named} accepts, in the order docs and benchmarks list them. */
    public static final List<String> NAMES = List.of("adamw", "adamw8bit", "lion", "lion8bit", "muon", "soap", "sgd");

    public static final OptimizerSpec ADAMW = new OptimizerSpec(Family.ADAMW, StatePrecision.F32);

    public OptimizerSpec {
        if (state == StatePrecision.INT8 && family != Family.ADAMW && family != Family.LION) {
            throw new PlanInputException("8-bit optimizer state exists for adamw and lion only, not " + family.name().toLowerCase(Locale.ROOT));
        }
    }

    /** The optimizer a config names: {@code adamw}, {@code adamw8bit}, {@code lion}, {@code lion8bit}, {@code muon}, {@code soap} or {@code sgd}. */
    public static OptimizerSpec named(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        if (!NAMES.contains(n)) throw new PlanInputException("optimizer must be one of " + String.join(", ", NAMES) + ", got '" + name + "'");
        boolean eight = n.endsWith("8bit");
        Family f = Family.valueOf((eight ? n.substring(0, n.length() - 4) : n).toUpperCase(Locale.ROOT));
        return new OptimizerSpec(f, eight ? StatePrecision.INT8 : StatePrecision.F32);
    }

    /** The config name, which {@link #named} reads back. */
    public String name() {
        return family.name().toLowerCase(Locale.ROOT) + (state == StatePrecision.INT8 ? "8bit" : "");
    }

    /** Whether the update needs whole matrices (Muon's orthogonalisation, SOAP's preconditioners). */
    public boolean updatesWholeMatrices() {
        return family == Family.MUON || family == Family.SOAP;
    }

    /**
     * Optimizer-state bytes per parameter, besides any master copy: for a weight matrix of a
     * transformer layer ({@code matrix}) or any other parameter (embeddings, biases, norms). Muon
     * keeps one momentum for the layers' matrices and AdamW's two moments for the rest. SOAP's
     * preconditioners grow with the square of each matrix side, not with its elements, and are
     * left out; small tensors that 8-bit optimizers keep in float32 are too.
     */
    public double stateBytesPerParameter(boolean matrix) {
        double perState = state == StatePrecision.INT8 ? 1 + 4.0 / INT8_BLOCK : 4;
        return switch (family) {
            case ADAMW, SOAP -> 2 * perState;
            case LION, SGD -> perState;
            case MUON -> matrix ? perState : 2 * perState;
        };
    }

    @Override
    public String toString() {
        return name();
    }
}
