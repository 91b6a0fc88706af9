package dev.tandem.parallel;

import dev.tandem.TandemException;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.ShardGroup;
import dev.tandem.nn.Sharding;
import dev.tandem.nn.Split;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Tensor (op-level) parallelism in the Megatron-LM layout, applied to a model from outside by a
 * plan keyed by parameter names: each rank keeps its part of the split parameters, and
 * {@link dev.tandem.nn.Ops} runs the parallel form of every op whose parameter is split. The
 * model code is the same on every rank; attention heads follow from the local width of c_attn.
 *
 * <pre>
 * c_attn   column-parallel: each rank's heads' columns of each of q, k and v
 * c_fc     column-parallel
 * c_proj   row-parallel (attention and MLP); bias whole, added after the sum
 * wte      vocabulary-parallel (rows): embedding and tied output head with a parallel cross-entropy
 * ln_*, wpe   whole on every rank
 * </pre>
 *
 * Apply it before {@link DataParallel#apply} (whose flat units then hold the local parts) and
 * before creating the optimizer; per step call {@link #finishGradients} after
 * {@link DataParallel#finishGradients} and clip with {@link #clipGradients}. A group of one rank
 * leaves the model as it is.
 */
public final class TensorParallel {
    /** Parameters whose name matches are split along {@code dim}, taking a part of each of {@code blocks} equal blocks. */
    private record Rule(Pattern name, int dim, int blocks) {}

    private static final List<Rule> PLAN = List.of(
            new Rule(Pattern.compile("h\\.\\d+\\.attn\\.c_attn\\.weight"), 1, 3),
            new Rule(Pattern.compile("h\\.\\d+\\.attn\\.c_attn\\.bias"), 0, 3),
            new Rule(Pattern.compile("h\\.\\d+\\.mlp\\.c_fc\\.weight"), 1, 1),
            new Rule(Pattern.compile("h\\.\\d+\\.mlp\\.c_fc\\.bias"), 0, 1),
            new Rule(Pattern.compile("h\\.\\d+\\.(attn|mlp)\\.c_proj\\.weight"), 0, 1),
            new Rule(Pattern.compile("wte\\.weight"), 0, 1));

    private final GPT model;
    private final ProcessGroup group;
    private final boolean sequenceParallel;

    private TensorParallel(GPT model, ProcessGroup group, boolean sequenceParallel) {
        this.model = model;
        this.group = group;
        this.sequenceParallel = sequenceParallel && group.size() > 1;
    }

    /**
     * Splits {@code model}'s parameters across {@code group} (every rank must start from the same
     * whole parameters, e.g. the same seed or checkpoint). With {@code sequenceParallel} the
     * LayerNorm and residual regions run on 1/tp of the rows (batch·time) on each rank.
     */
    public static TensorParallel apply(GPT model, ProcessGroup group, boolean sequenceParallel) {
        GPTConfig c = model.config();
        int tp = group.size();
        if (c.nHead() % tp != 0) {
            throw new TandemException("tensor parallelism splits attention heads across tp = " + tp + " ranks, but n_head = " + c.nHead()
                    + " does not divide by " + tp + ": choose tp dividing n_head");
        }
        if (c.vocabSize() % tp != 0) {
            throw new TandemException("tensor parallelism splits the vocabulary across tp = " + tp + " ranks, but vocab_size = "
                    + c.vocabSize() + " does not divide by " + tp + ": pad vocab_size to a multiple of " + tp
                    + " (e.g. " + (c.vocabSize() + tp - 1) / tp * tp + "; the extra rows are never a target)");
        }
        if (tp > 1 && c.stableEmbedding()) {
            throw new TandemException("the stable embedding (a LayerNorm on the token embedding) has no vocabulary-parallel form yet: "
                    + "use tp = 1 with stable_embedding, or stable_embedding = false with tp = " + tp);
        }
        TensorParallel t = new TensorParallel(model, group, sequenceParallel);
        if (tp == 1) return t;
        ShardGroup shardGroup = new Collectives(group);
        for (Parameter p : model.parameters()) {
            if (p.value() == null || !p.value().ownsStorage()) {
                throw new IllegalStateException(p.name() + " is held by another strategy: apply tensor parallelism before DataParallel.apply");
            }
            for (Rule r : PLAN) {
                if (r.name().matcher(p.name()).matches()) {
                    p.shard(new Sharding(new Split(p.shape(), r.dim(), r.blocks(), group.rank(), tp), t.sequenceParallel, shardGroup));
                    break;
                }
            }
        }
        return t;
    }

    public int rank() {
        return group.rank();
    }

    public int size() {
        return group.size();
    }

    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /** Where each parameter's local values sit in the whole tensor (for checkpoints). */
    public Map<String, Split> splits() {
        Map<String, Split> out = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) out.put(p.name(), p.split());
        return out;
    }

    /**
     * After {@link DataParallel#finishGradients()}, before clipping: under sequence parallelism
     * each rank computed the gradients of the whole parameters (LayerNorms, wpe, row-parallel
     * biases) from its own rows only, so they are summed across the group, in one all-reduce of
     * the elements this rank's optimizer updates.
     */
    public void finishGradients(DataParallel dp) {
        if (!sequenceParallel) return;
        List<ParamSlice> partial = dp.optimizerSlices().stream().filter(s -> !isSplit(s)).toList();
        long n = partial.stream().mapToLong(ParamSlice::length).sum();
        try (Tensor buf = Tensor.zeros(MemoryCategory.COMMUNICATION, Math.toIntExact(n))) {
            long at = 0;
            for (ParamSlice s : partial) {
                MemorySegment.copy(s.grad(), 0, buf.data(), at * 4, s.length() * 4);
                at += s.length();
            }
            group.allReduce(buf.data(), DType.F32, n, ReduceOp.SUM);
            at = 0;
            for (ParamSlice s : partial) {
                MemorySegment.copy(buf.data(), at * 4, s.grad(), 0, s.length() * 4);
                at += s.length();
            }
        }
    }

    /**
     * The global gradient norm of the whole model, then clipping to {@code maxNorm} (0 = off), in
     * place of {@link DataParallel#clipGradients}: split parameters count each rank's part, whole
     * ones count once (on rank 0 of this group), and under ZeRO stages 1–3 the data-parallel
     * shards are summed too.
     */
    public double clipGradients(DataParallel dp, double maxNorm) {
        return GradientNorm.clip(dp.optimizerSlices(), s -> owns(s.name()), dp.stage().shardsOptimizer() ? List.of(group, dp.group()) : List.of(group),
                maxNorm, dp.kernels());
    }

    private boolean isSplit(ParamSlice s) {
        return model.param(s.name()).sharding() != null;
    }

    /**
     * A whole copy of the model on every rank of the group (a collective), e.g. to save it in
     * Hugging Face layout or to generate. Under ZeRO-3 gather the parameters first
     * ({@link DataParallel#gatherAll()}).
     */
    public GPT gatherModel() {
        GPT whole = GPT.empty(model.config());
        for (Parameter p : model.parameters()) gatherInto(p, whole.param(p.name()).value());
        return whole;
    }

    /** The whole tensor of {@code p} (this rank's part and the others'), into {@code dst}: a collective over the group. */
    public void gatherInto(Parameter p, Tensor dst) {
        if (p.value() == null) throw new IllegalStateException(p.name() + " is not gathered: call DataParallel.gatherAll() first");
        Split split = p.split();
        if (split.isWhole()) {
            dst.copyFrom(p.value());
            return;
        }
        long n = split.localNumel();
        try (Tensor all = Tensor.zeros(MemoryCategory.COMMUNICATION, size(), Math.toIntExact(n))) {
            group.allGather(p.value().data(), all.data(), DType.F32, n);
            for (int i = 0; i < size(); i++) {
                for (Split.Run r : split.part(i).runs(0, n)) {
                    MemorySegment.copy(all.data(), (i * n + r.local()) * 4, dst.data(), r.full() * 4, r.length() * 4);
                }
            }
        }
    }

    /**
     * Whether this rank's copy of {@code parameter} is the one that counts (in the gradient norm, in
     * a checkpoint): a split parameter's part always; a whole one, held by every rank, at rank 0.
     */
    public boolean owns(String parameter) {
        return model.param(parameter).sharding() != null || group.rank() == 0;
    }

    /** The tensor-parallel ops' collectives over a process group (float32, summing). */
    private record Collectives(ProcessGroup group) implements ShardGroup {
        @Override
        public int rank() {
            return group.rank();
        }

        @Override
        public int size() {
            return group.size();
        }

        @Override
        public void allReduceSum(MemorySegment buf, long count) {
            group.allReduce(buf, DType.F32, count, ReduceOp.SUM);
        }

        @Override
        public void allGather(MemorySegment in, MemorySegment out, long countPerRank) {
            group.allGather(in, out, DType.F32, countPerRank);
        }

        @Override
        public void reduceScatterSum(MemorySegment in, MemorySegment out, long countPerRank) {
            group.reduceScatter(in, out, DType.F32, countPerRank, ReduceOp.SUM);
        }
    }
}
