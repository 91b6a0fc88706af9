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
 * rather than re-running the whole O(T²) prefix.
 */
public final class Generator {
    private final GPT model;
    private final Kernels kernels;
    private final GPTConfig cfg;
    private final float[][] keys;   // per layer: [block_size, C]
    private final float[][] values; // per layer: [block_size, C]
    private int position;

    /** Decodes with {@code model}, computing with {@code kernels}. */
    public Generator(GPT model, Kernels kernels) {
        this.model = model;
        this.kernels = kernels;
        this.cfg = model.config();
        this.keys = new float[cfg.nLayer()][cfg.blockSize() * cfg.nEmbd()];
        this.values = new float[cfg.nLayer()][cfg.blockSize() * cfg.nEmbd()];
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
        int c = cfg.nEmbd();
        try (Tape tape = Tape.inference(); Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, 1, 1)) {
            ids.setInt(0, token);
            Ops ops = new Ops(tape, kernels);
            Var x = ops.embed(ids, model.param("wte.weight"), model.param("wpe.weight"), position);
            for (int l = 0; l < cfg.nLayer(); l++) {
                String h = "h." + l + ".";
                Var a = ops.layerNorm(x, model.param(h + "ln_1.weight"), model.param(h + "ln_1.bias"), GPT.LN_EPS);
                float[] qkv = ops.linear(a, model.param(h + "attn.c_attn.weight"), model.param(h + "attn.c_attn.bias"))
                        .value().toFloatArray();
                System.arraycopy(qkv, c, keys[l], position * c, c);
                System.arraycopy(qkv, 2 * c, values[l], position * c, c);
                Var att = tape.activation(1, c);
                att.value().copyFrom(attend(qkv, keys[l], values[l]));
                x = ops.add(x, ops.linear(att, model.param(h + "attn.c_proj.weight"), model.param(h + "attn.c_proj.bias")));
                Var m = ops.layerNorm(x, model.param(h + "ln_2.weight"), model.param(h + "ln_2.bias"), GPT.LN_EPS);
                x = ops.add(x, model.mlp(ops, m, l));
            }
            Var xf = ops.layerNorm(x, model.param("ln_f.weight"), model.param("ln_f.bias"), GPT.LN_EPS);
            float[] logits = ops.tiedLogits(xf, model.param("wte.weight")).toFloatArray();
            position++;
            return logits;
        }
    }

    /** One query (the first C entries of qkv) against the cached keys/values 0..position. */
    private float[] attend(float[] qkv, float[] k, float[] v) {
        int c = cfg.nEmbd(), d = cfg.headDim(), n = position + 1;
        float scale = (float) (1 / Math.sqrt(d));
        float[] out = new float[c];
        float[] p = new float[n];
        for (int h = 0; h < cfg.nHead(); h++) {
            int off = h * d;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int i = 0; i < d; i++) s += qkv[off + i] * k[j * c + off + i];
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
