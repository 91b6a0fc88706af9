package dev.tandem.plan;

/**
 * Shape of a GPT-style decoder: what the cost model needs to count FLOPs, bytes and parameters.
 * {@code ffnHidden} is the MLP width (4·hidden for GPT-2/3 and the Megatron runs).
 */
public record ModelSpec(String name, int layers, int hidden, int heads, int vocab, int seq, int ffnHidden) {

    public ModelSpec {
        require(layers > 0, "layers must be positive");
        require(hidden > 0, "hidden must be positive");
        require(heads > 0 && hidden % heads == 0, "heads must divide hidden (hidden " + hidden + ", heads " + heads + ")");
        require(vocab > 0, "vocab must be positive");
        require(seq > 0, "seq must be positive");
        require(ffnHidden > 0, "ffn_hidden must be positive");
    }

    /** The usual GPT shape with a 4·hidden MLP. */
    public static ModelSpec gpt(String name, int layers, int hidden, int heads, int vocab, int seq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, 4 * hidden);
    }

    public ModelSpec withSeq(int newSeq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, newSeq, ffnHidden);
    }

    public int headDim() {
        return hidden / heads;
    }

    /**
     * Parameters of one transformer layer: QKV and output projection (4h²), MLP (2·h·f), their
     * biases (4h + f + h) and two LayerNorms (4h). For f = 4h this is 12h² + 13h, as in Narayanan et al.
     */
    public long paramsPerLayer() {
        long h = hidden, f = ffnHidden;
        return 4 * h * h + 2 * h * f + 9 * h + f;
    }

    /** The weight matrices of one layer: QKV and output projection (4h²) and the MLP (2·h·f). */
    public long matrixParamsPerLayer() {
        long h = hidden, f = ffnHidden;
        return 4 * h * h + 2 * h * f;
    }

    /** Word and position embeddings (the output layer is tied to the word embedding). */
    public long embeddingParams() {
        return ((long) vocab + seq) * hidden;
    }

    /** P = 12lh²(1 + 13/(12h) + (V+s)/(12lh)) for f = 4h (the final LayerNorm is left out, as in the paper). */
    public long params() {
        return layers * paramsPerLayer() + embeddingParams();
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new PlanInputException("model: " + message);
    }
}
