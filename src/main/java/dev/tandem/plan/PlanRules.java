package dev.tandem.plan;

/**
 * Whether a plan is well-formed for a model, a number of ranks and a global batch (before asking
 * whether it fits): the one place that knows how the parallel dimensions must divide each other
 * and which options do not compose. Each message names the key and the fix.
 */
public final class PlanRules {
    private PlanRules() {}

    /** Null when {@code p} can run {@code m} on {@code world} ranks with {@code globalBatch} sequences per step, else the reason. */
    static String problem(Plan p, ModelSpec m, int world, int globalBatch) {
        int dp = p.dp(), tp = p.tp(), pp = p.pp(), v = p.virtualStages(), micro = p.microBatches();
        int islands = p.islands();
        if (world != p.worldSize()) {
            if (islands > 1) {
                return "the plan needs islands·dp·tp·pp = " + islands + "·" + dp + "·" + tp + "·" + pp + " = " + p.worldSize()
                        + " ranks but the job has " + world + ": islands must divide the ranks, and dp·tp·pp fill one island";
            }
            if (p.cp() > 1) {
                return "the plan needs dp·cp·tp·pp = " + dp + "·" + p.cp() + "·" + tp + "·" + pp + " = " + p.worldSize()
                        + " ranks but the job has " + world + ": cp must divide the ranks, and dp·cp·tp·pp must equal them";
            }
            return "the plan needs dp·tp·pp = " + dp + "·" + tp + "·" + pp + " = " + p.worldSize() + " ranks but the job has " + world
                    + ": set dp, tp and pp so that their product is the number of ranks";
        }
        String context = contextProblem(p, m);
        if (context != null) return context;
        String outer = outerProblem(p);
        if (outer != null) return outer;
        if (globalBatch % (islands * dp * micro) != 0) {
            if (islands > 1) {
                return "batch_size " + globalBatch + " is not divisible by islands·dp·micro_batches = " + islands + "·" + dp + "·" + micro
                        + ": each island trains on its share of the batch, and every replica needs the same number of whole sequences "
                        + "per micro-batch";
            }
            return "batch_size " + globalBatch + " is not divisible by dp·micro_batches = " + dp + "·" + micro
                    + ": every replica needs the same number of whole sequences per micro-batch (choose micro_batches dividing "
                    + "batch_size/dp)";
        }
        if (m.heads() % tp != 0 || m.ffnHidden() % tp != 0) {
            return "tp = " + tp + " must divide the heads (" + m.heads() + ") and the MLP width (" + m.ffnHidden() + ")";
        }
        if (pp * v > m.layers()) {
            return "pp·virtual_stages = " + pp + "·" + v + " = " + pp * v + " stages but the model has " + m.layers()
                    + " layers: every stage needs at least one layer";
        }
        if (v > 1) {
            if (pp == 1) return "the interleaved schedule needs a pipeline: set pp > 1, or schedule = 1f1b";
            if (micro % pp != 0) {
                return "the interleaved schedule runs micro-batches in groups of pp: micro_batches = " + micro + " must be a multiple of pp = " + pp;
            }
        }
        String experts = expertProblem(p);
        if (experts != null) return experts;
        String stages = stageLayersProblem(p, m.layers());
        if (stages != null) return stages;
        if (p.sequenceParallel()) {
            if (tp == 1) return "sequence_parallel = true needs tp > 1 (it splits the tensor-parallel group's work); set it to false";
            long rows = (long) p.rowsPerMicroBatch(globalBatch) * m.seq();
            if (rows % tp != 0) {
                return "sequence parallelism splits each micro-batch's batch·time = " + rows + " rows across tp = " + tp
                        + ": choose micro_batches so that the rows divide by tp";
            }
        }
        if (p.optimizer().updatesWholeMatrices() && tp > 1) {
            return p.optimizer().name() + " updates whole matrices, and with tp = " + tp + " each rank holds a block of each: "
                    + "use tp = 1 (data parallelism and ZeRO keep matrices whole for it) or an element-wise optimizer such as adamw";
        }
        return p.recompute().layerProblem(m.layers());
    }

    /**
     * The context axis. What runs: cp with data parallelism and ZeRO 0–3, hdp with ZeRO 0–1, every
     * rank of a cp group holding the whole model. Refused here, so that the planner never proposes it: cp or
     * hdp with tensor or pipeline parallelism (a ring shard's ops do not split over tp ranks or
     * pipeline stages), experts spread over ranks and islands.
     */
    private static String contextProblem(Plan p, ModelSpec m) {
        MeshShape mesh = p.mesh();
        if (!mesh.splitsSequences()) return null;
        String what = mesh.hdp() ? "hdp = true" : "cp = " + mesh.cp();
        if (p.experts().spread() || p.islands() > 1) {
            return what + " does not compose with experts spread over ranks (ep) or islands yet: use ep = 1 and islands = 1";
        }
        if (p.tp() > 1 || p.pp() > 1) {
            return what + " runs with every rank of a context-parallel group holding the whole model, not split by tp = " + p.tp()
                    + " or pp = " + p.pp() + ": use tp = 1 and pp = 1 with " + what + " (ZeRO shards the model over dp·cp instead), "
                    + "or cp = 1 and hdp = false";
        }
        if (mesh.hdp() && p.zero().shardsGradients()) {
            return "hdp = true gives ranks different micro-batches and sums the whole gradient over the pool once per step, which "
                    + "ZeRO " + p.zero().level() + "'s per-module gradient shards cannot pair up: use zero = 0 or 1";
        }
        if (mesh.hdp() && p.microBatches() != 1) {
            return "hdp = true chooses each rank's micro-batches from the sequence lengths (ranks run different numbers): "
                    + "leave micro_batches = 1, not " + p.microBatches();
        }
        if (m.seq() < 2 * mesh.cp()) {
            return "cp = " + mesh.cp() + " splits a sequence into 2·cp = " + 2 * mesh.cp() + " chunks, but sequences are " + m.seq()
                    + " tokens: use a smaller cp";
        }
        return null;
    }

    /** Islands and the outer algorithm must go together: what runs between islands needs islands, and islands need it. */
    private static String outerProblem(Plan p) {
        int islands = p.islands();
        return switch (p.outer().algorithm()) {
            case NONE -> islands > 1 ? "islands = " + islands + " needs an outer algorithm to join them: set outer = sync, diloco or "
                    + "noloco (or islands = 1)" : null;
            case SYNC -> islands < 2 ? "outer = sync averages gradients across islands: set islands >= 2 (or outer = none)" : null;
            case DILOCO -> null; // one island is DiLoCo's single-worker form (the inner optimizer under an outer Nesterov step)
            case NOLOCO -> islands < 2 || islands % 2 != 0 ? "outer = noloco pairs each island with one other every outer step: islands "
                    + "must be even and >= 2, got " + islands : null;
        };
    }

    /**
     * The expert axis: an expert group inside the data-parallel group, with data parallelism (and
     * ZeRO for the rest of the model) only; FSSDP spreads experts over the whole data-parallel group.
     * Whether the model has experts, and how many, is checked where the model is known.
     */
    private static String expertProblem(Plan p) {
        ExpertLayout e = p.experts();
        if (!e.spread()) return null;
        if (p.dp() % e.ep() != 0) {
            return "ep = " + e.ep() + " does not divide dp = " + p.dp() + ": an expert group sits inside the data-parallel group; "
                    + "choose ep among the divisors of dp";
        }
        if (p.tp() > 1 || p.pp() > 1) {
            return "experts spread over ranks (ep = " + e.ep() + ", moe = " + e.mode().configName() + ") compose with data parallelism "
                    + "and ZeRO only so far, not tp = " + p.tp() + " or pp = " + p.pp() + ": use tp = 1 and pp = 1";
        }
        if (p.islands() > 1) {
            return "experts spread over ranks (ep = " + e.ep() + ") run inside one data-parallel group, not across islands = "
                    + p.islands() + " yet: use islands = 1, or keep every expert on every rank (ep = 1, moe = ep)";
        }
        if (e.mode() == ExpertLayout.Mode.FSSDP && e.ep() != p.dp()) {
            return "moe = fssdp gives every expert one owner in the whole data-parallel group: set ep = dp (" + p.dp() + "), not " + e.ep();
        }
        return null;
    }

    private static String stageLayersProblem(Plan p, int layers) {
        var s = p.stageLayers();
        if (s.isEmpty()) return null;
        int stages = p.pp() * p.virtualStages();
        if (s.size() != stages) {
            return "stage_layers lists " + s.size() + " stages but pp·virtual_stages = " + stages
                    + ": give one layer count per stage, or leave it empty to balance by FLOPs";
        }
        int sum = 0;
        for (int n : s) {
            if (n < 1) return "stage_layers " + s + " gives a stage " + n + " layers: every stage needs at least one";
            sum += n;
        }
        if (sum != layers) return "stage_layers " + s + " holds " + sum + " layers but the model has " + layers;
        return null;
    }

    /**
     * The planner's check of a plan on a cluster: {@link Plan#problem} for all its devices, plus
     * what the cost model assumes: tensor parallelism inside a node, and equal chunks when interleaved.
     */
    public static String check(ModelSpec m, ClusterSpec cluster, int globalBatch, Plan p) {
        String problem = p.problem(m, cluster.devices(), globalBatch);
        if (problem != null) return problem;
        int perNode = cluster.devicesPerNode();
        if (p.tp() > perNode || perNode % p.tp() != 0) {
            return "tp=" + p.tp() + " must divide the " + perNode + " devices of a node (tensor parallelism stays inside a node)";
        }
        if (p.precision().gemmPeak(cluster.hardware()) <= 0) {
            return "precision = " + p.precision().configName() + " needs " + p.precision().configName().toUpperCase(java.util.Locale.ROOT)
                    + " GEMMs, which " + cluster.hardware().name() + " does not have: use precision = mixed";
        }
        if (p.experts().spread() && !m.moe().sparse()) {
            return "ep = " + p.ep() + " / moe = " + p.experts().mode().configName() + " spreads experts, but the model has none: set ep = 1 "
                    + "and moe = ep (or describe the model's experts)";
        }
        if (m.moe().sparse() && p.experts().mode() == ExpertLayout.Mode.EP && m.moe().experts() % p.ep() != 0) {
            return "ep = " + p.ep() + " must divide the model's " + m.moe().experts() + " experts (each rank of an expert group holds "
                    + "the same number)";
        }
        int chunks = p.pp() * p.virtualStages();
        if (p.virtualStages() > 1 && p.stageLayers().isEmpty() && m.layers() % chunks != 0) {
            return "interleaved schedule: pp·virtual_stages = " + chunks + " must divide the " + m.layers() + " layers";
        }
        return null;
    }
}
