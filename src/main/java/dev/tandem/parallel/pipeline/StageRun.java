package dev.tandem.parallel.pipeline;

import dev.tandem.TandemException;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.Work;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.nn.Var;
import dev.tandem.parallel.DataParallel;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One step of one pipeline rank: runs its {@link Timeline#program} — posts sends and receives,
 * runs forward and backward passes — and records when each action waited and computed. Each
 * micro-batch's pass through one chunk has its own {@link Tape}, from the forward pass (or the
 * receive of its input, which may be posted earlier) until its backward pass is done and its
 * input gradient has been sent: the tapes alive at a time are the activations in flight.
 */
final class StageRun {
    private final GPT model;
    private final ProcessGroup group;
    private final StageLayout layout;
    private final DataParallel dp;
    private final boolean training;
    private final List<Tensor> ids;
    private final List<Tensor> targets;
    private final int rank;
    private final Function<Tape, Ops> ops;
    private final int sequenceShards;
    private final Map<Integer, Slot> slots = new HashMap<>();
    private final List<Slot> closing = new ArrayList<>();
    private final double[] losses;
    private final List<BubbleReport.ActionTiming> timings = new ArrayList<>();
    private long t0;
    private long computeNanos;
    private long waitNanos;
    private long lastEnd;

    /** One micro-batch through one chunk: its tape, input and output, and their transfers. */
    private static final class Slot {
        final Tape tape;
        Var input;
        Var output;
        Work inputReceived;
        Work gradientReceived;
        Work activationSent;
        Work gradientSent;

        Slot(Tape tape) {
            this.tape = tape;
        }

        /** The last send this slot's buffers feed (the tape may close once it is done). */
        Work lastSend() {
            return gradientSent != null ? gradientSent : activationSent;
        }
    }

    /**
     * @param ops            the ops a tape of this model runs (with the plan's recomputation)
     * @param sequenceShards how many ranks split each activation's rows (sequence parallelism), so a
     *                       stage boundary carries rows / sequenceShards rows
     */
    StageRun(GPT model, ProcessGroup group, StageLayout layout, DataParallel dp, boolean training, List<Tensor> ids, List<Tensor> targets,
             Function<Tape, Ops> ops, int sequenceShards) {
        this.ops = ops;
        this.sequenceShards = sequenceShards;
        this.model = model;
        this.group = group;
        this.layout = layout;
        this.dp = dp;
        this.training = training;
        this.ids = ids;
        this.targets = targets;
        this.rank = group.rank();
        this.losses = new double[ids.size()];
    }

    /**
     * Runs {@code program}; returns the sum of the micro-batch losses in micro-batch order on the
     * rank that holds the head (0 elsewhere).
     */
    double run(List<Timeline.Step> program) {
        t0 = System.nanoTime();
        try {
            for (Timeline.Step step : program) {
                switch (step) {
                    case Timeline.Post post -> post(post);
                    case Timeline.Run run -> run(run);
                }
            }
            for (Slot s : closing) s.lastSend().await();
        } finally {
            for (Slot s : slots.values()) s.tape.close();
            slots.clear();
            closing.clear();
        }
        double sum = 0;
        for (double l : losses) sum += l;
        return sum;
    }

    BubbleReport report(String schedule, double simulated, double formula) {
        return new BubbleReport(rank, schedule, (lastEnd - t0) / 1e6, computeNanos / 1e6, waitNanos / 1e6, simulated, formula, timings);
    }

    private int key(int microBatch, int chunk) {
        return microBatch * layout.chunks() + chunk;
    }

    private Slot slot(int microBatch, int chunk) {
        return slots.computeIfAbsent(key(microBatch, chunk), k -> new Slot(training ? new Tape(dp) : Tape.inference(dp)));
    }

    private int rows(int microBatch) {
        int rows = ids.get(microBatch).dim(0) * ids.get(microBatch).dim(1);
        if (rows % sequenceShards != 0) {
            // Checked here, before any stage posts a receive of the wrong size, so no rank waits forever.
            throw new TandemException("sequence parallelism splits each micro-batch's batch·time = " + rows + " rows across tp = "
                    + sequenceShards + " ranks, which does not divide them: choose batch_size and block_size so it does");
        }
        return rows / sequenceShards;
    }

    private void post(Timeline.Post post) {
        Timeline.Message m = post.message();
        int mb = m.microBatch();
        long count = (long) rows(mb) * model.config().nEmbd();
        if (post.send()) {
            Slot s = slots.get(key(mb, layout.chunkOf(m.from())));
            int to = layout.rankOf(m.to());
            if (m.activation()) {
                s.activationSent = group.sendAsync(s.output.value().data(), DType.F32, count, to);
                if (!training) closing.add(s);
            } else {
                s.gradientSent = group.sendAsync(s.input.grad().data(), DType.F32, count, to);
                closing.add(s);
            }
        } else {
            Slot s = slot(mb, layout.chunkOf(m.to()));
            int from = layout.rankOf(m.from());
            if (m.activation()) {
                s.input = s.tape.activation(rows(mb), model.config().nEmbd());
                s.inputReceived = group.recvAsync(s.input.value().data(), DType.F32, count, from);
            } else {
                s.gradientReceived = group.recvAsync(s.output.grad().data(), DType.F32, count, from);
            }
        }
    }

    private void run(Timeline.Run run) {
        closeSent();
        Action a = run.action();
        int vs = run.virtualStage(), mb = a.microBatch();
        boolean last = vs == layout.virtualStages() - 1;
        Slot s = slot(mb, a.chunk());
        long wait = System.nanoTime();
        if (a.forward()) {
            if (vs > 0) s.inputReceived.await();
        } else if (!last) {
            s.gradientReceived.await();
            s.activationSent.await(); // the backward pass frees the activation it sent
        }
        long start = System.nanoTime();
        if (training) dp.beginMicroBatch(mb, ids.size());
        else dp.beginInference();
        if (a.forward()) forward(s, vs, mb, last);
        else s.tape.backward();
        long end = System.nanoTime();
        if ((a.forward() && last && !training) || (!a.forward() && vs == 0)) close(s, mb, a.chunk());
        lastEnd = System.nanoTime();
        waitNanos += start - wait;
        computeNanos += end - start;
        timings.add(new BubbleReport.ActionTiming(a, (wait - t0) / 1e6, (start - t0) / 1e6, (end - t0) / 1e6));
    }

    private void forward(Slot s, int vs, int mb, boolean last) {
        Ops ops = this.ops.apply(s.tape);
        Tensor x0 = ids.get(mb);
        Var x = vs == 0 ? model.embed(ops, x0, 0) : s.input;
        for (int l = layout.firstLayer(vs); l < layout.firstLayer(vs) + layout.layers(vs); l++) {
            x = model.block(ops, x, l, x0.dim(0), x0.dim(1));
        }
        if (last) losses[mb] = model.head(ops, x, targets.get(mb), 1f / ids.size());
        else s.output = x;
    }

    /** Frees the tapes whose last send has completed. */
    private void closeSent() {
        closing.removeIf(s -> {
            if (!s.lastSend().isDone()) return false;
            s.lastSend().await(); // rethrows a failed send
            slots.values().remove(s);
            s.tape.close();
            return true;
        });
    }

    private void close(Slot s, int mb, int chunk) {
        slots.remove(key(mb, chunk));
        s.tape.close();
    }
}
