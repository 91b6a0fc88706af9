package dev.tandem.ckpt;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Split;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.QuantizedMatrix;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Copies a checkpoint into a model and an optimizer whose layout may differ from the one that
 * saved it (another world size, ZeRO stage or tensor-parallel size). A target tensor whose exact
 * piece exists (same key, same parameter range, same tensor-parallel part) is copied as is,
 * whatever its dtype; otherwise it is assembled from the elementwise float32 pieces that overlap
 * its range in the whole tensor, and every element must be covered. 8-bit codes and
 * matrix-shaped states (Muon, SOAP) cannot be re-cut: those say so.
 */
public final class Restore {
    private Restore() {}

    /**
     * The whole model a checkpoint holds, whatever plan wrote it; the caller closes it. The linear
     * layers of a PEQA checkpoint come back quantized: their saved codes and zero points, with the
     * trained scales as their values.
     */
    public static GPT model(Checkpoint c) {
        GPT model = GPT.empty(c.modelConfig());
        try {
            int bits = c.peqaBits();
            if (bits > 0) {
                for (Parameter p : model.parameters()) quantized(c, p, bits);
            }
            parameters(c, model.parameters());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /** Makes {@code p} the quantized matrix whose codes and zero points the checkpoint holds, if it holds them. */
    private static void quantized(Checkpoint c, Parameter p, int bits) {
        Piece codes = fixedPiece(c, p, Pieces.QWEIGHT), zeros = fixedPiece(c, p, Pieces.ZEROS);
        if (codes == null && zeros == null) return;
        int[] shape = p.shape();
        int in = shape[0], out = shape[1];
        int[] codesShape = {in, QuantizedMatrix.rowBytes(out, bits)};
        if (codes == null || zeros == null || codes.dtype() != DType.U8 || zeros.dtype() != DType.U8
                || !Arrays.equals(codes.shape(), codesShape) || !Arrays.equals(zeros.shape(), new int[] {out})) {
            throw new TandemException("checkpoint " + c.dir() + ": the " + bits + "-bit codes of '" + p.name() + "' " + Arrays.toString(shape)
                    + " must be U8" + Arrays.toString(codesShape) + " with zero points U8[" + out + "]; found "
                    + (codes == null ? "no codes" : codes.dtype() + Arrays.toString(codes.shape())) + " and "
                    + (zeros == null ? "no zero points" : zeros.dtype() + Arrays.toString(zeros.shape())));
        }
        Tensor q = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, codesShape);
        Tensor z = Tensor.allocate(DType.U8, MemoryCategory.PARAMETERS, out);
        q.data().copyFrom(codes.bytes());
        z.data().copyFrom(zeros.bytes());
        p.useQuantized(QuantizedMatrix.of(bits, in, out, q, z), Tensor.zeros(MemoryCategory.PARAMETERS, out));
    }

    private static Piece fixedPiece(Checkpoint c, Parameter p, String state) {
        return c.pieces().stream().filter(x -> state.equals(x.state()) && x.key() == null && x.param().equals(p.name())).findFirst().orElse(null);
    }

    /** Loads every parameter's values (the whole tensor, or this rank's tensor-parallel part). */
    public static void parameters(Checkpoint c, List<Parameter> params) {
        for (Parameter p : params) {
            List<Piece> src = c.pieces().stream().filter(x -> x.state() == null && x.param().equals(p.name())).toList();
            Split split = p.split();
            fill(c, src, p.value().data(), split.isWhole() ? null : split, 0, p.numel(), "parameter '" + p.name() + "'");
        }
    }

    /** Loads the optimizer's state and step count, for parameters that are not split. */
    public static void optimizer(Checkpoint c, Optimizer opt, String name, List<ParamSlice> slices) {
        optimizer(c, opt, name, slices, Map.of());
    }

    /**
     * Loads the optimizer's state and step count.
     *
     * @param slices every parameter slice this rank updates (the optimizer's state keys refer to them)
     * @param splits where each parameter's values on this rank sit in the whole tensor (a parameter not named is whole)
     */
    public static void optimizer(Checkpoint c, Optimizer opt, String name, List<ParamSlice> slices, Map<String, Split> splits) {
        String saved = c.manifest().path("optimizer").path("name").asText();
        if (!saved.equals(name)) {
            throw new TandemException("checkpoint " + c.dir() + " was written by optimizer '" + saved + "', but this run uses '"
                    + name + "': resume with optimizer = " + saved);
        }
        for (Map.Entry<String, Tensor> e : opt.state().entrySet()) {
            String key = e.getKey();
            Tensor dst = e.getValue();
            ParamSlice s = Pieces.sliceOf(key, slices);
            if (s == null) throw new IllegalStateException("optimizer state '" + key + "' belongs to no parameter slice");
            Split split = Pieces.splitOf(s, splits);
            Piece exact = c.pieces().stream().filter(p -> key.equals(p.key()) && p.param().equals(s.name()) && p.offset() == s.offset()
                    && p.length() == s.length() && Objects.equals(p.split(), split) && p.dtype() == dst.dtype()
                    && Arrays.equals(p.shape(), dst.shape())).findFirst().orElse(null);
            if (exact != null) {
                dst.data().copyFrom(exact.bytes());
                continue;
            }
            String kind = key.substring(Pieces.prefix(s).length() + 1);
            Piece probe = new Piece(key, s.name(), s.offset(), s.length(), kind, key, dst.dtype(), dst.shape(), dst.data(), split);
            if (!probe.elementwise()) {
                throw new TandemException("checkpoint " + c.dir() + ": optimizer state '" + key + "' (" + dst
                        + ") cannot be resharded; resume with the checkpoint's plan (" + c.planDescription() + ")");
            }
            List<Piece> src = c.pieces().stream().filter(p -> kind.equals(p.state()) && p.param().equals(s.name())).toList();
            fill(c, src, dst.data(), split, s.offset(), s.length(), "optimizer state '" + key + "'");
        }
        opt.load(opt.state(), c.manifest().path("optimizer").path("steps").asLong());
    }


    /**
     * Fills elements [lo, lo + len) of a parameter, or of this rank's part {@code split} of it,
     * into {@code dst} from the elementwise pieces that overlap them in the whole tensor.
     */
    private static void fill(Checkpoint c, List<Piece> src, MemorySegment dst, Split split, long lo, long len, String what) {
        List<Split.Run> want = runs(split, lo, len);
        List<long[]> covered = new ArrayList<>();
        for (Piece p : src) {
            List<long[]> copies = overlaps(want, runs(p.split(), p.offset(), p.length()));
            if (copies.isEmpty()) continue;
            if (!p.elementwise()) {
                throw new TandemException("checkpoint " + c.dir() + ": tensor '" + p.name() + "' (" + p.dtype()
                        + Arrays.toString(p.shape()) + ") cannot be resharded into " + what + "; resume with the checkpoint's plan ("
                        + c.planDescription() + ")");
            }
            for (long[] o : copies) {
                long at = o[0], from = o[1], n = o[2];
                MemorySegment.copy(p.bytes(), (from - p.offset()) * 4, dst, (at - lo) * 4, n * 4);
                covered.add(new long[] {at, at + n});
            }
        }
        covered.sort(Comparator.comparingLong(r -> r[0]));
        long next = lo;
        for (long[] r : covered) {
            if (r[0] > next) break;
            next = Math.max(next, r[1]);
        }
        if (next < lo + len) {
            throw new TandemException("checkpoint " + c.dir() + " has no data for elements [" + next + ", " + (lo + len) + ") of " + what
                    + (split == null ? "" : " (" + split + ")"));
        }
    }

    /** Elements [lo, lo + len) of a part (null: the whole parameter) as runs in the whole tensor. */
    private static List<Split.Run> runs(Split split, long lo, long len) {
        return split == null ? List.of(new Split.Run(lo, lo, len)) : split.runs(lo, len);
    }

    /**
     * Where two run lists (each increasing in the whole tensor) cover the same elements:
     * {target local offset, source local offset, count} for each overlap.
     */
    private static List<long[]> overlaps(List<Split.Run> target, List<Split.Run> source) {
        List<long[]> out = new ArrayList<>();
        int i = 0, j = 0;
        while (i < target.size() && j < source.size()) {
            Split.Run t = target.get(i), s = source.get(j);
            long a = Math.max(t.full(), s.full()), b = Math.min(t.full() + t.length(), s.full() + s.length());
            if (a < b) out.add(new long[] {t.local() + (a - t.full()), s.local() + (a - s.full()), b - a});
            if (t.full() + t.length() <= s.full() + s.length()) i++;
            else j++;
        }
        return out;
    }
}
