package dev.tandem.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, tanh and sums on vectors that give the same bits in every JIT tier.
 *
 * <p>Why not {@code lanewise(EXP)} and {@code reduceLanes(ADD)}: the interpreter and C1 compute
 * them lane by lane (StrictMath, left-to-right sum) while C2 uses a vector math library and a
 * tree-shaped sum, so the same program gives different low bits depending on when a method got
 * compiled, and training would not be bit-reproducible. These versions use only IEEE-exact
 * operations (add, mul, fma, division, bit shifts) in a fixed order.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding it rounds a float below 2^22 to the nearest integer (in the low mantissa bits). */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

    private VectorMath() {}

    /**
     * e^x to about 2 ulp for x in [−87.3, 88.7]; below that the result is the smallest normal
     * order of magnitude (≈1e-38) rather than 0, which is harmless for softmax weights.
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-87.3f).min(88.7f);
        FloatVector t = xc.mul(LOG2E).add(ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        // r = x − n·ln2, with ln2 split in two so that n·LN2_HI is exact.
        FloatVector r = n.mul(-LN2_HI).add(xc);
        r = n.mul(-LN2_LO).add(r);
        // e^r on |r| ≤ ln2/2 by its Taylor polynomial to r^6 (truncation < 1.2e-7 relative).
        FloatVector p = FloatVector.broadcast(S, 1f / 720);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        // 2^n built directly in the exponent field; n ∈ [−126, 128] after the clamp.
        IntVector bits = t.reinterpretAsInts().sub(ROUNDER_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** Scalar twin of {@link #exp(FloatVector)}: the same operations, so tails match the vector lanes. */
    public static float exp(float x) {
        float xc = Math.min(Math.max(x, -87.3f), 88.7f);
        if (Float.isNaN(x)) return x;
        float t = xc * LOG2E + ROUNDER;
        float n = t - ROUNDER;
        float r = n * -LN2_HI + xc;
        r = n * -LN2_LO + r;
        float p = 1f / 720;
        p = Math.fma(p, r, 1f / 120);
        p = Math.fma(p, r, 1f / 24);
        p = Math.fma(p, r, 1f / 6);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int bits = (Float.floatToRawIntBits(t) - ROUNDER_BITS + 127) << 23;
        return p * Float.intBitsToFloat(bits);
    }

    /** tanh(u) = sign(u)·(1 − 2/(e^{2|u|} + 1)); absolute error about 1e-7. */
    public static FloatVector tanh(FloatVector u) {
        FloatVector a = u.abs().mul(2f).min(80f);
        FloatVector e = exp(a);
        FloatVector mag = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(e.add(1f)));
        return mag.lanewise(VectorOperators.NEG, u.lt(0f));
    }

    public static float tanh(float u) {
        float e = exp(Math.min(Math.abs(u) * 2f, 80f));
        float mag = 1f - 2f / (e + 1f);
        return u < 0 ? -mag : mag;
    }

    /** Sum of the lanes in lane order (the same in every JIT tier). */
    public static float sum(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float f : lanes) s += f;
        return s;
    }
}
