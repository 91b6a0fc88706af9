package dev.tandem.parallel.pipeline;

import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;
import dev.tandem.plan.FlopsModel;
import dev.tandem.plan.ModelSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which transformer layers each pipeline stage holds. The model is cut into {@code stages · chunks}
 * contiguous <em>virtual stages</em>; virtual stage {@code c·stages + r} is chunk c of rank r (with
 * one chunk per rank, virtual stage r is rank r). The first virtual stage also holds the
 * embeddings, the last one the final LayerNorm and the output head; every virtual stage holds at
 * least one layer. Plain data: every rank computes the same layout from the same inputs.
 */
public final class StageLayout {
    private final int stages;
    private final int chunks;
    private final int[] layers;
    private final long[] forwardCost;

    StageLayout(int stages, int chunks, int[] layers, long[] forwardCost) {
        this.stages = stages;
        this.chunks = chunks;
        this.layers = layers.clone();
        this.forwardCost = forwardCost;
    }

    /**
     * Layers split so that the most expensive virtual stage is as cheap as possible: each layer
     * costs its forward FLOPs, the output head its logits GEMM (the embedding lookup costs no
     * FLOPs), as the planner counts them ({@link FlopsModel}). Among equally good splits the
     * earlier stages take fewer layers.
     */
    public static StageLayout balanced(GPTConfig model, int seqLen, int stages, int chunks) {
        int k = checkShape(model, stages, chunks);
        long block = blockCost(model, seqLen), head = headCost(model, seqLen);
        int n = model.nLayer();
        // best[s][i]: the lowest possible maximum cost when virtual stages 0..s hold layers 0..i-1.
        long[][] best = new long[k][n + 1];
        int[][] cut = new int[k][n + 1];
        for (long[] row : best) Arrays.fill(row, Long.MAX_VALUE);
        for (int i = 1; i <= n; i++) best[0][i] = stageCost(i, 0 == k - 1, block, head);
        for (int s = 1; s < k; s++) {
            for (int i = s + 1; i <= n; i++) {
                for (int j = s; j < i; j++) { // stage s holds layers j..i-1; the most layers first
                    long c = Math.max(best[s - 1][j], stageCost(i - j, s == k - 1, block, head));
                    if (c < best[s][i]) {
                        best[s][i] = c;
                        cut[s][i] = j;
                    }
                }
            }
        }
        int[] counts = new int[k];
        for (int s = k - 1, i = n; s >= 0; s--) {
            int j = s == 0 ? 0 : cut[s][i];
            counts[s] = i - j;
            i = j;
        }
        return of(model, seqLen, stages, chunks, counts);
    }

    /**
     * Layers split by hand: {@code layersPerStage[i]} layers for virtual stage i (p·v entries,
     * each at least 1, summing to n_layer).
     */
    public static StageLayout of(GPTConfig model, int seqLen, int stages, int chunks, int... layersPerStage) {
        int k = checkShape(model, stages, chunks);
        if (layersPerStage.length != k) {
            throw new TandemException("the stage split " + Arrays.toString(layersPerStage) + " has " + layersPerStage.length
                    + " entries but pp·virtual_stages = " + stages + "·" + chunks + " = " + k + " stages need one each");
        }
        int sum = 0;
        for (int i = 0; i < k; i++) {
            if (layersPerStage[i] < 1) {
                throw new TandemException("the stage split " + Arrays.toString(layersPerStage) + " gives stage " + i + " "
                        + layersPerStage[i] + " layers; every stage needs at least one");
            }
            sum += layersPerStage[i];
        }
        if (sum != model.nLayer()) {
            throw new TandemException("the stage split " + Arrays.toString(layersPerStage) + " holds " + sum
                    + " layers but the model has n_layer = " + model.nLayer() + "; the counts must add up to it");
        }
        long block = blockCost(model, seqLen), head = headCost(model, seqLen);
        long[] cost = new long[k];
        for (int i = 0; i < k; i++) cost[i] = stageCost(layersPerStage[i], i == k - 1, block, head);
        return new StageLayout(stages, chunks, layersPerStage, cost);
    }

    private static int checkShape(GPTConfig model, int stages, int chunks) {
        if (stages < 1) throw new TandemException("pp must be >= 1, got " + stages);
        if (chunks < 1) throw new TandemException("virtual_stages must be >= 1, got " + chunks);
        int k = stages * chunks;
        if (k > model.nLayer()) {
            throw new TandemException("pp·virtual_stages = " + stages + "·" + chunks + " = " + k + " stages but the model has only n_layer = "
                    + model.nLayer() + " layers; every stage needs at least one (lower pp or virtual_stages)");
        }
        return k;
    }

    private static ModelSpec spec(GPTConfig m, int seqLen) {
        return ModelSpec.gpt("gpt", m.nLayer(), m.nEmbd(), m.nHead(), m.vocabSize(), seqLen);
    }

    private static long blockCost(GPTConfig m, int seqLen) {
        return Math.round(FlopsModel.layerForwardPerSequence(spec(m, seqLen)));
    }

    private static long headCost(GPTConfig m, int seqLen) {
        return Math.round(FlopsModel.outputForwardPerSequence(spec(m, seqLen)));
    }

    private static long stageCost(int layers, boolean last, long block, long head) {
        return layers * block + (last ? head : 0);
    }

    /** Pipeline ranks p. */
    public int stages() {
        return stages;
    }

    /** Model chunks per rank v (1 unless the schedule is interleaved). */
    public int chunks() {
        return chunks;
    }

    /** Layers of virtual stage {@code vs}. */
    public int layers(int vs) {
        return layers[vs];
    }

    /** Relative forward cost of virtual stage {@code vs} (FLOPs per sequence); a backward costs twice as much. */
    public long forwardCost(int vs) {
        return forwardCost[vs];
    }

    /** Virtual stages in the pipeline (p·v). */
    public int virtualStages() {
        return layers.length;
    }

    /** The rank that runs virtual stage {@code vs}. */
    public int rankOf(int vs) {
        return vs % stages;
    }

    /** Which of its rank's chunks virtual stage {@code vs} is. */
    public int chunkOf(int vs) {
        return vs / stages;
    }

    public int virtualStage(int rank, int chunk) {
        return chunk * stages + rank;
    }

    /** Index of the first layer of virtual stage {@code vs}. */
    public int firstLayer(int vs) {
        int l = 0;
        for (int i = 0; i < vs; i++) l += layers[i];
        return l;
    }

    /** Module names of virtual stage {@code vs} in forward order (as in {@code GPT.moduleParameters()}). */
    public List<String> modules(int vs) {
        List<String> out = new ArrayList<>();
        if (vs == 0) out.add("embed");
        for (int l = firstLayer(vs); l < firstLayer(vs) + layers[vs]; l++) out.add("h." + l);
        if (vs == virtualStages() - 1) out.add("head");
        return out;
    }

    /** Every module {@code rank} holds, over all its chunks. */
    public List<String> modulesOf(int rank) {
        List<String> out = new ArrayList<>();
        for (int c = 0; c < chunks; c++) out.addAll(modules(virtualStage(rank, c)));
        return out;
    }

    @Override
    public String toString() {
        return "layers per stage " + Arrays.toString(layers) + (chunks > 1 ? " (" + chunks + " chunks per rank)" : "");
    }
}
