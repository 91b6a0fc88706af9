package dev.tandem.parallel;

import dev.tandem.nn.Sequences;

/**
 * How one micro-batch's rows are laid out and how much its loss weighs in the step.
 *
 * @param sequences how the rows form sequences ({@link Sequences#WHOLE}, or packed documents)
 * @param weight    the micro-batch's counted targets over the mean per micro-batch of the whole step
 *                  (over every replica): 1 when all micro-batches count as many targets, as windows
 *                  of a token stream do; packed rows end in padding of different lengths, and this
 *                  weight makes the step's loss the mean over all its counted targets, not a mean of
 *                  per-micro-batch means
 */
public record MicroBatchLayout(Sequences sequences, double weight) {
    public static final MicroBatchLayout WHOLE = new MicroBatchLayout(Sequences.WHOLE, 1);
}
