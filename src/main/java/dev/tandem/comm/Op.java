package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.ReductionKernels;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One running operation of one rank: creates the transfers an algorithm needs (with headers
 * stamped with this operation's kind and sequence number) and drives them to completion before
 * the deadline. All error messages about the operation are written here, so they all name the
 * operation, the group and the peers in the same way.
 */
final class Op {
    private final PeerGroup group;
    private final OpKind kind;
    private final long seq;
    private long deadlineNanos; // set at the first wait: an operation that never waits need not read the clock for it
    private boolean deadlineSet;
    private final WaitPolicy waits;
    private final PathChooser.Paths paths;

    /** @param paths how this operation's large payloads travel ({@link PathChooser}) */
    Op(PeerGroup group, OpKind kind, long seq, PathChooser.Paths paths) {
        this.group = group;
        this.kind = kind;
        this.seq = seq;
        this.paths = paths;
        this.waits = group.waits();
    }

    /** Rank in the group. */
    int rank() {
        return group.rank();
    }

    int worldRank(int groupRank) {
        return group.worldRank(groupRank);
    }

    int size() {
        return group.size();
    }

    CommOptions options() {
        return group.options();
    }

    /** The arithmetic of this rank's reductions. */
    ReductionKernels reductions() {
        return group.reductions();
    }

    MemorySegment scratch(int slot, long bytes) {
        return group.scratch(slot, bytes);
    }

    /** Sends a payload the peer copies: large ones may be read in place ({@link DirectPath}). */
    Transfer send(int groupPeer, MemorySegment payload) {
        return group.link(groupPeer).send(header(payload.byteSize()), payload, paths != PathChooser.Paths.RING);
    }

    /**
     * Sends a payload the peer combines with {@link #recvReduce}: through the ring, which the peer
     * reduces straight out of, so reading in place saves no copy; unless the group found that
     * reading in place is faster here ({@link PathChooser}), as where the ring's cache lines cross
     * between cores slowly.
     */
    Transfer sendToReduce(int groupPeer, MemorySegment payload) {
        return group.link(groupPeer).send(header(payload.byteSize()), payload, paths == PathChooser.Paths.IN_PLACE);
    }

    /** A copy within this rank, run piece by piece beside the transfers it is given to {@link #run} with. */
    Transfer copy(MemorySegment src, MemorySegment dst) {
        return new LocalCopy(src, dst, group.worldRank(group.rank()));
    }

    Transfer recvInto(int groupPeer, MemorySegment dst) {
        return group.link(groupPeer).recv(expectedFrom(groupPeer, dst.byteSize()), new RecvSink.Copy(dst));
    }

    Transfer recvReduce(int groupPeer, MemorySegment dst, MemorySegment base, DType type, ReduceOp op) {
        return group.link(groupPeer).recv(expectedFrom(groupPeer, dst.byteSize()), new RecvSink.Reduce(dst, base, type, op, group.reductions()));
    }

    /**
     * An all-gather through the group's shared board where its options and links allow one for an
     * output of {@code bytes} (set up on first use, collectively), else null.
     */
    Board board(long bytes) {
        return group.board(this, bytes);
    }

    /** The header of this rank's messages in this operation. */
    MessageHeader header(long bytes) {
        return new MessageHeader(group.id(), kind, seq, group.worldRank(group.rank()), bytes);
    }

    /** The header a message of {@code groupPeer} in this operation carries. */
    MessageHeader expectedFrom(int groupPeer, long bytes) {
        return new MessageHeader(group.id(), kind, seq, group.worldRank(groupPeer), bytes);
    }

    String label() {
        return kind.label() + " #" + seq + " in group '" + group.name() + "' on rank " + group.worldRank(group.rank());
    }

    /** Drives all transfers to completion: never blocks on one while another could move. */
    void run(Transfer... transfers) {
        int idle = 0;
        long idleSince = 0;
        while (true) {
            boolean moved = false;
            boolean allDone = true;
            for (Transfer t : transfers) {
                if (t.done()) continue;
                moved |= progress(t);
                if (!t.done()) allDone = false;
            }
            if (moved || allDone) {
                if (idle > 0) waits.ended(System.nanoTime() - idleSince);
                if (allDone) return;
                idle = 0;
                continue;
            }
            if (idle++ == 0) {
                idleSince = System.nanoTime();
                if (!deadlineSet) {
                    deadlineNanos = idleSince + options().timeout().toNanos();
                    deadlineSet = true;
                }
            }
            if ((idle & 15) == 0 && !checkHealthAndDeadline(transfers)) idle = 0;
            else waits.pause(System.nanoTime() - idleSince);
        }
    }

    private boolean progress(Transfer t) {
        try {
            return t.progress();
        } catch (LinkClosedException e) {
            throw peerFailed(e.peer, e.getMessage());
        } catch (MessageHeader.Mismatch m) {
            throw mismatch(m.actual.srcRank(), m); // the sender of the wrong message (a board transfer reads several)
        }
    }

    /**
     * Throws if a peer we wait for is known dead or the deadline passed. Returns false (keep
     * going) if a peer reported dead had in fact delivered what we wait for: a rank that sends its
     * last message and exits at once must not fail a receiver that was merely descheduled.
     */
    private boolean checkHealthAndDeadline(Transfer[] transfers) {
        for (Transfer t : transfers) {
            if (t.done()) continue;
            for (int peer : t.dependsOn()) {
                String why = group.health().failure(peer);
                if (why == null) continue;
                if (progress(t) || t.done()) return false;
                throw peerFailed(peer, why);
            }
        }
        if (System.nanoTime() - deadlineNanos > 0) {
            List<Integer> peers = new ArrayList<>();
            List<String> waits = new ArrayList<>();
            for (Transfer t : transfers) {
                if (t.done()) continue;
                if (!peers.contains(t.peer())) peers.add(t.peer());
                waits.add(t.describe());
            }
            String names = String.join(", ", peers.stream().map(p -> "rank " + p).toList());
            throw new CommTimeoutException(label() + " timed out after " + seconds() + ": not heard from "
                    + names + " (" + String.join("; ", waits) + "). Raise TANDEM_COMM_TIMEOUT if the peers"
                    + " are just slow, otherwise check their logs", peers);
        }
        return true;
    }

    private String seconds() {
        return String.format("%.1f s", options().timeout().toNanos() / 1e9);
    }

    private PeerFailureException peerFailed(int peer, String why) {
        return new PeerFailureException(label() + " failed: rank " + peer + " is gone (" + why + ")", peer);
    }

    private CollectiveMismatchException mismatch(int peer, MessageHeader.Mismatch m) {
        String what;
        if (m.actual.groupId() != m.expected.groupId()) {
            what = "a message of another group (" + m.actual.describe() + ")";
        } else {
            what = m.actual.kind().label() + " #" + m.actual.seq() + " with " + m.actual.bytes() + " bytes";
        }
        return new CollectiveMismatchException(label() + ": collective mismatch with rank " + peer + ": expected "
                + m.expected.kind().label() + " #" + m.expected.seq() + " with " + m.expected.bytes()
                + " bytes, but rank " + peer + " sent " + what
                + ". All ranks of a group must call the same collectives, with the same sizes, in the same order");
    }
}
