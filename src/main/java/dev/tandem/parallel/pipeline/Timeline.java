package dev.tandem.parallel.pipeline;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One step of a schedule played out with each action taking its virtual stage's relative cost
 * (backward = 2 × forward, transfers free). The simulated times give two things: the bubble the
 * schedule should have on each rank, and the order in which each rank posts its sends and receives.
 *
 * <p>Why the order matters: a rank's communication runs one operation at a time, in the order the
 * operations were posted (one queue per rank, shared by all its groups; see
 * {@link dev.tandem.comm.ProcessGroup}). A receive posted too early blocks the sends queued behind
 * it, and if its peer is waiting for one of those sends, both wait forever. So every message gets
 * a key, (simulated time it is produced, then a fixed tie-break), and every rank posts its
 * messages in key order: a message produced at time t is posted before the first action that
 * starts at or after t. The sender has produced it by then (its producing action ended at t), and
 * a receiver has it posted before the action that consumes it. Every rank's queue is then sorted by
 * one global order, so the operation with the smallest key among those not yet done is at the head
 * of both its ranks' queues (all before it are done) and completes: no deadlock, whatever the real
 * durations, and whether sends are buffered or not. Collectives that data parallelism issues
 * inside an action sort between the messages posted before and after it, on every replica alike.
 */
final class Timeline {
    /**
     * An activation (forward) or gradient (backward) of {@code microBatch} going from virtual stage
     * {@code from} to {@code to}, produced at simulated {@code time}.
     */
    record Message(boolean activation, int microBatch, int from, int to, long time) {
        static final Comparator<Message> ORDER = Comparator.comparingLong(Message::time)
                .thenComparing(m -> !m.activation())
                .thenComparingInt(Message::microBatch)
                .thenComparingInt(Message::from);
    }

    private record Pass(boolean forward, int microBatch, int virtualStage) {}

    /** What a rank's executor does, in order. */
    sealed interface Step permits Post, Run {}

    /** Post a send (this rank produced the message) or a receive. */
    record Post(Message message, boolean send) implements Step {}

    /** Run an action of virtual stage {@code virtualStage}; simulated from {@code start} to {@code end}. */
    record Run(Action action, int virtualStage, long start, long end) implements Step {}

    private final StageLayout layout;
    private final List<List<Run>> runs;
    private final List<Message> messages;

    private Timeline(StageLayout layout, List<List<Run>> runs, List<Message> messages) {
        this.layout = layout;
        this.runs = runs;
        this.messages = messages;
    }

    /** The timeline of {@code schedule} on {@code layout}'s ranks. */
    static Timeline of(StageLayout layout, PipelineSchedule schedule, int microBatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < layout.stages(); r++) actions.add(schedule.actions(r, layout.stages(), microBatches));
        return simulate(layout, actions, microBatches);
    }

    /** Forward passes only (evaluation): micro-batches in order, each through the rank's chunks in order. */
    static Timeline forwardOnly(StageLayout layout, int microBatches) {
        List<List<Action>> actions = new ArrayList<>();
        for (int r = 0; r < layout.stages(); r++) {
            List<Action> a = new ArrayList<>();
            for (int mb = 0; mb < microBatches; mb++) for (int c = 0; c < layout.chunks(); c++) a.add(Action.forward(mb, c));
            actions.add(a);
        }
        return simulate(layout, actions, microBatches);
    }

    /**
     * Plays {@code actions} (one list per rank) out; throws if a list is not a complete set of
     * passes, runs a backward before its forward, or waits for something that never comes.
     */
    static Timeline simulate(StageLayout layout, List<List<Action>> actions, int microBatches) {
        int p = layout.stages(), last = layout.virtualStages() - 1;
        for (int r = 0; r < p; r++) checkComplete(r, actions.get(r), layout.chunks(), microBatches);
        Map<Pass, Long> end = new HashMap<>();
        List<List<Run>> runs = new ArrayList<>();
        for (int r = 0; r < p; r++) runs.add(new ArrayList<>());
        List<Message> messages = new ArrayList<>();
        long[] free = new long[p];
        int remaining = actions.stream().mapToInt(List::size).sum();
        while (remaining > 0) {
            boolean progress = false;
            for (int r = 0; r < p; r++) {
                List<Action> list = actions.get(r);
                while (runs.get(r).size() < list.size()) {
                    Action a = list.get(runs.get(r).size());
                    int vs = layout.virtualStage(r, a.chunk());
                    // A forward needs the previous stage's activation, a backward the next stage's gradient
                    // (the last stage: its own forward, which its rank ran earlier).
                    Long ready = a.forward()
                            ? (vs == 0 ? Long.valueOf(0) : end.get(new Pass(true, a.microBatch(), vs - 1)))
                            : end.get(vs == last ? new Pass(true, a.microBatch(), vs) : new Pass(false, a.microBatch(), vs + 1));
                    if (ready == null) break;
                    long cost = layout.forwardCost(vs) * (a.forward() ? 1 : 2);
                    long start = Math.max(free[r], ready);
                    free[r] = start + cost;
                    runs.get(r).add(new Run(a, vs, start, free[r]));
                    end.put(new Pass(a.forward(), a.microBatch(), vs), free[r]);
                    if (a.forward() && vs < last) messages.add(new Message(true, a.microBatch(), vs, vs + 1, free[r]));
                    if (!a.forward() && vs > 0) messages.add(new Message(false, a.microBatch(), vs, vs - 1, free[r]));
                    remaining--;
                    progress = true;
                }
            }
            if (!progress) throw new IllegalStateException("pipeline schedule cannot complete: " + stuck(actions, runs));
        }
        for (Message m : messages) {
            if (layout.rankOf(m.from()) == layout.rankOf(m.to())) {
                throw new IllegalStateException("virtual stages " + m.from() + " and " + m.to() + " are on the same rank");
            }
        }
        messages.sort(Message.ORDER);
        return new Timeline(layout, runs, messages);
    }

    private static void checkComplete(int rank, List<Action> list, int chunks, int microBatches) {
        Map<Action, Integer> seen = new HashMap<>();
        for (Action a : list) {
            if (a.microBatch() < 0 || a.microBatch() >= microBatches || a.chunk() < 0 || a.chunk() >= chunks) {
                throw new IllegalStateException("rank " + rank + " lists " + a + " outside " + microBatches + " micro-batches × " + chunks + " chunks");
            }
            if (seen.merge(a, 1, Integer::sum) > 1) throw new IllegalStateException("rank " + rank + " lists " + a + " twice");
            if (!a.forward() && !seen.containsKey(Action.forward(a.microBatch(), a.chunk()))) {
                throw new IllegalStateException("rank " + rank + " lists " + a + " before its forward pass");
            }
        }
        long forwards = list.stream().filter(Action::forward).count(), backwards = list.size() - forwards;
        if (forwards != (long) microBatches * chunks || (backwards != 0 && backwards != forwards)) {
            throw new IllegalStateException("rank " + rank + " lists " + forwards + " forward and " + backwards + " backward passes; "
                    + microBatches + " micro-batches × " + chunks + " chunks need " + (long) microBatches * chunks + " of each");
        }
    }

    private static String stuck(List<List<Action>> actions, List<List<Run>> runs) {
        List<String> waits = new ArrayList<>();
        for (int r = 0; r < actions.size(); r++) {
            if (runs.get(r).size() < actions.get(r).size()) waits.add("rank " + r + " waits at " + actions.get(r).get(runs.get(r).size()));
        }
        return String.join(", ", waits);
    }

    StageLayout layout() {
        return layout;
    }

    /** The simulated runs of {@code rank}, in its order. */
    List<Run> runs(int rank) {
        return runs.get(rank);
    }

    /** What {@code rank} does: its actions, with each message posted before the first action that starts at or after its time. */
    List<Step> program(int rank) {
        List<Message> mine = new ArrayList<>();
        for (Message m : messages) if (layout.rankOf(m.from()) == rank || layout.rankOf(m.to()) == rank) mine.add(m);
        List<Step> out = new ArrayList<>();
        int next = 0;
        for (Run run : runs.get(rank)) {
            for (; next < mine.size() && mine.get(next).time() <= run.start(); next++) out.add(post(mine.get(next), rank));
            out.add(run);
        }
        for (; next < mine.size(); next++) out.add(post(mine.get(next), rank));
        return out;
    }

    private Post post(Message m, int rank) {
        return new Post(m, layout.rankOf(m.from()) == rank);
    }

    /** Simulated idle time over compute time of {@code rank}, from the step's start to its last action's end. */
    double bubble(int rank) {
        long busy = 0, end = 0;
        for (Run r : runs.get(rank)) {
            busy += r.end() - r.start();
            end = Math.max(end, r.end());
        }
        return (double) (end - busy) / busy;
    }
}
