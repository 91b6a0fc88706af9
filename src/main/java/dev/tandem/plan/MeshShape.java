package dev.tandem.plan;

/**
 * The sizes of the parallel axes of a plan. Ranks are laid out tensor-parallel fastest, then
 * data-parallel, then pipeline (Megatron-LM's order), so a tensor-parallel group is a run of
 * neighbouring ranks and sits inside one node. A new axis (experts, context, islands) is added here.
 *
 * @param dp data-parallel replicas
 * @param tp tensor-parallel ranks (heads and MLP columns split; vocabulary-parallel output)
 * @param pp pipeline stages
 */
public record MeshShape(int dp, int tp, int pp) {
    public MeshShape {
        if (dp < 1 || tp < 1 || pp < 1) {
            throw new PlanInputException("dp, tp and pp must be >= 1, got dp=" + dp + " tp=" + tp + " pp=" + pp);
        }
    }

    /** Ranks the mesh needs: dp·tp·pp. */
    public int worldSize() {
        return dp * tp * pp;
    }
}
