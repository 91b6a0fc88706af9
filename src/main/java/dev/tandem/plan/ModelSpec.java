package dev.tandem.plan;

/**
 * Shape of a decoder-only transformer: what the cost model needs to count FLOPs, bytes and
 * parameters. The GPT-2/3 defaults are multi-head attention ({@code kvHeads = heads}), a 4·hidden
 * GELU MLP with biases and LayerNorms, learned positions and an output layer tied to the word
 * embedding; today's models change some of that (Llama: grouped-query attention, a SwiGLU MLP
 * without biases and RMSNorm, rotary positions, an untied head; Mixtral: experts).
 *
 * @param ffnHidden MLP width f (the gate/up projections' output width for SwiGLU)
 * @param streams   ParScale streams (1 = none); {@code prefix} prefix keys/values per layer
 * @param kvHeads   key/value heads: heads (multi-head), fewer (grouped-query), 1 (multi-query)
 * @param mlp       GELU (two matrices, biases, LayerNorm) or SwiGLU (three matrices, no biases, RMSNorm)
 * @param moe       experts replacing the MLP of some layers ({@link MoeShape#DENSE} for none)
 * @param tiedHead  whether the output layer shares the word embedding's weights
 * @param positions learned position embeddings (parameters) or rotary (none)
 */
public record ModelSpec(String name, int layers, int hidden, int heads, int vocab, int seq, int ffnHidden, int streams, int prefix,
                        int kvHeads, MlpType mlp, MoeShape moe, boolean tiedHead, Positions positions) {

    /** GPT-style architecture with ParScale streams. */
    public ModelSpec(String name, int layers, int hidden, int heads, int vocab, int seq, int ffnHidden, int streams, int prefix) {
        this(name, layers, hidden, heads, vocab, seq, ffnHidden, streams, prefix, heads, MlpType.GELU, MoeShape.DENSE, true, Positions.LEARNED);
    }

    /** GPT-style architecture, one stream (no ParScale). */
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
        require(kvHeads > 0 && heads % kvHeads == 0, "kv_heads must divide heads (heads " + heads + ", kv_heads " + kvHeads + ")");
        java.util.Objects.requireNonNull(mlp, "mlp");
        java.util.Objects.requireNonNull(moe, "moe");
        java.util.Objects.requireNonNull(positions, "positions");
    }

    /** The usual GPT shape with a 4·hidden MLP. */
    public static ModelSpec gpt(String name, int layers, int hidden, int heads, int vocab, int seq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, 4 * hidden);
    }

    /** A Llama-style shape: grouped-query attention, SwiGLU MLP of width {@code ffnHidden}, RoPE, untied head. */
    public static ModelSpec llama(String name, int layers, int hidden, int heads, int kvHeads, int ffnHidden, int vocab, int seq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, ffnHidden, 1, 0, kvHeads, MlpType.SWIGLU, MoeShape.DENSE, false,
                Positions.ROPE);
    }

    public ModelSpec withSeq(int newSeq) {
        return new ModelSpec(name, layers, hidden, heads, vocab, newSeq, ffnHidden, streams, prefix, kvHeads, mlp, moe, tiedHead, positions);
    }

    /** The same model with experts in place of some MLPs. */
    public ModelSpec withMoe(MoeShape m) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, ffnHidden, streams, prefix, kvHeads, mlp, m, tiedHead, positions);
    }

    /**
     * The same model run as P ParScale streams with {@code prefix} prefix keys/values per layer:
     * P× the layers' compute and activations (attention over seq + prefix keys), one output layer,
     * and the prefixes and the aggregation MLP as extra parameters.
     */
    public ModelSpec withParScale(int p, int prefixTokens) {
        return new ModelSpec(name, layers, hidden, heads, vocab, seq, ffnHidden, p, p == 1 ? 0 : prefixTokens, kvHeads, mlp, moe, tiedHead,
                positions);
    }

    public int headDim() {
        return hidden / heads;
    }

    /** Width of K (and of V): kv_heads · head_dim; hidden for multi-head attention. */
    public int kvDim() {
        return kvHeads * headDim();
    }

    /** Q and output projections (2h²) and the K and V projections (2·h·kv_dim). */
    public long attentionMatrixParams() {
        long h = hidden;
        return 2 * h * h + 2 * h * kvDim();
    }

    /** The weight matrices of one dense MLP: 2·h·f (GELU) or 3·h·f (SwiGLU). */
    public long mlpMatrixParams() {
        return (long) mlp.matrices() * hidden * ffnHidden;
    }

    /** Fraction of the layers that hold experts. */
    public double moeFraction() {
        return (double) moe.moeLayers(layers) / layers;
    }

    /** Expert weight matrices per layer, averaged over the layers (0 for a dense model). */
    public double expertParamsPerLayer() {
        return moeFraction() * moe.experts() * mlpMatrixParams();
    }

    /** Weight matrices every rank of an expert group holds in full, per layer on average: attention and the dense MLPs. */
    public double denseMatrixParamsPerLayer() {
        return attentionMatrixParams() + (1 - moeFraction()) * mlpMatrixParams();
    }

    /** All weight matrices of a layer, averaged over the layers: attention, MLP or experts. */
    public double matrixParamsPerLayer() {
        return denseMatrixParamsPerLayer() + expertParamsPerLayer();
    }

    /**
     * Parameters of one layer besides the weight matrices, averaged over the layers. GELU models
     * (GPT) have biases on every projection and two LayerNorms (weight and bias): qkv h + 2·kv_dim,
     * output h, MLP f + h, norms 4h (9h + f for multi-head attention, as in Narayanan et al.);
     * SwiGLU models (Llama) have no biases and two RMSNorm weights (2h). Routers (h × experts) and
     * ParScale's prefix keys and values come on top.
     */
    public double otherParamsPerLayer() {
        long h = hidden;
        double own = mlp == MlpType.GELU ? h + 2L * kvDim() + h + ffnHidden + h + 4 * h : 2 * h;
        double router = moeFraction() * h * moe.experts();
        return own + router + (streams > 1 ? 2.0 * streams * prefix * h : 0);
    }

    /** Parameters of one layer, averaged over the layers. For GPT with f = 4h: 12h² + 13h, as in Narayanan et al. */
    public double paramsPerLayer() {
        return matrixParamsPerLayer() + otherParamsPerLayer();
    }

    /** The word embedding (V·h). */
    public long wordParams() {
        return (long) vocab * hidden;
    }

    /** The learned position table (s·h), 0 with rotary positions. */
    public long positionParams() {
        return positions == Positions.LEARNED ? (long) seq * hidden : 0;
    }

    /** The output layer's own weights: 0 when tied to the word embedding, V·h when untied. */
    public long headParams() {
        return tiedHead ? 0 : wordParams();
    }

    /** Word and position embeddings and an untied output layer. */
    public long embeddingParams() {
        return wordParams() + positionParams() + headParams();
    }

    /** P = 12lh²(1 + 13/(12h) + (V+s)/(12lh)) for GPT with f = 4h (the final LayerNorm is left out, as in the paper). */
    public long params() {
        return Math.round(layers * paramsPerLayer()) + embeddingParams() + aggregationParams();
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
