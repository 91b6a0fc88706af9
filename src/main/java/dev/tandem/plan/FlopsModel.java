package dev.tandem.plan;

/**
 * FLOPs of one training step (GEMMs only; element-wise work is counted in time, not in FLOPs).
 * Per sequence and layer the forward is 2s(4h² + 2hf) for the four weight GEMMs plus 4s²h for
 * QKᵀ and ·V; the output layer is 2shV. The backward costs twice the forward. Full recompute adds
 * one more forward of every layer, which gives Narayanan et al.'s 96Bslh²(1 + s/6h + V/16lh) for
 * f = 4h; without recompute it is 72Bslh²(1 + s/6h + V/12lh) ("model FLOPs", used for MFU).
 */
public final class FlopsModel {
    private FlopsModel() {}

    /** With ParScale, P streams each attending over seq + prefix keys. */
    public static double layerForwardPerSequence(ModelSpec m) {
        double s = m.seq(), h = m.hidden(), f = m.ffnHidden();
        return m.streams() * (2 * s * (4 * h * h + 2 * h * f) + 4 * s * (s + m.prefix()) * h);
    }

    public static double attentionCorePerSequence(ModelSpec m) {
        double s = m.seq();
        return m.streams() * 4 * s * (s + m.prefix()) * m.hidden();
    }

    /** The output layer, and ParScale's aggregation MLP before it. */
    public static double outputForwardPerSequence(ModelSpec m) {
        return 2.0 * m.seq() * m.hidden() * m.vocab() + 2.0 * m.seq() * m.aggregationParams();
    }

    /** Model FLOPs for a global batch: forward + backward, no recomputation. */
    public static double model(ModelSpec m, double globalBatch) {
        return globalBatch * 3 * (m.layers() * layerForwardPerSequence(m) + outputForwardPerSequence(m));
    }

    /** FLOPs actually executed, recomputation included. */
    public static double hardware(ModelSpec m, double globalBatch, Recompute rc) {
        double extra = switch (rc) {
            case NONE -> 0;
            case SELECTIVE -> attentionCorePerSequence(m);
            case FULL -> layerForwardPerSequence(m);
        };
        return model(m, globalBatch) + globalBatch * m.layers() * extra;
    }
}
