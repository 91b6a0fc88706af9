package dev.tandem.parallel;

import dev.tandem.nn.GPTConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Model-state bytes per rank predicted by the ZeRO paper's formulas for float32 training with
 * AdamW (4 bytes of parameters, 4 of gradients, K = 8 of optimizer state per parameter), made
 * exact by accounting for how Tandem pads each flat unit to a multiple of N. Units: the root
 * (wte, wpe, ln_f) and one per transformer block, each padded separately.
 */
record ZeroFormula(long parameterBytes, long gradientBytes, long optimizerBytes, double paperTotal, double paddingBound) {

    long total() {
        return parameterBytes + gradientBytes + optimizerBytes;
    }

    static ZeroFormula of(GPTConfig cfg, int stage, int n, int rank) {
        long c = cfg.nEmbd();
        List<Long> units = new ArrayList<>();
        units.add((long) cfg.vocabSize() * c + (long) cfg.blockSize() * c + 2 * c);
        for (int i = 0; i < cfg.nLayer(); i++) units.add(12 * c * c + 13 * c);
        long psi = 0, padded = 0, shard = 0, myReal = 0;
        for (long u : units) {
            long s = (u + n - 1) / n;
            psi += u;
            shard += s;
            padded += s * n;
            myReal += Math.max(0, Math.min(u, (rank + 1) * s) - rank * s); // padding is at the end of the last shard
        }
        long params = 4 * (stage == 3 ? shard : padded);
        long grads = 4 * (stage >= 2 ? shard : padded);
        long optim = 8 * (stage == 0 ? psi : myReal);
        double paper = switch (stage) {
            case 0 -> 16.0 * psi;
            case 1 -> 8.0 * psi + 8.0 * psi / n;
            case 2 -> 4.0 * psi + 12.0 * psi / n;
            default -> 16.0 * psi / n;
        };
        return new ZeroFormula(params, grads, optim, paper, 16.0 * n * units.size());
    }
}
