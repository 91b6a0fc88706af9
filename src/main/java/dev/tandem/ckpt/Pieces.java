package dev.tandem.ckpt;

import dev.tandem.nn.Parameter;
import dev.tandem.nn.Split;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.QuantizedMatrix;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one rank saves, as {@link Piece}s: the values of the parameter slices its optimizer updates
 * and every optimizer state tensor. Optimizer state keys are {@code <parameter>.<kind>} for a
 * whole parameter and {@code <parameter>@<offset>.<kind>} for a slice (see OptimizerState), which
 * is how a state tensor is matched to its slice here.
 */
public final class Pieces {
    /** The {@code state} of a quantized matrix's packed codes and of its zero points (see {@link #fixed}). */
    static final String QWEIGHT = "qweight", ZEROS = "zeros";

    private Pieces() {}

    /** The key prefix the optimizers use for a slice. */
    static String prefix(ParamSlice s) {
        return s.isWhole() ? s.name() : s.name() + "@" + s.offset();
    }

    /** The slice whose state {@code key} is (longest matching prefix), or null. */
    static ParamSlice sliceOf(String key, List<ParamSlice> slices) {
        ParamSlice best = null;
        for (ParamSlice s : slices) {
            String p = prefix(s) + ".";
            if (key.startsWith(p) && (best == null || p.length() > prefix(best).length() + 1)) best = s;
        }
        return best;
    }

    /**
     * The pieces of this rank: {@code slices} are all the parameter elements it updates (also
     * those an optimizer hands to an inner one), {@code state} the optimizer's named state.
     */
    public static List<Piece> of(List<ParamSlice> slices, Map<String, Tensor> state) {
        return of(slices, state, Map.of(), slice -> true);
    }

    /**
     * The pieces of a rank whose parameters may be tensor-parallel parts and may have replicas on
     * other ranks.
     *
     * @param splits where each parameter's values on this rank sit in the whole tensor (a
     *               parameter not named is whole)
     * @param saves  which slices this rank saves: of the ranks that hold the same elements (data-
     *               parallel replicas, tensor-parallel ranks holding a whole parameter, both ends of a
     *               pipeline holding the tied embedding) exactly one saves them
     */
    public static List<Piece> of(List<ParamSlice> slices, Map<String, Tensor> state, Map<String, Split> splits,
                                 java.util.function.Predicate<ParamSlice> saves) {
        List<Piece> out = new ArrayList<>();
        for (ParamSlice s : slices) {
            if (!saves.test(s)) continue;
            Split split = splitOf(s, splits);
            out.add(new Piece("model/" + s.name() + "@" + s.offset() + tag(split), s.name(), s.offset(), s.length(), null, null,
                    DType.F32, new int[] {Math.toIntExact(s.length())}, s.value(), split));
        }
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            ParamSlice s = sliceOf(e.getKey(), slices);
            if (s == null) throw new IllegalStateException("optimizer state '" + e.getKey() + "' belongs to no parameter slice");
            if (!saves.test(s)) continue;
            Split split = splitOf(s, splits);
            Tensor t = e.getValue();
            out.add(new Piece("optim/" + e.getKey() + tag(split), s.name(), s.offset(), s.length(),
                    e.getKey().substring(prefix(s).length() + 1), e.getKey(), t.dtype(), t.shape(), t.data(), split));
        }
        return out;
    }

    /**
     * The pieces of what training never changes but a resume needs: the values of the frozen
     * parameters, and the packed codes ({@code state} "qweight", U8) and zero points ("zeros", U8)
     * of every quantized matrix (PEQA), whose trained scales are the parameter's value and so
     * among the optimizer's slices. Neither can be resharded (every rank holds them whole).
     */
    public static List<Piece> fixed(List<Parameter> params) {
        List<Piece> out = new ArrayList<>();
        for (Parameter p : params) {
            if (p.frozen()) {
                out.add(new Piece("model/" + p.name() + "@0", p.name(), 0, p.numel(), null, null, DType.F32,
                        new int[] {Math.toIntExact(p.numel())}, p.value().data(), null));
            }
            QuantizedMatrix q = p.quantized();
            if (q == null) continue;
            out.add(new Piece("quant/" + p.name() + "." + QWEIGHT, p.name(), 0, p.numel(), QWEIGHT, null, DType.U8, q.codes().shape(),
                    q.codes().data(), null));
            out.add(new Piece("quant/" + p.name() + "." + ZEROS, p.name(), 0, p.numel(), ZEROS, null, DType.U8, q.zeros().shape(),
                    q.zeros().data(), null));
        }
        return out;
    }

    /** The slice's parameter's split, or null when it is whole. */
    static Split splitOf(ParamSlice s, Map<String, Split> splits) {
        Split split = splits.get(s.name());
        return split == null || split.isWhole() ? null : split;
    }

    /** Keeps the names of different ranks' parts of one parameter apart in the checkpoint. */
    private static String tag(Split split) {
        return split == null ? "" : "@tp" + split.index() + "of" + split.count();
    }
}
