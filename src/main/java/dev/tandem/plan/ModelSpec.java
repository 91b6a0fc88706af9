package dev.tandem.plan;

/**
 * Shape of a GPT-style decoder: what the cost model needs to count FLOPs, bytes and parameters.
 * {@code ffnHidden} is the MLP width (4·hidden for GPT-2/3 and the Megatron runs).
 */
public record ModelSpec(String name, int layers, int hidden, int heads, int vocab, int seq, int ffnHidden, int streams, int prefix) {

    /** One stream (no ParScale). */
    public ModelSpec(String name, int layers, int hidden, int heads, int vocab, int seq, int ffnHidden) {
        this(name, layers, hidden, heads, vocab, seq, ffnHidden, 1, 0);
    }

    public ModelSpec {
        require(layers > 0, "layers must be positive");
        require(hidden > 0, "hidden must be positive");
        require(heads > 0 && hidden % heads == 0, "heads must divide hidden (hidden " + hidden + ", heads " + heads + ")");
        require(vocab > 0, "vocab must be positive");
        require(seq > 0, "seq must be positive");
        require(ffnHidden > 0, "ffn_hidden must be positive");
        require(streams > 0 && prefix >= 0 && (streams > 1 || prefix == 0), "ParScale needs streams >= 1 and a prefix only with streams > 1");
    }

    /** The usual GPT shape with a 4·hidden MLP. */
    public static ModelSpec gpt(String name, int layers, int hidden, int heads, int vocab, int seq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, 4 * hidden);
    }

    public ModelSpec withSeq(int newSeq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, newSeq, ffnHidden, streams, prefix);
    }

    /**
     * The same model run as P ParScale streams with {@code prefix} prefix keys/values per layer:
     * P× the layers' compute and activations (attention over seq + prefix keys), one output layer,
     * and the prefixes and the aggregation MLP as extra parameters.
     */
    public ModelSpec withParScale(int p, int prefixTokens) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, ffnHidden, p, p == 1 ? 0 : prefixTokens);
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
        return 4 * h * h + 2 * h * f + 9 * h + f + (streams > 1 ? 2L * streams * prefix * h : 0); // ParScale: prefix keys and values
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
        return layers * paramsPerLayer() + embeddingParams() + aggregationParams();
    }

    /** ParScale's aggregation MLP, Linear(P·h → h) and Linear(h → P) with biases; 0 for one stream. */
    public long aggregationParams() {
        long h = hidden, p = streams;
        return streams == 1 ? 0 : p * h * h + h + h * p + p;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new PlanInputException("model: " + message);
    }
}
