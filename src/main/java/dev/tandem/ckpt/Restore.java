package dev.tandem.ckpt;

import dev.tandem.TandemException;
import dev.tandem.nn.Parameter;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Copies a checkpoint into a model and an optimizer whose layout may differ from the one that
 * saved it (another world size or ZeRO stage). A target tensor whose exact piece exists (same
 * key, same parameter range) is copied as is, whatever its dtype; otherwise it is assembled from
 * the elementwise float32 pieces that overlap its range, and every element must be covered.
 * 8-bit codes and matrix-shaped states (Muon, SOAP) cannot be re-cut: those say so.
 */
public final class Restore {
    private Restore() {}

    /** Loads every parameter's whole value (before the model is split across ranks). */
    public static void parameters(Checkpoint c, List<Parameter> params) {
        for (Parameter p : params) {
            List<Piece> src = c.pieces().stream().filter(x -> x.state() == null && x.param().equals(p.name())).toList();
            fill(c, src, p.value().data(), 0, p.numel(), "parameter '" + p.name() + "'");
        }
    }

    /**
     * Loads the optimizer's state and step count.
     *
     * @param slices every parameter slice this rank updates (the optimizer's state keys refer to them)
     */
    public static void optimizer(Checkpoint c, Optimizer opt, String name, List<ParamSlice> slices) {
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
            Piece exact = c.pieces().stream().filter(p -> key.equals(p.key()) && p.param().equals(s.name()) && p.offset() == s.offset()
                    && p.length() == s.length() && p.dtype() == dst.dtype() && Arrays.equals(p.shape(), dst.shape())).findFirst().orElse(null);
            if (exact != null) {
                dst.data().copyFrom(exact.bytes());
                continue;
            }
            String kind = key.substring(Pieces.prefix(s).length() + 1);
            Piece probe = new Piece(key, s.name(), s.offset(), s.length(), kind, key, dst.dtype(), dst.shape(), dst.data());
            if (!probe.elementwise()) {
                throw new TandemException("checkpoint " + c.dir() + ": optimizer state '" + key + "' (" + dst
                        + ") cannot be resharded; resume with the checkpoint's plan (" + planOf(c) + ")");
            }
            List<Piece> src = c.pieces().stream().filter(p -> kind.equals(p.state()) && p.param().equals(s.name())).toList();
            fill(c, src, dst.data(), s.offset(), s.length(), "optimizer state '" + key + "'");
        }
        opt.load(opt.state(), c.manifest().path("optimizer").path("steps").asLong());
    }

    private static String planOf(Checkpoint c) {
        var p = c.manifest().path("plan");
        return p.path("world_size").asInt() + " rank(s), ZeRO stage " + p.path("zero_stage").asInt();
    }

    /** Fills elements [lo, lo + len) of a parameter into {@code dst} from overlapping elementwise pieces. */
    private static void fill(Checkpoint c, List<Piece> src, MemorySegment dst, long lo, long len, String what) {
        List<long[]> covered = new ArrayList<>();
        for (Piece p : src) {
            long a = Math.max(lo, p.offset()), b = Math.min(lo + len, p.offset() + p.length());
            if (a >= b) continue;
            if (!p.elementwise()) {
                throw new TandemException("checkpoint " + c.dir() + ": tensor '" + p.name() + "' (" + p.dtype()
                        + Arrays.toString(p.shape()) + ") cannot be resharded into " + what + "; resume with the checkpoint's plan ("
                        + planOf(c) + ")");
            }
            MemorySegment.copy(p.bytes(), (a - p.offset()) * 4, dst, (a - lo) * 4, (b - a) * 4);
            covered.add(new long[] {a, b});
        }
        covered.sort(Comparator.comparingLong(r -> r[0]));
        long next = lo;
        for (long[] r : covered) {
            if (r[0] > next) break;
            next = Math.max(next, r[1]);
        }
        if (next < lo + len) {
            throw new TandemException("checkpoint " + c.dir() + " has no data for elements [" + next + ", " + (lo + len) + ") of " + what);
        }
    }
}
