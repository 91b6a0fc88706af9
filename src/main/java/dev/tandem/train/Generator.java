package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Autoregressive decoding with a key/value cache: each new token runs the model on one
 * position and attends to the cached keys and values of all earlier ones, so it costs O(T)
 * rather than re-running the whole O(T²) prefix. A ParScale model's P streams each have their own
 * cache, which starts with the stream's prefix keys and values; a token runs as P rows, one per
 * stream, combined by the model's aggregation before the output head.
 */
public final class Generator {
    private final GPT model;
    private final Kernels kernels;
    private final GPTConfig cfg;
    private final int streams, prefix;
    private final float[][][] keys;   // per layer, per stream: [prefix + block_size, C]
    private final float[][][] values; // per layer, per stream: [prefix + block_size, C]
    private int position;

    /** Decodes with {@code model}, computing with {@code kernels}. */
    public Generator(GPT model, Kernels kernels) {
        this.model = model;
        this.kernels = kernels;
        this.cfg = model.config();
        this.streams = cfg.parscale();
        this.prefix = cfg.parscalePrefix();
        int c = cfg.nEmbd(), rows = prefix + cfg.blockSize();
        this.keys = new float[cfg.nLayer()][streams][rows * c];
        this.values = new float[cfg.nLayer()][streams][rows * c];
        for (int l = 0; l < cfg.nLayer() && streams > 1; l++) {
            float[] k = model.param("h." + l + ".attn.prefix_k").value().toFloatArray();
            float[] v = model.param("h." + l + ".attn.prefix_v").value().toFloatArray();
            for (int p = 0; p < streams; p++) {
                System.arraycopy(k, p * prefix * c, keys[l][p], 0, prefix * c);
                System.arraycopy(v, p * prefix * c, values[l][p], 0, prefix * c);
            }
        }
    }

    /** Tokens fed so far (the next token's position). */
    public int position() {
        return position;
    }

    /**
     * Feeds the prompt, then samples up to {@code maxNewTokens} tokens (fewer if the context
     * fills up), handing each to {@code onToken} as it is produced.
     */
    public List<Integer> generate(int[] prompt, int maxNewTokens, Sampler sampler, IntConsumer onToken) {
        if (prompt.length == 0) throw new TandemException("the prompt is empty: give at least one token of text");
        if (prompt.length > cfg.blockSize()) {
            throw new TandemException("the prompt is " + prompt.length + " tokens but the model's block_size is "
                    + cfg.blockSize() + ": shorten the prompt");
        }
        float[] logits = null;
        for (int t : prompt) logits = feed(t);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < maxNewTokens && position < cfg.blockSize(); i++) {
            int next = sampler.sample(logits);
            out.add(next);
            onToken.accept(next);
            if (position < cfg.blockSize()) logits = feed(next);
        }
        return out;
    }

    /** Runs one token at the current position and returns the logits for the next one. */
    public float[] feed(int token) {
        if (position >= cfg.blockSize()) throw new IllegalStateException("context of " + cfg.blockSize() + " tokens is full");
        int c = cfg.nEmbd(), at = prefix + position;
        try (Tape tape = Tape.inference(); Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, 1, 1)) {
            ids.setInt(0, token);
            Ops ops = new Ops(tape, kernels);
            Var x = model.embed(ops, ids, position); // one row per stream
            for (int l = 0; l < cfg.nLayer(); l++) {
                String h = "h." + l + ".";
                Var a = ops.layerNorm(x, model.param(h + "ln_1.weight"), model.param(h + "ln_1.bias"), GPT.LN_EPS);
                float[] qkv = ops.linear(a, model.param(h + "attn.c_attn.weight"), model.param(h + "attn.c_attn.bias"))
                        .value().toFloatArray();
                float[] att = new float[streams * c];
                for (int p = 0; p < streams; p++) {
                    System.arraycopy(qkv, p * 3 * c + c, keys[l][p], at * c, c);
                    System.arraycopy(qkv, p * 3 * c + 2 * c, values[l][p], at * c, c);
                    System.arraycopy(attend(qkv, p * 3 * c, keys[l][p], values[l][p], at + 1), 0, att, p * c, c);
                }
                Var attended = tape.activation(streams, c);
                attended.value().copyFrom(att);
                x = ops.add(x, ops.linear(attended, model.param(h + "attn.c_proj.weight"), model.param(h + "attn.c_proj.bias")));
                Var m = ops.layerNorm(x, model.param(h + "ln_2.weight"), model.param(h + "ln_2.bias"), GPT.LN_EPS);
                x = ops.add(x, model.mlp(ops, m, l));
            }
            float[] logits = ops.tiedLogits(model.finalNorm(ops, x), model.param("wte.weight")).toFloatArray();
            position++;
            return logits;
        }
    }

    /** One query (C entries of qkv from {@code q}) against the first {@code n} cached keys/values. */
    private float[] attend(float[] qkv, int q, float[] k, float[] v, int n) {
        int c = cfg.nEmbd(), d = cfg.headDim();
        float scale = (float) (1 / Math.sqrt(d));
        float[] out = new float[c];
        float[] p = new float[n];
        for (int h = 0; h < cfg.nHead(); h++) {
            int off = h * d;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int i = 0; i < d; i++) s += qkv[q + off + i] * k[j * c + off + i];
                p[j] = s * scale;
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                p[j] = (float) Math.exp(p[j] - max);
                sum += p[j];
            }
            for (int j = 0; j < n; j++) {
                float w = (float) (p[j] / sum);
                for (int i = 0; i < d; i++) out[off + i] += w * v[j * c + off + i];
            }
        }
        return out;
    }
}
