package dev.tandem.optim;

/** Which slices an 8-bit optimizer quantizes. */
final class EightBit {
    private EightBit() {}

    /** Whether an embedding table (token or position), which a stable embedding keeps in float32. */
    static boolean isEmbedding(String name) {
        return name.endsWith("wte.weight") || name.endsWith("wpe.weight");
    }

    /**
     * 8-bit unless the slice is under {@link Blockwise#MIN_8BIT_NUMEL} elements (counted on the
     * slice this rank stores, since that is the state it holds) or a stable embedding.
     */
    static boolean quantizes(ParamSlice p, boolean stableEmbedding) {
        return p.length() >= Blockwise.MIN_8BIT_NUMEL && !(stableEmbedding && isEmbedding(p.name()));
    }
}
