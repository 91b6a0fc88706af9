package dev.tandem.plan;

/**
 * The sizes of the parallel axes of a plan. Ranks are laid out tensor-parallel fastest, then
 * context-parallel, then data-parallel, then pipeline (Megatron-LM's order), so a tensor-parallel
 * group is a run of neighbouring ranks and sits inside one node, and a context-parallel ring is
 * the next-closest. Islands are the slowest axis: island {@code i} is the run of ranks
 * {@code [i·s, (i+1)·s)} with s = dp·cp·tp·pp, and inside it the grid runs as on its own; only the
 * outer algorithm ({@link OuterSpec}) talks between islands. A new axis is added here.
 *
 * @param dp      data-parallel replicas inside an island
 * @param tp      tensor-parallel ranks (heads and MLP columns split; vocabulary-parallel output)
 * @param pp      pipeline stages
 * @param islands groups of ranks joined by a slow link (low-communication training); 1 = none
 * @param cp      context-parallel ranks: one sequence split over cp ranks by ring attention, each
 *                holding two mirrored chunks of it (causal load balancing); 1 = none
 * @param hdp     hybrid data/context parallelism (ByteScale): the dp·cp ranks form one pool and
 *                each step a balance scheduler gives every sequence as many ranks as its length
 *                needs (⌈L/(block_size/cp)⌉), short ones one rank each; false = every sequence
 *                on its cp ranks
 */
public record MeshShape(int dp, int tp, int pp, int islands, int cp, boolean hdp) {
    public MeshShape {
        if (dp < 1 || tp < 1 || pp < 1) {
            throw new PlanInputException("dp, tp and pp must be >= 1, got dp=" + dp + " tp=" + tp + " pp=" + pp);
        }
        if (islands < 1) throw new PlanInputException("islands must be >= 1 (1 = one island, no outer algorithm), got " + islands);
        if (cp < 1) throw new PlanInputException("cp must be >= 1 (1 = no context parallelism), got " + cp);
    }

    /** No context parallelism. */
    public MeshShape(int dp, int tp, int pp, int islands) {
        this(dp, tp, pp, islands, 1, false);
    }

    /** One island: the dp × tp × pp grid alone. */
    public MeshShape(int dp, int tp, int pp) {
        this(dp, tp, pp, 1);
    }

    /** Ranks the mesh needs: islands·dp·cp·tp·pp. */
    public int worldSize() {
        return islands * islandSize();
    }

    /** Ranks of one island: dp·cp·tp·pp. */
    public int islandSize() {
        return dp * cp * tp * pp;
    }

    /** Whether a sequence may be split over ranks (cp > 1) or ranks are pooled for mixed lengths (hdp). */
    public boolean splitsSequences() {
        return cp > 1 || hdp;
    }
}
