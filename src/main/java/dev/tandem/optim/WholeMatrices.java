package dev.tandem.optim;

import dev.tandem.TandemException;

/** The check every matrix optimizer makes: it got whole matrices, not shards of them. */
final class WholeMatrices {
    private WholeMatrices() {}

    static void require(String optimizer, ParamSlice s) {
        if (!s.isWhole()) {
            throw new TandemException(optimizer + " needs whole matrices, but got elements [" + s.offset() + ", "
                    + (s.offset() + s.length()) + ") of " + s.name() + " " + java.util.Arrays.toString(s.shape())
                    + "; under ZeRO, wrap the model with DataParallel.apply(model, group, stage, Optimizers.updatedWhole(\""
                    + optimizer.toLowerCase(java.util.Locale.ROOT) + "\")) "
                    + "so that each matrix is owned whole by one rank");
        }
    }
}
