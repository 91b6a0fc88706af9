package dev.tandem.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A validation result: mean loss per token in nats and the tokenizer-independent bits per byte
 * (total nats / (ln 2 · UTF-8 bytes of the predicted text)); NaN for token ids trained without a
 * tokenizer, whose bytes are unknown.
 *
 * <p>With islands (low-communication training), each island evaluates its own model: {@code loss}
 * and {@code bitsPerByte} are then the means over islands, {@code islandLosses} each island's loss
 * (island order), and {@code islandsTrainLoss} the mean over islands of their training losses since
 * the previous evaluation. Without islands, {@code islandLosses} is empty and {@code
 * islandsTrainLoss} NaN.
 */
public record EvalMetrics(long step, double loss, double bitsPerByte, long tokens, double[] islandLosses, double islandsTrainLoss) {
    public EvalMetrics(long step, double loss, double bitsPerByte, long tokens) {
        this(step, loss, bitsPerByte, tokens, new double[0], Double.NaN);
    }

    public String line() {
        String s = String.format("eval  step %5d | val loss %.4f nats | %s | %d tokens", step, loss,
                Double.isNaN(bitsPerByte) ? "no bits/byte (no tokenizer)" : String.format("%.4f bits/byte", bitsPerByte), tokens);
        if (islandLosses.length == 0) return s;
        return s + String.format(Locale.ROOT, " | mean of %d islands (%s); their training loss since the last eval %.4f", islandLosses.length,
                Arrays.stream(islandLosses).mapToObj(l -> String.format(Locale.ROOT, "%.4f", l)).collect(Collectors.joining(" ")), islandsTrainLoss);
    }
}
