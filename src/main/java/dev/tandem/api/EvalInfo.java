package dev.tandem.api;

/**
 * One evaluation on the held-out tokens, as {@link TrainingCallback#onEval} learns it.
 *
 * @param step        optimizer steps done when it ran
 * @param loss        mean validation loss, nats per token
 * @param bitsPerByte total nats over the predicted tokens / (ln 2 × their UTF-8 bytes): a number that
 *                    does not depend on the tokenizer; NaN for token ids given without a tokenizer
 * @param tokens      validation tokens evaluated
 */
public record EvalInfo(long step, double loss, double bitsPerByte, long tokens) {}
