package dev.tandem.parallel.pipeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * Runs every rank's {@link Timeline#program} the way {@link StageRun} does, with the strictest
 * communication semantics: each rank's operations run one at a time in posting order, a send
 * completes only together with its receive (no buffering), and, with {@code replicas} > 1
 * data-parallel copies of the pipeline, every action also issues a collective over its replicas
 * and waits for it (as ZeRO-3's parameter gathers do). Throws on a deadlock, or if a sender and a
 * receiver see the messages between them in different orders (the transport would pair them up
 * wrongly).
 */
final class RendezvousCheck {
    private RendezvousCheck() {}

    private record Op(Timeline.Message message, boolean send, String collective) {}

    private static final class RankState {
        final List<Timeline.Step> program;
        final ArrayDeque<Op> queue = new ArrayDeque<>();
        final Map<Timeline.Message, Op> posted = new HashMap<>();
        final Set<Op> done = new HashSet<>();
        Op collective; // the collective the current action waits for
        int pc;

        RankState(List<Timeline.Step> program) {
            this.program = program;
        }
    }

    static void check(Timeline t, int replicas) {
        check(t.layout(), t::program, replicas);
    }

    /** The same for other programs than the timeline's (to show what goes wrong without its order). */
    static void check(StageLayout layout, IntFunction<List<Timeline.Step>> programs, int replicas) {
        int p = layout.stages();
        checkPairOrders(layout, programs);
        RankState[][] ranks = new RankState[replicas][p];
        for (int d = 0; d < replicas; d++) for (int r = 0; r < p; r++) ranks[d][r] = new RankState(programs.apply(r));
        while (true) {
            boolean progress = false, finished = true;
            for (int d = 0; d < replicas; d++) {
                for (int r = 0; r < p; r++) {
                    progress |= advance(ranks[d][r], layout, r, replicas);
                    RankState s = ranks[d][r];
                    if (s.pc < s.program.size() || !s.queue.isEmpty()) finished = false;
                }
            }
            for (int d = 0; d < replicas; d++) progress |= transfer(ranks, d, layout);
            if (finished) return;
            if (!progress) throw new AssertionError("deadlock: " + describe(ranks));
        }
    }

    /** The compute thread: posts, and runs actions whose inputs (and collective) are done. */
    private static boolean advance(RankState s, StageLayout layout, int rank, int replicas) {
        boolean progress = false;
        while (s.pc < s.program.size()) {
            Timeline.Step step = s.program.get(s.pc);
            if (step instanceof Timeline.Post post) {
                Op op = new Op(post.message(), post.send(), null);
                s.queue.add(op);
                s.posted.put(post.message(), op);
            } else {
                Timeline.Run run = (Timeline.Run) step;
                if (!inputsDone(s, run, layout)) return progress;
                if (replicas > 1) {
                    if (s.collective == null) {
                        s.collective = new Op(null, false, "rank " + rank + " action " + s.pc);
                        s.queue.add(s.collective);
                        progress = true;
                    }
                    if (!s.done.contains(s.collective)) return progress;
                    s.collective = null;
                }
            }
            s.pc++;
            progress = true;
        }
        return progress;
    }

    private static boolean inputsDone(RankState s, Timeline.Run run, StageLayout layout) {
        Action a = run.action();
        int vs = run.virtualStage(), last = layout.virtualStages() - 1;
        if (a.forward()) return vs == 0 || isDone(s, new Timeline.Message(true, a.microBatch(), vs - 1, vs, 0));
        if (vs == last) return true;
        return isDone(s, new Timeline.Message(false, a.microBatch(), vs + 1, vs, 0))
                && isDone(s, new Timeline.Message(true, a.microBatch(), vs, vs + 1, 0));
    }

    /** Whether the operation for the message (matched without its time) was posted and is done. */
    private static boolean isDone(RankState s, Timeline.Message like) {
        for (Map.Entry<Timeline.Message, Op> e : s.posted.entrySet()) {
            Timeline.Message m = e.getKey();
            if (m.activation() == like.activation() && m.microBatch() == like.microBatch() && m.from() == like.from() && m.to() == like.to()) {
                return s.done.contains(e.getValue());
            }
        }
        return false;
    }

    /** The communication queues: completes every send whose receive is at the head of the peer's queue, and collectives. */
    private static boolean transfer(RankState[][] ranks, int d, StageLayout layout) {
        boolean progress = false;
        RankState[] replica = ranks[d];
        for (int r = 0; r < replica.length; r++) {
            Op head = replica[r].queue.peek();
            if (head == null) continue;
            if (head.collective() != null) {
                if (d != 0) continue; // replica 0 completes the collective for all
                boolean all = true;
                for (RankState[] other : ranks) {
                    Op h = other[r].queue.peek();
                    if (h == null || !Objects.equals(h.collective(), head.collective())) all = false;
                }
                if (all) {
                    for (RankState[] other : ranks) other[r].done.add(other[r].queue.poll());
                    progress = true;
                }
                continue;
            }
            if (!head.send()) continue;
            RankState peer = replica[layout.rankOf(head.message().to())];
            Op peerHead = peer.queue.peek();
            if (peerHead == null || peerHead.send() || peerHead.collective() != null) continue;
            if (layout.rankOf(peerHead.message().from()) != r) continue; // the peer waits for someone else
            if (!peerHead.message().equals(head.message())) {
                throw new AssertionError("rank " + r + " sends " + head.message() + " while its peer expects " + peerHead.message());
            }
            replica[r].done.add(replica[r].queue.poll());
            peer.done.add(peer.queue.poll());
            progress = true;
        }
        return progress;
    }

    /** For every pair of ranks, the sender's sends and the receiver's receives list the same messages in the same order. */
    private static void checkPairOrders(StageLayout layout, IntFunction<List<Timeline.Step>> programs) {
        int p = layout.stages();
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) {
                if (a == b) continue;
                List<Timeline.Message> sent = new ArrayList<>(), received = new ArrayList<>();
                for (Timeline.Step s : programs.apply(a)) {
                    if (s instanceof Timeline.Post post && post.send() && layout.rankOf(post.message().to()) == b) sent.add(post.message());
                }
                for (Timeline.Step s : programs.apply(b)) {
                    if (s instanceof Timeline.Post post && !post.send() && layout.rankOf(post.message().from()) == a) received.add(post.message());
                }
                if (!sent.equals(received)) throw new AssertionError("rank " + a + " sends " + sent + " but rank " + b + " receives " + received);
            }
        }
    }

    private static String describe(RankState[][] ranks) {
        List<String> out = new ArrayList<>();
        for (int d = 0; d < ranks.length; d++) {
            for (int r = 0; r < ranks[d].length; r++) {
                RankState s = ranks[d][r];
                String at = s.pc < s.program.size() ? String.valueOf(s.program.get(s.pc)) : "end";
                out.add("replica " + d + " rank " + r + " at " + at + ", queue head " + s.queue.peek());
            }
        }
        return String.join("; ", out);
    }
}
