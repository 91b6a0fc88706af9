package dev.tandem.comm;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.ReductionKernels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The {@link ProcessGroup} implementation for every transport: checks arguments, numbers the
 * operation, records it in the op log and hands it to an algorithm. Transports differ only in
 * the {@link Link}s of the {@link Endpoint}.
 */
final class PeerGroup implements ProcessGroup {
    private final Endpoint endpoint;
    private final String name;
    private final int[] worldRanks;
    private final int rank;
    private final int id;
    private final boolean ownsEndpoint;
    private long collectiveSeq;
    private final long[] sendSeq;
    private final long[] recvSeq;
    private final OffHeap[] scratch = new OffHeap[3];
    private volatile Board board; // set up by the first all-gather that uses it
    private final PathChooser paths;
    /** From which all-gather size the group's shared board applies ({@link #computeBoardThreshold}). */
    private final long boardThreshold;
    /** A window's times, all-reduced to the slowest rank's ({@link PathChooser.Choice#agree}). */
    private final MemorySegment pathTimes = java.lang.foreign.Arena.ofAuto().allocate(4L * PathChooser.PATTERN.length(), 8);

    PeerGroup(Endpoint endpoint, String name, int[] worldRanks, boolean ownsEndpoint) {
        this.endpoint = endpoint;
        this.name = name;
        this.worldRanks = worldRanks.clone();
        this.ownsEndpoint = ownsEndpoint;
        int me = -1;
        for (int i = 0; i < worldRanks.length; i++) if (worldRanks[i] == endpoint.rank) me = i;
        if (me < 0) throw new IllegalArgumentException("rank " + endpoint.rank + " is not in group '" + name + "'");
        this.rank = me;
        this.id = name.hashCode() * 31 + Arrays.hashCode(worldRanks);
        this.sendSeq = new long[worldRanks.length];
        this.recvSeq = new long[worldRanks.length];
        // links set up for choosing read everything from 64 KiB in place unless told otherwise: where
        // this group does not choose (it spans hosts), its payloads keep the rings
        this.boardThreshold = computeBoardThreshold();
        this.paths = new PathChooser(name, choosesPaths(), rank == 0 && options().logPaths(), worldRanks.length,
                linksForChoosing() ? PathChooser.Paths.RING : PathChooser.Paths.FIXED);
    }

    /**
     * Whether this group chooses per operation between the rings and reading in place
     * ({@link PathChooser}): its links were set up for it and all its ranks are on this host, so
     * every rank of it comes to the same answer.
     */
    private boolean choosesPaths() {
        return size() > 1 && oneHost() && linksForChoosing();
    }

    /** Whether this rank's links were set up to read in place from {@link PathChooser#MIN_PAYLOAD_BYTES} on, for a choice. */
    private boolean linksForChoosing() {
        boolean shm = false, local = false;
        for (int p = 0; p < size(); p++) {
            if (p == rank) continue;
            shm |= link(p).kind().equals("shm");
            local |= link(p).kind().equals("local");
        }
        return shm && options().choosesPaths(true) || local && options().choosesPaths(false);
    }

    /** Whether every rank of the group is on this host: its links are between threads or through shared memory. */
    private boolean oneHost() {
        for (int p = 0; p < size(); p++) {
            if (p == rank) continue;
            String kind = link(p).kind();
            if (!kind.equals("local") && !kind.equals("shm")) return false;
        }
        return true;
    }

    static PeerGroup world(Endpoint endpoint) {
        int[] all = new int[endpoint.size];
        for (int i = 0; i < all.length; i++) all[i] = i;
        return new PeerGroup(endpoint, "world", all, true);
    }

    // ---- identity ----

    @Override
    public String name() {
        return name;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return worldRanks.length;
    }

    @Override
    public int worldRank(int groupRank) {
        return worldRanks[groupRank];
    }

    @Override
    public String transport(int groupRank) {
        return endpoint.linkKind(worldRanks[groupRank]);
    }

    @Override
    public long readsInPlace() {
        return endpoint.readsInPlace();
    }

    @Override
    public boolean oversubscribed() {
        return endpoint.waits.oversubscribed();
    }

    @Override
    public OpLog opLog() {
        return endpoint.log;
    }

    int id() {
        return id;
    }

    ReductionKernels reductions() {
        return endpoint.reductions;
    }

    CommOptions options() {
        return endpoint.options;
    }

    @Override
    public String peerFailure(int groupRank) {
        return endpoint.health.failure(worldRank(groupRank));
    }

    PeerHealth health() {
        return endpoint.health;
    }

    WaitPolicy waits() {
        return endpoint.waits;
    }

    Link link(int groupRank) {
        return endpoint.link(worldRanks[groupRank]);
    }

    /**
     * The group's shared board for an all-gather of {@code bytes} (set up now if this is the first),
     * or null where it does not apply: fewer than three ranks, a peer on another host, or an
     * output below {@link CommOptions#boardFrom}.
     */
    Board board(Op op, long bytes) {
        if (bytes < boardThreshold) return null;
        if (board == null) board = Board.setUp(op, boardThreshold);
        return board;
    }

    /** From which all-gather size the group's shared board applies: never below three ranks or across hosts. */
    private long computeBoardThreshold() {
        if (size() < 3 || !oneHost()) return Long.MAX_VALUE;
        boolean threads = true;
        for (int p = 0; p < size(); p++) if (p != rank) threads &= link(p).kind().equals("local");
        return endpoint.options.boardFrom(!threads);
    }

    @Override
    public int[] inPlaceChoices() {
        return paths.inPlaceKeys();
    }

    @Override
    public long boardRounds() {
        Board b = board;
        try {
            return b == null ? 0 : b.published(rank);
        } catch (IllegalStateException unmapped) { // close() ran meanwhile
            return 0;
        }
    }

    /** A reusable communication buffer; slots let one algorithm hold several at once. */
    MemorySegment scratch(int slot, long bytes) {
        OffHeap s = scratch[slot];
        if (s == null || s.byteSize() < bytes) {
            if (s != null) s.close();
            s = OffHeap.allocate(Math.max(bytes, 4096), MemoryCategory.COMMUNICATION);
            scratch[slot] = s;
        }
        return s.segment().asSlice(0, bytes);
    }

    @Override
    public ProcessGroup subgroup(String groupName, List<Integer> ranks) {
        int[] w = new int[ranks.size()];
        for (int i = 0; i < w.length; i++) {
            int r = ranks.get(i);
            if (r < 0 || r >= size()) throw new IllegalArgumentException("rank " + r + " is not in group '" + name + "'");
            w[i] = worldRanks[r];
        }
        if (Arrays.stream(w).distinct().count() != w.length) {
            throw new IllegalArgumentException("subgroup '" + groupName + "' lists a rank twice: " + ranks);
        }
        return new PeerGroup(endpoint, groupName, w, false);
    }

    // ---- execution ----

    private Work exec(boolean async, OpKind kind, long bytes, Consumer<Op> body) {
        Runnable run = () -> {
            PathChooser.Choice ways = chosenFor(kind, bytes) ? paths.choose(kind, bytes) : paths.unchosen();
            Op op = new Op(this, kind, ++collectiveSeq, ways.paths);
            ways.finished(traced(kind, collectiveSeq, bytes, () -> body.accept(op)));
            if (ways.endsWindow()) {
                long seq = ++collectiveSeq;
                ways.agree(pathTimes, times -> traced(OpKind.PATH_CHOICE, seq, times.byteSize(), () -> AllReduce.run(
                        new Op(this, OpKind.PATH_CHOICE, seq, paths.unchosen().paths), times, DType.F32, times.byteSize() / 4, ReduceOp.MAX)));
            }
        };
        return dispatch(async, run);
    }

    /**
     * Whether the ways of this operation are chosen for: not where the sizes differ between ranks
     * (all-to-all-v: every rank must run the same windows), nor where the shared board carries
     * the payloads (both ways would be the same).
     */
    private boolean chosenFor(OpKind kind, long bytes) {
        if (kind == OpKind.ALL_TO_ALL_V) return false;
        return !(kind == OpKind.ALL_GATHER || kind == OpKind.ALL_GATHER_V) || bytes < boardThreshold;
    }

    private Work execP2P(boolean async, boolean isSend, int peer, long bytes, Consumer<Op> body) {
        checkRank(peer, isSend ? "destination" : "source");
        if (peer == rank) throw new IllegalArgumentException("send/recv to self is not supported (rank " + peer + ")");
        Runnable run = () -> {
            long seq = isSend ? ++sendSeq[peer] : ++recvSeq[peer];
            Op op = new Op(this, OpKind.SEND_RECV, seq, paths.unchosen().paths);
            traced(OpKind.SEND_RECV, seq, bytes, () -> body.accept(op));
        };
        return dispatch(async, run);
    }

    private Work dispatch(boolean async, Runnable run) {
        if (async) return endpoint.submit(run);
        endpoint.runSync(run);
        return Work.completed();
    }

    /**
     * Runs {@code body} between the op log's start and end entries; returns how long it took, by
     * the log's own two clock readings (at about 25 ns a reading here, the clock is one of the
     * larger fixed costs of a small operation).
     */
    private long traced(OpKind kind, long seq, long bytes, Runnable body) {
        long entry = endpoint.log.begin(name, kind, seq, bytes);
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            endpoint.log.end(entry, String.valueOf(e.getMessage()));
            throw e;
        }
        return endpoint.log.end(entry, null);
    }

    // ---- argument checks ----

    private static MemorySegment view(MemorySegment seg, DType type, long count, OpKind kind, String what) {
        if (!ReductionKernels.supports(type)) throw ReductionKernels.unsupported(type);
        if (count < 0) throw new IllegalArgumentException(kind.label() + ": negative count " + count);
        long bytes = type.bytes(count);
        if (seg.byteSize() < bytes) {
            throw new IllegalArgumentException(kind.label() + ": " + what + " holds " + seg.byteSize()
                    + " bytes but " + count + " " + type + " elements need " + bytes);
        }
        return seg.asSlice(0, bytes);
    }

    private void checkRank(int r, String what) {
        if (r < 0 || r >= size()) {
            throw new IllegalArgumentException(what + " rank " + r + " is outside group '" + name + "' of size " + size());
        }
    }

    private long[] checkCounts(long[] counts, String what) {
        if (counts.length != size()) {
            throw new IllegalArgumentException(what + " has " + counts.length + " entries; group '" + name
                    + "' has " + size() + " ranks");
        }
        for (long c : counts) if (c < 0) throw new IllegalArgumentException(what + " has a negative count: " + c);
        return counts.clone();
    }

    private static long sum(long[] a) {
        long s = 0;
        for (long v : a) s += v;
        return s;
    }

    // ---- operations ----

    @Override
    public Work broadcastAsync(MemorySegment buf, DType type, long count, int root) {
        return broadcast(true, buf, type, count, root);
    }

    @Override
    public void broadcast(MemorySegment buf, DType type, long count, int root) {
        broadcast(false, buf, type, count, root);
    }

    private Work broadcast(boolean async, MemorySegment buf, DType type, long count, int root) {
        checkRank(root, "root");
        MemorySegment b = view(buf, type, count, OpKind.BROADCAST, "buffer");
        return exec(async, OpKind.BROADCAST, b.byteSize(), op -> Broadcast.run(op, b, root));
    }

    @Override
    public Work reduceAsync(MemorySegment buf, DType type, long count, ReduceOp rop, int root) {
        return reduce(true, buf, type, count, rop, root);
    }

    @Override
    public void reduce(MemorySegment buf, DType type, long count, ReduceOp rop, int root) {
        reduce(false, buf, type, count, rop, root);
    }

    private Work reduce(boolean async, MemorySegment buf, DType type, long count, ReduceOp rop, int root) {
        checkRank(root, "root");
        MemorySegment b = view(buf, type, count, OpKind.REDUCE, "buffer");
        return exec(async, OpKind.REDUCE, b.byteSize(), op -> Reduce.run(op, b, type, rop, root));
    }

    @Override
    public Work allReduceAsync(MemorySegment buf, DType type, long count, ReduceOp rop) {
        return allReduce(true, buf, type, count, rop);
    }

    @Override
    public void allReduce(MemorySegment buf, DType type, long count, ReduceOp rop) {
        allReduce(false, buf, type, count, rop);
    }

    private Work allReduce(boolean async, MemorySegment buf, DType type, long count, ReduceOp rop) {
        MemorySegment b = view(buf, type, count, OpKind.ALL_REDUCE, "buffer");
        return exec(async, OpKind.ALL_REDUCE, b.byteSize(), op -> AllReduce.run(op, b, type, count, rop));
    }

    @Override
    public Work reduceScatterAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank, ReduceOp rop) {
        return reduceScatter(true, in, out, type, countPerRank, rop);
    }

    @Override
    public void reduceScatter(MemorySegment in, MemorySegment out, DType type, long countPerRank, ReduceOp rop) {
        reduceScatter(false, in, out, type, countPerRank, rop);
    }

    private Work reduceScatter(boolean async, MemorySegment in, MemorySegment out, DType type, long countPerRank,
                               ReduceOp rop) {
        MemorySegment i = view(in, type, Math.multiplyExact(countPerRank, (long) size()), OpKind.REDUCE_SCATTER, "input");
        MemorySegment o = view(out, type, countPerRank, OpKind.REDUCE_SCATTER, "output");
        return exec(async, OpKind.REDUCE_SCATTER, i.byteSize(), op -> ReduceScatter.run(op, i, o, type, countPerRank, rop));
    }

    @Override
    public Work allGatherAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank) {
        return allGatherV(true, OpKind.ALL_GATHER, in, out, type, equalCounts(countPerRank));
    }

    @Override
    public void allGather(MemorySegment in, MemorySegment out, DType type, long countPerRank) {
        allGatherV(false, OpKind.ALL_GATHER, in, out, type, equalCounts(countPerRank));
    }

    @Override
    public Work allGatherVAsync(MemorySegment in, MemorySegment out, DType type, long[] counts) {
        return allGatherV(true, OpKind.ALL_GATHER_V, in, out, type, checkCounts(counts, "counts"));
    }

    @Override
    public void allGatherV(MemorySegment in, MemorySegment out, DType type, long[] counts) {
        allGatherV(false, OpKind.ALL_GATHER_V, in, out, type, checkCounts(counts, "counts"));
    }

    private long[] equalCounts(long countPerRank) {
        if (countPerRank < 0) throw new IllegalArgumentException("negative count " + countPerRank);
        long[] c = new long[size()];
        Arrays.fill(c, countPerRank);
        return c;
    }

    private Work allGatherV(boolean async, OpKind kind, MemorySegment in, MemorySegment out, DType type, long[] counts) {
        MemorySegment i = view(in, type, counts[rank], kind, "input");
        MemorySegment o = view(out, type, sum(counts), kind, "output");
        return exec(async, kind, o.byteSize(), op -> AllGather.run(op, i, o, type, counts));
    }

    @Override
    public Work allToAllAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank) {
        return allToAllV(true, OpKind.ALL_TO_ALL, in, equalCounts(countPerRank), out, equalCounts(countPerRank), type);
    }

    @Override
    public void allToAll(MemorySegment in, MemorySegment out, DType type, long countPerRank) {
        allToAllV(false, OpKind.ALL_TO_ALL, in, equalCounts(countPerRank), out, equalCounts(countPerRank), type);
    }

    @Override
    public Work allToAllVAsync(MemorySegment in, long[] sendCounts, MemorySegment out, long[] recvCounts, DType type) {
        return allToAllV(true, OpKind.ALL_TO_ALL_V, in, checkCounts(sendCounts, "sendCounts"), out,
                checkCounts(recvCounts, "recvCounts"), type);
    }

    @Override
    public void allToAllV(MemorySegment in, long[] sendCounts, MemorySegment out, long[] recvCounts, DType type) {
        allToAllV(false, OpKind.ALL_TO_ALL_V, in, checkCounts(sendCounts, "sendCounts"), out,
                checkCounts(recvCounts, "recvCounts"), type);
    }

    private Work allToAllV(boolean async, OpKind kind, MemorySegment in, long[] sendCounts, MemorySegment out,
                           long[] recvCounts, DType type) {
        if (sendCounts[rank] != recvCounts[rank]) {
            throw new IllegalArgumentException(kind.label() + ": this rank sends " + sendCounts[rank]
                    + " elements to itself but expects " + recvCounts[rank]);
        }
        MemorySegment i = view(in, type, sum(sendCounts), kind, "input");
        MemorySegment o = view(out, type, sum(recvCounts), kind, "output");
        return exec(async, kind, i.byteSize(), op -> AllToAll.run(op, i, sendCounts, o, recvCounts, type));
    }

    @Override
    public Work sendAsync(MemorySegment buf, DType type, long count, int dst) {
        MemorySegment b = view(buf, type, count, OpKind.SEND_RECV, "buffer");
        return execP2P(true, true, dst, b.byteSize(), op -> op.run(op.send(dst, b)));
    }

    @Override
    public void send(MemorySegment buf, DType type, long count, int dst) {
        MemorySegment b = view(buf, type, count, OpKind.SEND_RECV, "buffer");
        execP2P(false, true, dst, b.byteSize(), op -> op.run(op.send(dst, b)));
    }

    @Override
    public Work recvAsync(MemorySegment buf, DType type, long count, int src) {
        MemorySegment b = view(buf, type, count, OpKind.SEND_RECV, "buffer");
        return execP2P(true, false, src, b.byteSize(), op -> op.run(op.recvInto(src, b)));
    }

    @Override
    public void recv(MemorySegment buf, DType type, long count, int src) {
        MemorySegment b = view(buf, type, count, OpKind.SEND_RECV, "buffer");
        execP2P(false, false, src, b.byteSize(), op -> op.run(op.recvInto(src, b)));
    }

    @Override
    public Work barrierAsync() {
        return exec(true, OpKind.BARRIER, 0, Barrier::run);
    }

    @Override
    public void barrier() {
        exec(false, OpKind.BARRIER, 0, Barrier::run);
    }

    @Override
    public void close() {
        if (ownsEndpoint) endpoint.close();
        endpoint.tryLocked(() -> {
            for (int i = 0; i < scratch.length; i++) {
                if (scratch[i] != null) scratch[i].close();
                scratch[i] = null;
            }
            Board b = board;
            board = null;
            if (b != null) b.close();
        });
    }

    @Override
    public String toString() {
        return "ProcessGroup '" + name + "' rank " + rank + "/" + size();
    }
}
