package dev.tandem.optim;

import dev.tandem.TandemException;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * SOAP (Vyas et al.): Adam run in the eigenbasis of Shampoo's preconditioner. For a matrix
 * parameter [r, c] it keeps, per side whose size is at most {@code maxPreconDim},
 * {@code GG_0 ← β·GG_0 + (1−β)·G·Gᵀ} and {@code GG_1 ← β·GG_1 + (1−β)·Gᵀ·G} with eigenbases
 * Q_0, Q_1 (eigenvectors by descending eigenvalue). Each step projects G into the basis
 * ({@code Q_0ᵀ·G·Q_1}), updates Adam's m and v there, maps {@code m/(√v + ε)} back
 * ({@code Q_0·X·Q_1ᵀ}), applies it with bias correction {@code lr·√(1−β2^k)/(1−β1^k)}, then
 * decays ({@code p ← p − lr·wd·p}, after the update as in the reference) and updates GG with
 * the gradient just used. Every {@code preconditionEvery} updates the bases are refreshed by one
 * QR power step {@code Q ← qr(GG·Q)} after sorting Q's columns by estimated eigenvalue (v's
 * coordinates are permuted to match; m is carried over through the original space).
 *
 * <p>The first step only initializes GG and the bases from the eigensolver (no update), so the
 * current gradient never preconditions itself. 1-D parameters are not preconditioned (the
 * reference's {@code precondition_1d = false}): they get Adam one step late. Matrix parameters
 * must be whole (under ZeRO see {@link Optimizers#updatedWhole}); 1-D ones may be shards.
 */
public final class Soap extends BaseOptimizer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Defaults: lr 3e-3, β = (0.95, 0.95), ε 1e-8, wd 0.01, refresh every 10, dimensions ≤ 10000. */
    public record Settings(float beta1, float beta2, float eps, float weightDecay, float shampooBeta,
                           int preconditionEvery, int maxPreconDim) {}

    /** One parameter's state; the GG/Q pairs are null for sides that are not preconditioned. */
    private static final class Entry {
        ParamSlice slice;
        int rows, cols;
        Tensor m, v, gg0, q0, gg1, q1;
    }

    private final Settings s;
    private final List<Entry> entries = new ArrayList<>();

    public Soap(Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels) {
        super(slices, groups, kernels);
        this.s = settings;
        for (ParamSlice p : this.slices) {
            if (p.shape().length > 2) throw new TandemException("SOAP supports parameters of rank 1 and 2, not " + p.name());
            Entry e = new Entry();
            e.slice = p;
            String key = OptimizerState.prefix(p);
            if (p.shape().length == 2) {
                WholeMatrices.require("SOAP", p);
                e.rows = p.shape()[0];
                e.cols = p.shape()[1];
            } else {
                e.rows = 1;
                e.cols = Math.toIntExact(p.length());
            }
            e.m = state.f32(key + ".exp_avg", Math.toIntExact(p.length()));
            e.v = state.f32(key + ".exp_avg_sq", Math.toIntExact(p.length()));
            if (p.shape().length == 2) {
                if (e.rows <= s.maxPreconDim()) {
                    e.gg0 = state.f32(key + ".GG0", e.rows, e.rows);
                    e.q0 = state.f32(key + ".Q0", e.rows, e.rows);
                }
                if (e.cols <= s.maxPreconDim()) {
                    e.gg1 = state.f32(key + ".GG1", e.cols, e.cols);
                    e.q1 = state.f32(key + ".Q1", e.cols, e.cols);
                }
            }
            entries.add(e);
        }
    }

    /** The eigenbasis of side {@code side} (0: rows, 1: cols) of parameter {@code name}, or null. */
    public Tensor basis(String name, int side) {
        for (Entry e : entries) if (e.slice.name().equals(name)) return side == 0 ? e.q0 : e.q1;
        throw new IllegalArgumentException("SOAP does not update " + name);
    }

    @Override
    public void step(float lr) {
        t++;
        long k = t - 1; // updates made so far, counting this one: the first step only initializes
        for (Entry e : entries) {
            if (k == 0) {
                accumulate(e);
                if (e.q0 != null) eigenbasis(e.gg0, e.q0, e.rows);
                if (e.q1 != null) eigenbasis(e.gg1, e.q1, e.cols);
                continue;
            }
            update(e, lr(e.slice, lr), k);
            accumulate(e);
            if (k % s.preconditionEvery() == 0 && (e.q0 != null || e.q1 != null)) refresh(e);
        }
    }

    private void update(Entry e, float lr, long k) {
        int n = e.rows * e.cols;
        float b1 = s.beta1(), b2 = s.beta2(), eps = s.eps();
        double stepSize = lr * Math.sqrt(1 - Math.pow(b2, k)) / (1 - Math.pow(b1, k));
        float wd = groups.weightDecay(e.slice, s.weightDecay());
        try (Tensor a = Tensor.zeros(MemoryCategory.OTHER, n); Tensor b = Tensor.zeros(MemoryCategory.OTHER, n)) {
            project(e, e.slice.grad(), a.data(), b.data(), false);
            MemorySegment gp = a.data(), m = e.m.data(), v = e.v.data();
            for (int i = 0; i < n; i++) {
                float g = gp.getAtIndex(F, i);
                float mi = b1 * m.getAtIndex(F, i) + (1 - b1) * g;
                float vi = b2 * v.getAtIndex(F, i) + (1 - b2) * g * g;
                m.setAtIndex(F, i, mi);
                v.setAtIndex(F, i, vi);
                gp.setAtIndex(F, i, mi / ((float) Math.sqrt(vi) + eps));
            }
            project(e, gp, b.data(), gp, true);
            MemorySegment p = e.slice.value(), u = b.data();
            float ss = (float) stepSize, decay = lr * wd;
            for (int i = 0; i < n; i++) {
                float pi = p.getAtIndex(F, i) - ss * u.getAtIndex(F, i);
                p.setAtIndex(F, i, pi - decay * pi);
            }
        }
    }

    /**
     * {@code out = Q0ᵀ·x·Q1} (into the basis) or {@code Q0·x·Q1ᵀ} (back), skipping sides without a
     * basis; {@code tmp} is scratch of the same size and may be {@code x} itself.
     */
    private void project(Entry e, MemorySegment x, MemorySegment out, MemorySegment tmp, boolean back) {
        Kernels kk = kernels;
        int r = e.rows, c = e.cols;
        MemorySegment cur = x;
        if (e.q0 != null) {
            MemorySegment dst = e.q1 != null ? (cur == tmp ? out : tmp) : out;
            kk.gemm(!back, false, r, c, r, 1f, e.q0.data(), 0, r, cur, 0, c, 0f, dst, 0, c);
            cur = dst;
        }
        if (e.q1 != null) {
            MemorySegment dst = cur == out ? tmp : out;
            kk.gemm(false, back, r, c, c, 1f, cur, 0, c, e.q1.data(), 0, c, 0f, dst, 0, c);
            cur = dst;
        }
        if (cur != out) MemorySegment.copy(cur, 0, out, 0, (long) r * c * 4);
    }

    /** GG ← β·GG + (1−β)·(gradient contracted over the other side). */
    private void accumulate(Entry e) {
        float beta = s.shampooBeta() >= 0 ? s.shampooBeta() : s.beta2();
        MemorySegment g = e.slice.grad();
        int r = e.rows, c = e.cols;
        if (e.gg0 != null) kernels.gemm(false, true, r, r, c, 1 - beta, g, 0, c, g, 0, c, beta, e.gg0.data(), 0, r);
        if (e.gg1 != null) kernels.gemm(true, false, c, c, r, 1 - beta, g, 0, c, g, 0, c, beta, e.gg1.data(), 0, c);
    }

    private static void eigenbasis(Tensor gg, Tensor q, int n) {
        double[] a = toDouble(gg);
        SymmetricEigen.Result r = SymmetricEigen.decompose(a, n);
        for (int i = 0; i < n * n; i++) q.set(i, (float) r.vectors()[i]);
    }

    /** The every-N-steps basis refresh: m through the original space, v permuted, Q ← qr(GG·Q). */
    private void refresh(Entry e) {
        int n = e.rows * e.cols;
        try (Tensor a = Tensor.zeros(MemoryCategory.OTHER, n); Tensor b = Tensor.zeros(MemoryCategory.OTHER, n)) {
            project(e, e.m.data(), a.data(), b.data(), true); // m back to the original space
            if (e.q0 != null) powerStep(e, e.gg0, e.q0, e.rows, 0);
            if (e.q1 != null) powerStep(e, e.gg1, e.q1, e.cols, 1);
            project(e, a.data(), e.m.data(), b.data(), false); // and into the new basis
        }
    }

    private void powerStep(Entry e, Tensor gg, Tensor q, int d, int side) {
        try (Tensor mq = Tensor.zeros(MemoryCategory.OTHER, d, d)) {
            kernels.gemm(false, false, d, d, d, 1f, gg.data(), 0, d, q.data(), 0, d, 0f, mq.data(), 0, d);
            // estimated eigenvalue of column j: q_jᵀ·GG·q_j
            double[] est = new double[d];
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) est[j] += (double) q.get((long) i * d + j) * mq.get((long) i * d + j);
            Integer[] order = new Integer[d];
            for (int j = 0; j < d; j++) order[j] = j;
            Arrays.sort(order, (x, y) -> Double.compare(est[y], est[x]));
            permuteV(e, side, order);
            double[] power = new double[d * d];
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) power[i * d + j] = mq.get((long) i * d + order[j]);
            double[] nq = HouseholderQr.q(power, d);
            for (int i = 0; i < d * d; i++) q.set(i, (float) nq[i]);
        }
    }

    /** Reorders v's coordinates along {@code side} to follow the reordered basis columns. */
    private static void permuteV(Entry e, int side, Integer[] order) {
        float[] v = e.v.toFloatArray(), out = new float[v.length];
        int r = e.rows, c = e.cols;
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[i * c + j] = side == 0 ? v[order[i] * c + j] : v[i * c + order[j]];
            }
        }
        e.v.copyFrom(out);
    }

    private static double[] toDouble(Tensor t) {
        float[] f = t.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
