package dev.tandem.optim;

import java.util.ArrayList;
import java.util.List;

/**
 * The dynamic quantization maps of 8-bit optimizers (Dettmers et al., bitsandbytes'
 * {@code create_dynamic_map}): 256 sorted codes in [−1, 1] spaced roughly logarithmically, so
 * that small normalized values keep relative precision. Signed (first moment): for exponents
 * i = 0..6, the 2^i midpoints of linspace(0.1, 1, 2^i + 1) scaled by 10^(i−6), and their
 * negatives, plus 0 and 1. Unsigned (second moment): 2^(i+1) midpoints per exponent, no negatives.
 */
public final class QuantMap {
    public static final QuantMap SIGNED = new QuantMap(true);
    public static final QuantMap UNSIGNED = new QuantMap(false);

    private final float[] codes = new float[256];
    private final boolean signed;

    private QuantMap(boolean signed) {
        this.signed = signed;
        List<Double> data = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            int items = signed ? (1 << i) + 1 : (1 << (i + 1)) + 1;
            double scale = Math.pow(10, i - 6);
            for (int k = 0; k + 1 < items; k++) {
                // midpoint of neighbouring linspace(0.1, 1, items) boundaries
                double lo = 0.1 + 0.9 * k / (items - 1), hi = 0.1 + 0.9 * (k + 1) / (items - 1);
                double mean = (lo + hi) / 2;
                data.add(scale * mean);
                if (signed) data.add(-scale * mean);
            }
        }
        data.add(0.0);
        data.add(1.0);
        if (data.size() != 256) throw new AssertionError("dynamic map has " + data.size() + " entries");
        data.sort(Double::compare);
        for (int i = 0; i < 256; i++) codes[i] = data.get(i).floatValue();
    }

    public boolean signed() {
        return signed;
    }

    /** A copy of the 256 codes, ascending. */
    public float[] codes() {
        return codes.clone();
    }

    public float code(int index) {
        return codes[index];
    }

    /**
     * Index of the code nearest to {@code x} (a value already divided by its block's absmax,
     * so in [−1, 1]), by binary search. For the signed map, if that code has the wrong sign the
     * index moves one step toward the right sign (the reference's sign fix for m): a small
     * negative momentum must not become positive, or it would push the parameter the wrong way.
     */
    public int quantize(float x) {
        int lo = 0, hi = 255;
        while (hi - lo > 1) { // invariant: codes[lo] <= x <= codes[hi] (clamped at the ends)
            int mid = (lo + hi) >>> 1;
            if (codes[mid] <= x) lo = mid; else hi = mid;
        }
        int idx = (x - codes[lo] <= codes[hi] - x) ? lo : hi;
        if (signed) {
            if (x > 0 && codes[idx] < 0) idx++;
            else if (x < 0 && codes[idx] >= 0) idx--;
        }
        return idx;
    }
}
