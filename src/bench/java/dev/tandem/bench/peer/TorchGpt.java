package dev.tandem.bench.peer;

import dev.tandem.nn.GPT;
import dev.tandem.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.AbstractTensor;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The PyTorch peer: the same GPT-2 written with libtorch ops (what {@code nanoGPT} does in
 * Python, minus dropout): addmm linears on [in, out] weights, layer_norm, tanh-GELU,
 * scaled_dot_product_attention(is_causal) — libtorch's fused CPU flash attention — tied head,
 * cross_entropy, and torch::optim::AdamW. Its weights are copied from Tandem's
 * {@link GPT#initialized} with the same seed, so both start from identical parameters and their
 * losses can be compared step by step: if they track, the two engines do the same work.
 */
final class TorchGpt {
    private final TrainBenchCase c;
    private final Map<String, Tensor> p = new LinkedHashMap<>();
    /** layer_norm takes optional weight/bias; wrap each once instead of per call. */
    private final Map<String, TensorOptional> opt = new LinkedHashMap<>();
    private final AdamW optimizer;
    private final Tensor ids, targets;

    TorchGpt(TrainBenchCase c, BenchBatch batch) {
        this.c = c;
        try (GPT init = GPT.initialized(c.model(), TrainHyper.INIT_SEED)) {
            for (Parameter q : init.parameters()) {
                long[] shape = new long[q.value().rank()];
                for (int i = 0; i < shape.length; i++) shape[i] = q.value().dim(i);
                Tensor t = AbstractTensor.create(q.value().toFloatArray(), shape).clone();
                t.requires_grad_(true);
                p.put(q.name(), t);
                if (q.name().contains("ln_")) opt.put(q.name(), new TensorOptional(t));
            }
        }
        optimizer = adamW();
        long[] shape = {c.batch(), c.seqLen()};
        ids = AbstractTensor.create(toLong(batch.ids()), shape).clone();
        targets = AbstractTensor.create(toLong(batch.targets()), (long) batch.targets().length).clone();
    }

    /** Two groups as in Tandem: weight decay on matrices except the embeddings, none elsewhere. */
    private AdamW adamW() {
        TensorVector decay = new TensorVector(), noDecay = new TensorVector();
        p.forEach((name, t) -> {
            boolean decays = t.dim() >= 2 && !name.equals("wte.weight") && !name.equals("wpe.weight");
            (decays ? decay : noDecay).push_back(t);
        });
        AdamW adam = new AdamW(decay, options(TrainHyper.WEIGHT_DECAY));
        adam.add_param_group(new OptimizerParamGroup(noDecay, options(0)));
        return adam;
    }

    private static AdamWOptions options(double weightDecay) {
        AdamWOptions o = new AdamWOptions(TrainHyper.LR);
        // betas() is a std::tuple<double, double>; libstdc++ lays a tuple out last element first,
        // so find the slot of beta1 from the defaults (0.9, 0.999) instead of assuming an order.
        int beta1Slot = o.betas().get(0) == 0.9 ? 0 : 1;
        o.betas().put(beta1Slot, TrainHyper.BETA1).put(1 - beta1Slot, TrainHyper.BETA2);
        o.eps().put(TrainHyper.EPS);
        o.weight_decay().put(weightDecay);
        return o;
    }

    long parameterCount() {
        long n = 0;
        for (Tensor t : p.values()) n += t.numel();
        return n;
    }

    /** zero_grad, forward, backward, AdamW. Temporaries belong to the caller's PointerScope. */
    StepTiming step() {
        long t0 = System.nanoTime();
        optimizer.zero_grad();
        Tensor loss = loss();
        long t1 = System.nanoTime();
        loss.backward();
        long t2 = System.nanoTime();
        optimizer.step();
        long t3 = System.nanoTime();
        return new StepTiming(loss.item_float(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    }

    private Tensor loss() {
        int b = c.batch(), t = c.seqLen(), ch = c.model().nEmbd(), nh = c.model().nHead(), hd = ch / nh;
        Tensor pos = p.get("wpe.weight").narrow(0, 0, t);
        Tensor x = torch.embedding(p.get("wte.weight"), ids).add(pos).view(b * t, ch);
        for (int l = 0; l < c.model().nLayer(); l++) {
            String h = "h." + l + ".";
            Tensor a = layerNorm(x, h + "ln_1");
            Tensor qkv = linear(a, h + "attn.c_attn").view(b, t, 3, nh, hd).permute(2, 0, 3, 1, 4);
            Tensor y = torch.scaled_dot_product_attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2),
                    new TensorOptional(), 0.0, true, new DoubleOptional(), false);
            y = y.transpose(1, 2).reshape(b * t, ch);
            x = x.add(linear(y, h + "attn.c_proj"));
            Tensor m = layerNorm(x, h + "ln_2");
            Tensor f = torch.gelu(linear(m, h + "mlp.c_fc"), "tanh");
            x = x.add(linear(f, h + "mlp.c_proj"));
        }
        Tensor xf = layerNorm(x, "ln_f");
        Tensor logits = xf.matmul(p.get("wte.weight").t());
        return torch.cross_entropy_loss(logits, targets, new TensorOptional(), 1 /* mean */, -100, 0.0);
    }

    private Tensor linear(Tensor x, String name) {
        return torch.addmm(p.get(name + ".bias"), x, p.get(name + ".weight"));
    }

    private Tensor layerNorm(Tensor x, String name) {
        return torch.layer_norm(x, new long[] {c.model().nEmbd()}, opt.get(name + ".weight"), opt.get(name + ".bias"),
                GPT.LN_EPS, false);
    }

    private static long[] toLong(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        return out;
    }
}
