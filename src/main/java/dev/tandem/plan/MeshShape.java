package dev.tandem.plan;

/**
 * The sizes of the parallel axes of a plan. Ranks are laid out tensor-parallel fastest, then
 * data-parallel, then pipeline (Megatron-LM's order), so a tensor-parallel group is a run of
 * neighbouring ranks and sits inside one node. Islands are the slowest axis: island {@code i} is
 * the run of ranks {@code [i·dp·tp·pp, (i+1)·dp·tp·pp)}, and inside it the dp × tp × pp grid runs
 * as on its own; only the outer algorithm ({@link OuterSpec}) talks between islands. A new axis
 * (experts, context) is added here.
 *
 * @param dp      data-parallel replicas inside an island
 * @param tp      tensor-parallel ranks (heads and MLP columns split; vocabulary-parallel output)
 * @param pp      pipeline stages
 * @param islands groups of ranks joined by a slow link (low-communication training); 1 = none
 */
public record MeshShape(int dp, int tp, int pp, int islands) {
    public MeshShape {
        if (dp < 1 || tp < 1 || pp < 1) {
            throw new PlanInputException("dp, tp and pp must be >= 1, got dp=" + dp + " tp=" + tp + " pp=" + pp);
        }
        if (islands < 1) throw new PlanInputException("islands must be >= 1 (1 = one island, no outer algorithm), got " + islands);
    }

    /** One island: the dp × tp × pp grid alone. */
    public MeshShape(int dp, int tp, int pp) {
        this(dp, tp, pp, 1);
    }

    /** Ranks the mesh needs: islands·dp·tp·pp. */
    public int worldSize() {
        return islands * islandSize();
    }

    /** Ranks of one island: dp·tp·pp. */
    public int islandSize() {
        return dp * tp * pp;
    }
}
