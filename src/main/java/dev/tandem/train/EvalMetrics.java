package dev.tandem.train;

/**
 * A validation result: mean loss per token in nats and the tokenizer-independent bits per byte
 * (total nats / (ln 2 · UTF-8 bytes of the predicted text)); NaN for token ids trained without a
 * tokenizer, whose bytes are unknown.
 */
public record EvalMetrics(long step, double loss, double bitsPerByte, long tokens) {
    public String line() {
        return String.format("eval  step %5d | val loss %.4f nats | %s | %d tokens", step, loss,
                Double.isNaN(bitsPerByte) ? "no bits/byte (no tokenizer)" : String.format("%.4f bits/byte", bitsPerByte), tokens);
    }
}
