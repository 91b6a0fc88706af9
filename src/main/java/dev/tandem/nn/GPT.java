package dev.tandem.nn;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * GPT-2: pre-LayerNorm decoder, learned positions, tanh-GELU, LayerNorm eps 1e-5, output head
 * tied to the token embedding. Parameters carry Hugging Face GPT-2 names and the [in, out]
 * weight layout. With experts ({@link GPTConfig#moe()}) an MoE block's MLP becomes
 * {@code h.<i>.mlp.router.weight} [C, E] and experts {@code h.<i>.mlp.experts.<e>.c_fc/c_proj}
 * of the dense MLP's shape (see {@link MoELayer}). The model knows nothing about ranks; parallel strategies see it through
 * {@link Hooks} and {@link #moduleParameters()}.
 *
 * <p>With {@link GPTConfig#stableEmbedding()} the token embedding is normalized by a LayerNorm
 * {@code wte_norm} before the positions are added, {@code x = wte_norm(wte[ids]) + wpe[pos]}, and
 * {@code wte} starts Xavier-uniform: the stable embedding that 8-bit optimizers rely on.
 */
public final class GPT implements AutoCloseable {
    public static final float LN_EPS = 1e-5f;

    private final GPTConfig config;
    private final Map<String, Parameter> params = new LinkedHashMap<>();

    private GPT(GPTConfig config) {
        this.config = config;
        int c = config.nEmbd();
        add("wte.weight", config.vocabSize(), c);
        add("wpe.weight", config.blockSize(), c);
        if (config.stableEmbedding()) {
            add("wte_norm.weight", c);
            add("wte_norm.bias", c);
        }
        for (int i = 0; i < config.nLayer(); i++) {
            String h = "h." + i + ".";
            add(h + "ln_1.weight", c);
            add(h + "ln_1.bias", c);
            add(h + "attn.c_attn.weight", c, 3 * c);
            add(h + "attn.c_attn.bias", 3 * c);
            add(h + "attn.c_proj.weight", c, c);
            add(h + "attn.c_proj.bias", c);
            add(h + "ln_2.weight", c);
            add(h + "ln_2.bias", c);
            if (config.moe().isMoeLayer(i)) {
                add(h + "mlp.router.weight", c, config.moe().nExperts());
                for (int e = 0; e < config.moe().nExperts(); e++) addMlp(h + "mlp.experts." + e + ".", c);
            } else {
                addMlp(h + "mlp.", c);
            }
            if (config.parscale() > 1) {
                add(h + "attn.prefix_k", config.parscale(), config.parscalePrefix(), c);
                add(h + "attn.prefix_v", config.parscale(), config.parscalePrefix(), c);
            }
        }
        add("ln_f.weight", c);
        add("ln_f.bias", c);
        if (config.parscale() > 1) {
            add("aggregate.0.weight", config.parscale() * c, c);
            add("aggregate.0.bias", c);
            add("aggregate.2.weight", c, config.parscale());
            add("aggregate.2.bias", config.parscale());
        }
    }

    private void addMlp(String prefix, int c) {
        add(prefix + "c_fc.weight", c, 4 * c);
        add(prefix + "c_fc.bias", 4 * c);
        add(prefix + "c_proj.weight", 4 * c, c);
        add(prefix + "c_proj.bias", c);
    }

    private void add(String name, int... shape) {
        params.put(name, new Parameter(name, Tensor.zeros(MemoryCategory.PARAMETERS, shape)));
    }

    /** A model with zeroed parameters (to be loaded from a checkpoint). */
    public static GPT empty(GPTConfig config) {
        return new GPT(config);
    }

    /**
     * GPT-2 initialisation: weights ~ N(0, 0.02), residual projections (c_proj) scaled by
     * 1/√(2·n_layer), biases 0, LayerNorm gains 1; with a stable embedding, {@code wte} ~ U(−a, a)
     * with a = √(6 / (vocab + n_embd)) (Xavier-uniform). Each parameter draws from its own stream
     * derived from the seed and its name, so the result does not depend on creation order.
     */
    public static GPT initialized(GPTConfig config, long seed) {
        GPT model = new GPT(config);
        double residualStd = 0.02 / Math.sqrt(2.0 * config.nLayer());
        double xavier = Math.sqrt(6.0 / (config.vocabSize() + config.nEmbd()));
        for (Parameter p : model.params.values()) {
            String n = p.name();
            Tensor t = p.value();
            if ((n.contains("ln_") || n.startsWith("wte_norm.")) && n.endsWith(".weight")) {
                t.fill(1f);
            } else if (n.endsWith(".weight") || n.contains(".prefix_")) {
                SplittableRandom rng = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (n.hashCode() + 1L)));
                if (config.stableEmbedding() && n.equals("wte.weight")) {
                    for (long i = 0; i < t.numel(); i++) t.set(i, (float) ((rng.nextDouble() * 2 - 1) * xavier));
                } else {
                    double std = n.endsWith("c_proj.weight") ? residualStd : 0.02;
                    for (long i = 0; i < t.numel(); i++) t.set(i, (float) (rng.nextGaussian() * std));
                }
            }
        }
        return model;
    }

    public GPTConfig config() {
        return config;
    }

    public Parameter param(String name) {
        Parameter p = params.get(name);
        if (p == null) throw new IllegalArgumentException("no parameter named " + name);
        return p;
    }

    /** All parameters in a fixed order (embeddings, blocks, final LayerNorm). */
    public List<Parameter> parameters() {
        return List.copyOf(params.values());
    }

    /**
     * Which parameters each module of the forward pass uses, in forward order. The output head
     * ("head") uses the tied token embedding again.
     */
    public Map<String, List<Parameter>> moduleParameters() {
        Map<String, List<Parameter>> out = new LinkedHashMap<>();
        List<Parameter> embed = new ArrayList<>(List.of(param("wte.weight"), param("wpe.weight")));
        if (config.stableEmbedding()) embed.addAll(List.of(param("wte_norm.weight"), param("wte_norm.bias")));
        out.put("embed", Collections.unmodifiableList(embed));
        for (int i = 0; i < config.nLayer(); i++) {
            String prefix = "h." + i + ".";
            List<Parameter> block = new ArrayList<>();
            for (Parameter p : params.values()) if (p.name().startsWith(prefix)) block.add(p);
            out.put("h." + i, Collections.unmodifiableList(block));
        }
        List<Parameter> head = new ArrayList<>(List.of(param("ln_f.weight"), param("ln_f.bias"), param("wte.weight")));
        if (config.parscale() > 1) {
            for (String n : List.of("aggregate.0.weight", "aggregate.0.bias", "aggregate.2.weight", "aggregate.2.bias")) head.add(param(n));
        }
        out.put("head", Collections.unmodifiableList(head));
        return out;
    }

    /**
     * Forward pass to the mean cross-entropy loss of {@code targets} given {@code ids} (both I32
     * [batch, time]); records the backward pass on the ops' tape, seeded with {@code lossScale}.
     * The same as {@link #embed}, every {@link #block} and {@link #head} in turn, which is how a
     * pipeline runs a range of them on each stage.
     */
    public double loss(Ops ops, Tensor ids, Tensor targets, float lossScale) {
        Ops scaled = ops.withLossScale(lossScale);
        return head(scaled, hidden(scaled, ids, 0), targets, lossScale);
    }

    /** Logits [batch·time, vocab] for every position (no loss; for evaluation and tests). */
    public Tensor logits(Ops ops, Tensor ids) {
        Var x = hidden(ops, ids, 0);
        return ops.tiedLogits(finalNorm(ops, x), param("wte.weight"));
    }

    /**
     * The final LayerNorm, then (ParScale) the aggregation of the P streams' rows into one row per
     * token: what the output head reads.
     */
    public Var finalNorm(Ops ops, Var x) {
        Var xf = ops.layerNorm(x, param("ln_f.weight"), param("ln_f.bias"), LN_EPS);
        return config.parscale() > 1 ? ParScale.aggregate(ops, xf, this) : xf;
    }

    /** The blocks' output; with ParScale, the P streams' [P·B·T, C] (stream-major). */
    private Var hidden(Ops ops, Tensor ids, int positionOffset) {
        Var x = embed(ops, ids, positionOffset);
        int sequences = ids.dim(0) * config.parscale();
        for (int i = 0; i < config.nLayer(); i++) x = block(ops, x, i, sequences, ids.dim(1));
        return x;
    }

    /**
     * Module {@code embed}: token plus position embedding of {@code ids} [batch, time] → [batch·time, C]
     * (with a stable embedding, the token embedding normalized first).
     */
    public Var embed(Ops ops, Tensor ids, int positionOffset) {
        int time = ids.dim(1);
        if (positionOffset + time > config.blockSize()) {
            throw new IllegalArgumentException("sequence length " + (positionOffset + time) + " exceeds block_size " + config.blockSize());
        }
        Tape tape = ops.tape();
        tape.beginModule("embed");
        Var x;
        if (config.stableEmbedding()) {
            Var tokens = ops.embedTokens(ids, param("wte.weight"));
            Var normalized = ops.layerNorm(tokens, param("wte_norm.weight"), param("wte_norm.bias"), LN_EPS);
            x = ops.addPositions(normalized, param("wpe.weight"), ids.dim(0), positionOffset);
        } else {
            x = ops.embed(ids, param("wte.weight"), param("wpe.weight"), positionOffset);
        }
        // ParScale: the P streams run as one batch of P·B sequences, not P passes.
        if (config.parscale() > 1) x = ParScale.replicate(ops, x, config.parscale());
        tape.endModule("embed");
        return x;
    }

    /** Module {@code h.<layer>}: one pre-LayerNorm transformer block on x [batch·time, C] (batch counts every ParScale stream's sequences). */
    public Var block(Ops ops, Var x, int layer, int batch, int time) {
        return ops.module("h." + layer, x, (o, in) -> blockBody(o, in, layer, batch, time));
    }

    /**
     * Module {@code head}: final LayerNorm, output layer tied to the token embedding and the mean
     * cross-entropy (nats) of {@code targets}; the backward pass is seeded with {@code lossScale}.
     */
    public double head(Ops ops, Var x, Tensor targets, float lossScale) {
        Tape tape = ops.tape();
        tape.beginModule("head");
        double loss = ops.tiedCrossEntropy(finalNorm(ops, x), param("wte.weight"), targets, lossScale);
        tape.endModule("head");
        return loss;
    }

    /** Block {@code layer}'s attention sub-layer up to the heads' merged output (before c_proj): ln_1, c_attn, attention. */
    private Var attention(Ops ops, Var x, int layer, int batch, int time) {
        String h = "h." + layer + ".";
        Var a = ops.layerNorm(x, param(h + "ln_1.weight"), param(h + "ln_1.bias"), LN_EPS);
        Var qkv = ops.linear(a, param(h + "attn.c_attn.weight"), param(h + "attn.c_attn.bias"));
        // Heads follow from the width of qkv, so a strategy that holds a slice of the heads on
        // this rank (tensor parallelism) runs the same code.
        int heads = qkv.value().dim(1) / (3 * config.headDim());
        if (config.parscale() > 1) {
            // Each stream's prefix keys/values sit in front of its sequences; their own outputs are dropped.
            int prefix = config.parscalePrefix();
            Var withPrefix = ParScale.prependPrefix(ops, qkv, param(h + "attn.prefix_k"), param(h + "attn.prefix_v"), config.parscale(),
                    batch, time);
            return ParScale.dropPrefix(ops, ops.attention(withPrefix, batch, prefix + time, heads), batch, prefix, time);
        }
        return ops.attention(qkv, batch, time, heads);
    }

    private Var blockBody(Ops ops, Var x, int layer, int batch, int time) {
        String h = "h." + layer + ".";
        Var att = ops.blockAttention(layer, () -> attention(ops, x, layer, batch, time));
        Var y = ops.add(x, ops.linear(att, param(h + "attn.c_proj.weight"), param(h + "attn.c_proj.bias")));
        Var m = ops.layerNorm(y, param(h + "ln_2.weight"), param(h + "ln_2.bias"), LN_EPS);
        return ops.add(y, mlp(ops, m, layer));
    }

    /**
     * The MLP of block {@code layer} on its normalized input m [rows, C] (no residual): the dense
     * GPT-2 MLP, or in an MoE block the router and its experts.
     */
    public Var mlp(Ops ops, Var m, int layer) {
        String h = "h." + layer + ".";
        if (config.moe().isMoeLayer(layer)) return ops.moe(m, param(h + "mlp.router.weight"), experts(layer), config.moe(), layer);
        Var f = ops.gelu(ops.linear(m, param(h + "mlp.c_fc.weight"), param(h + "mlp.c_fc.bias")));
        return ops.linear(f, param(h + "mlp.c_proj.weight"), param(h + "mlp.c_proj.bias"));
    }

    /** The experts of MoE block {@code layer}, in expert order. */
    public List<ExpertWeights> experts(int layer) {
        List<ExpertWeights> out = new ArrayList<>();
        for (int e = 0; e < config.moe().nExperts(); e++) {
            String p = "h." + layer + ".mlp.experts." + e + ".";
            out.add(new ExpertWeights(param(p + "c_fc.weight"), param(p + "c_fc.bias"), param(p + "c_proj.weight"), param(p + "c_proj.bias")));
        }
        return out;
    }

    /** Sets every gradient to zero (allocating none that do not exist yet). */
    public void zeroGrad() {
        for (Parameter p : params.values()) {
            Tensor g = p.gradOrNull();
            if (g != null) g.fill(0f);
        }
    }

    @Override
    public void close() {
        for (Parameter p : params.values()) p.close();
    }
}
