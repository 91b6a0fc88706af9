package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference attention: the textbook formulas, one (sequence, head) at a time, in double.
 * Forward: {@code s_ij = q_i·k_j/√d} for j ≤ i, {@code p_ij = exp(s_ij − lse_i)},
 * {@code o_i = Σ_j p_ij·v_j}. Backward recomputes p from q and k (it reads neither the saved
 * values nor the output): {@code dp_ij = dO_i·v_j}, {@code ds_ij = p_ij·(dp_ij − Σ_j' p_ij'·dp_ij')},
 * {@code dq_i = Σ_j ds_ij·k_j/√d}, {@code dk_j = Σ_i ds_ij·q_i/√d}, {@code dv_j = Σ_i p_ij·dO_i}.
 * No scratch.
 */
final class ScalarAttention implements AttentionKernels {
    static final ScalarAttention INSTANCE = new ScalarAttention();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarAttention() {}

    @Override
    public long scratchBytes(Shape shape) {
        return 0;
    }

    /** Element p of row t of head h's part {@code part} (0 = q, 1 = k, 2 = v) in the [time, 3C] rows of sequence b. */
    private static double qkv(MemorySegment qkv, Shape s, int b, int t, int part, int h, int p) {
        long row = (long) b * s.time() + t;
        return qkv.getAtIndex(F, row * 3 * s.channels() + (long) part * s.channels() + (long) h * s.headDim() + p);
    }

    /** The probabilities of one (sequence, head): row i holds p_i0 .. p_ii, the rest zero. */
    private static double[][] probabilities(MemorySegment qkv, Shape s, int b, int h, double[] lse) {
        int time = s.time(), d = s.headDim();
        double scale = 1.0 / Math.sqrt(d);
        double[][] p = new double[time][time];
        for (int i = 0; i < time; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                double dotProduct = 0;
                for (int e = 0; e < d; e++) dotProduct += qkv(qkv, s, b, i, 0, h, e) * qkv(qkv, s, b, j, 1, h, e);
                p[i][j] = dotProduct * scale;
                max = Math.max(max, p[i][j]);
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) sum += Math.exp(p[i][j] - max);
            double l = max + Math.log(sum);
            for (int j = 0; j <= i; j++) p[i][j] = Math.exp(p[i][j] - l);
            lse[i] = l;
        }
        return p;
    }

    @Override
    public void forward(Shape s, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keep, MemorySegment scratch) {
        int time = s.time(), d = s.headDim(), c = s.channels();
        double[] lse = new double[time];
        for (int b = 0; b < s.batch(); b++) {
            for (int h = 0; h < s.heads(); h++) {
                double[][] p = probabilities(qkv, s, b, h, lse);
                for (int i = 0; i < time; i++) {
                    long query = ((long) b * s.heads() + h) * time + i;
                    if (keep) {
                        for (int j = 0; j <= i; j++) saved.setAtIndex(F, query * time + j, (float) p[i][j]);
                    } else {
                        saved.setAtIndex(F, query, (float) lse[i]);
                    }
                    for (int e = 0; e < d; e++) {
                        double o = 0;
                        for (int j = 0; j <= i; j++) o += p[i][j] * qkv(qkv, s, b, j, 2, h, e);
                        out.setAtIndex(F, ((long) b * time + i) * c + (long) h * d + e, (float) o);
                    }
                }
            }
        }
    }

    @Override
    public void backward(Shape s, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean kept,
                         MemorySegment dOut, MemorySegment dQkv, MemorySegment scratch) {
        int time = s.time(), d = s.headDim(), c = s.channels();
        double scale = 1.0 / Math.sqrt(d);
        double[] lse = new double[time];
        for (int b = 0; b < s.batch(); b++) {
            for (int h = 0; h < s.heads(); h++) {
                double[][] p = probabilities(qkv, s, b, h, lse);
                double[][] ds = new double[time][time];
                for (int i = 0; i < time; i++) {
                    double[] dp = new double[i + 1];
                    double delta = 0;
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) dp[j] += dOut(dOut, s, b, i, h, e) * qkv(qkv, s, b, j, 2, h, e);
                        delta += p[i][j] * dp[j];
                    }
                    for (int j = 0; j <= i; j++) ds[i][j] = p[i][j] * (dp[j] - delta);
                }
                for (int t = 0; t < time; t++) {
                    for (int e = 0; e < d; e++) {
                        double dq = 0, dk = 0, dv = 0;
                        for (int j = 0; j <= t; j++) dq += ds[t][j] * qkv(qkv, s, b, j, 1, h, e);
                        for (int i = t; i < time; i++) {
                            dk += ds[i][t] * qkv(qkv, s, b, i, 0, h, e);
                            dv += p[i][t] * dOut(dOut, s, b, i, h, e);
                        }
                        add(dQkv, s, b, t, 0, h, e, dq * scale);
                        add(dQkv, s, b, t, 1, h, e, dk * scale);
                        add(dQkv, s, b, t, 2, h, e, dv);
                    }
                }
            }
        }
    }

    private static double dOut(MemorySegment dOut, Shape s, int b, int t, int h, int e) {
        return dOut.getAtIndex(F, ((long) b * s.time() + t) * s.channels() + (long) h * s.headDim() + e);
    }

    private static void add(MemorySegment dQkv, Shape s, int b, int t, int part, int h, int e, double value) {
        long i = ((long) b * s.time() + t) * 3 * s.channels() + (long) part * s.channels() + (long) h * s.headDim() + e;
        dQkv.setAtIndex(F, i, (float) (dQkv.getAtIndex(F, i) + value));
    }

    @Override
    public void blockForward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment out,
                             MemorySegment lse) {
        int d = b.headDim(), c = b.channels();
        double scale = 1.0 / Math.sqrt(d);
        for (int h = 0; h < b.heads(); h++) {
            for (int i = 0; i < b.queries(); i++) {
                int n = b.visible(i);
                if (n == 0) continue;
                double[] s = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += (double) q.getAtIndex(F, (long) i * ldq + h * d + e) * k.getAtIndex(F, (long) j * ldkv + h * d + e);
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) sum += Math.exp(s[j] - max);
                double l = max + Math.log(sum);
                long at = (long) h * b.queries() + i;
                double old = lse.getAtIndex(F, at);
                double merged = old == Double.NEGATIVE_INFINITY ? l : Math.max(old, l) + Math.log1p(Math.exp(-Math.abs(old - l)));
                double keepOld = old == Double.NEGATIVE_INFINITY ? 0 : Math.exp(old - merged), takeNew = Math.exp(l - merged);
                for (int e = 0; e < d; e++) {
                    double o = 0;
                    for (int j = 0; j < n; j++) o += Math.exp(s[j] - l) * v.getAtIndex(F, (long) j * ldkv + h * d + e);
                    long oi = (long) i * c + h * d + e;
                    out.setAtIndex(F, oi, (float) (out.getAtIndex(F, oi) * keepOld + o * takeNew));
                }
                lse.setAtIndex(F, at, (float) merged);
            }
        }
    }

    @Override
    public void blockBackward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment lse,
                              MemorySegment delta, MemorySegment dOut, MemorySegment dq, MemorySegment dk, MemorySegment dv) {
        int d = b.headDim(), c = b.channels();
        double scale = 1.0 / Math.sqrt(d);
        for (int h = 0; h < b.heads(); h++) {
            for (int i = 0; i < b.queries(); i++) {
                long at = (long) h * b.queries() + i;
                double l = lse.getAtIndex(F, at), dl = delta.getAtIndex(F, at);
                for (int j = 0; j < b.visible(i); j++) {
                    double dot = 0, dp = 0;
                    for (int e = 0; e < d; e++) {
                        dot += (double) q.getAtIndex(F, (long) i * ldq + h * d + e) * k.getAtIndex(F, (long) j * ldkv + h * d + e);
                        dp += (double) dOut.getAtIndex(F, (long) i * c + h * d + e) * v.getAtIndex(F, (long) j * ldkv + h * d + e);
                    }
                    double p = Math.exp(dot * scale - l), ds = p * (dp - dl);
                    for (int e = 0; e < d; e++) {
                        long qi = (long) i * ldq + h * d + e, kj = (long) j * ldkv + h * d + e;
                        addTo(dq, qi, ds * scale * k.getAtIndex(F, kj));
                        addTo(dk, kj, ds * scale * q.getAtIndex(F, qi));
                        addTo(dv, kj, p * dOut.getAtIndex(F, (long) i * c + h * d + e));
                    }
                }
            }
        }
    }

    private static void addTo(MemorySegment m, long i, double value) {
        m.setAtIndex(F, i, (float) (m.getAtIndex(F, i) + value));
    }
}
