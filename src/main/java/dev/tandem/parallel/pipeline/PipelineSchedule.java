package dev.tandem.parallel.pipeline;

import dev.tandem.TandemException;
import dev.tandem.plan.Schedule;
import java.util.ArrayList;
import java.util.List;

/**
 * The order in which each pipeline rank runs the forward and backward passes of the micro-batches
 * of one step. Plain data: {@link #actions} lists a rank's {@link Action}s; how they are run and
 * how activations travel between ranks is the {@link Pipeline}'s business. On every rank the
 * backward passes of a chunk run in micro-batch order, so gradients accumulate in the same order
 * as on one rank.
 *
 * <p>Bubble (idle time over compute time, Narayanan et al. 2021): (p−1)/m for GPipe and 1F1B,
 * (p−1)/(v·m) for interleaved 1F1B. Activations in flight on the first stage: m for GPipe, at most
 * p for 1F1B.
 */
public sealed interface PipelineSchedule {

    /** Model chunks per rank. */
    int chunks();

    /** The name used in configs: {@code gpipe}, {@code 1f1b} or {@code interleaved}. */
    String label();

    /** The actions of pipeline rank {@code rank} of {@code stages}, for {@code microBatches} micro-batches. */
    List<Action> actions(int rank, int stages, int microBatches);

    /** Throws if this schedule cannot run {@code microBatches} micro-batches on {@code stages} ranks. */
    default void check(int stages, int microBatches) {
        if (stages < 1) throw new TandemException("pp must be >= 1, got " + stages);
        if (microBatches < 1) throw new TandemException("micro_batches must be >= 1, got " + microBatches);
    }

    /** The textbook bubble: idle over compute time for equal stages, (p−1)/(v·m). */
    default double bubbleFormula(int stages, int microBatches) {
        return (stages - 1.0) / ((double) chunks() * microBatches);
    }

    /** The action lists of the plan's schedule. */
    static PipelineSchedule of(Schedule schedule) {
        return switch (schedule) {
            case Schedule.GPipe g -> new GPipe();
            case Schedule.OneFOneB o -> new OneFOneB();
            case Schedule.Interleaved i -> new Interleaved(i.chunks());
        };
    }

    /** All forward passes, then all backward passes: every micro-batch's activations are held at once. */
    record GPipe() implements PipelineSchedule {
        @Override
        public int chunks() {
            return 1;
        }

        @Override
        public String label() {
            return "gpipe";
        }

        @Override
        public List<Action> actions(int rank, int stages, int microBatches) {
            check(stages, microBatches);
            List<Action> out = new ArrayList<>();
            for (int mb = 0; mb < microBatches; mb++) out.add(Action.forward(mb, 0));
            for (int mb = 0; mb < microBatches; mb++) out.add(Action.backward(mb, 0));
            return out;
        }
    }

    /**
     * One forward, one backward (PipeDream-Flush, as in Megatron-LM): rank r first runs p−r−1
     * forward passes, then alternates forward and backward, then drains the remaining backward
     * passes. Same bubble as GPipe, but at most p−r micro-batches are in flight on rank r.
     */
    record OneFOneB() implements PipelineSchedule {
        @Override
        public int chunks() {
            return 1;
        }

        @Override
        public String label() {
            return "1f1b";
        }

        @Override
        public List<Action> actions(int rank, int stages, int microBatches) {
            check(stages, microBatches);
            int warmup = Math.min(stages - rank - 1, microBatches);
            List<Action> out = new ArrayList<>();
            for (int mb = 0; mb < warmup; mb++) out.add(Action.forward(mb, 0));
            for (int i = 0; i < microBatches - warmup; i++) {
                out.add(Action.forward(warmup + i, 0));
                out.add(Action.backward(i, 0));
            }
            for (int mb = microBatches - warmup; mb < microBatches; mb++) out.add(Action.backward(mb, 0));
            return out;
        }
    }

    /**
     * Interleaved 1F1B (Narayanan et al. 2021, as in Megatron-LM): each rank holds v model chunks
     * and runs groups of p micro-batches through one chunk before moving to the next, which divides
     * the bubble by v at the price of v times as many transfers. Needs p ≥ 2 and m a multiple of p.
     */
    record Interleaved(int chunks) implements PipelineSchedule {
        public Interleaved {
            if (chunks < 2) throw new TandemException("the interleaved schedule needs virtual_stages >= 2, got " + chunks);
        }

        @Override
        public String label() {
            return "interleaved";
        }

        @Override
        public void check(int stages, int microBatches) {
            PipelineSchedule.super.check(stages, microBatches);
            if (stages < 2) throw new TandemException("the interleaved schedule needs pp >= 2, got " + stages + " (use 1f1b)");
            if (microBatches % stages != 0) {
                throw new TandemException("the interleaved schedule runs micro-batches in groups of pp: micro_batches = " + microBatches
                        + " is not a multiple of pp = " + stages + " (use " + (microBatches + stages - 1) / stages * stages
                        + ", or the 1f1b schedule)");
            }
        }

        @Override
        public List<Action> actions(int rank, int stages, int microBatches) {
            check(stages, microBatches);
            int total = microBatches * chunks;
            // Rank r runs ahead by the time the later ranks need to fill: 2 per rank behind it,
            // plus one round of p for every chunk after the first.
            int warmup = Math.min((stages - rank - 1) * 2 + (chunks - 1) * stages, total);
            List<Action> out = new ArrayList<>();
            for (int k = 0; k < warmup; k++) out.add(forward(k, stages));
            for (int k = 0; k < total - warmup; k++) {
                out.add(forward(warmup + k, stages));
                out.add(backward(k, stages));
            }
            for (int k = total - warmup; k < total; k++) out.add(backward(k, stages));
            return out;
        }

        /** The k-th forward: micro-batches go through each chunk in groups of p. */
        private Action forward(int k, int stages) {
            return Action.forward(microBatch(k, stages), k % (stages * chunks) / stages);
        }

        /** The k-th backward: the same groups, through the chunks in reverse. */
        private Action backward(int k, int stages) {
            return Action.backward(microBatch(k, stages), chunks - 1 - k % (stages * chunks) / stages);
        }

        private int microBatch(int k, int stages) {
            return k / (stages * chunks) * stages + k % stages;
        }
    }
}
