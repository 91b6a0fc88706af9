package dev.tandem.comm;

import dev.tandem.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A set of ranks that communicate, passed explicitly to whatever needs it (no global groups).
 * Buffers are memory segments holding {@code count} elements of a {@link DType} (F32, BF16,
 * I32 or U8), so tensors plug in directly. Every rank of the group must call the same
 * operations with the same sizes in the same order; a mismatch raises
 * {@link CollectiveMismatchException} instead of hanging where it can be detected.
 *
 * <p>Every operation is blocking with a timeout ({@link CommOptions#timeout()}) or asynchronous
 * ({@code ...Async}, returning a {@link Work}); both kinds run in issue order. A group is meant to
 * be driven by one thread at a time, like one CUDA stream.
 *
 * <p>Ranks in the API are ranks in this group; error messages name world ranks, which is what
 * the launcher prefixes log lines with.
 */
public interface ProcessGroup extends AutoCloseable {
    String name();

    /** This rank's index in the group. */
    int rank();

    int size();

    /** World rank of group rank {@code groupRank}. */
    int worldRank(int groupRank);

    /** Transport to a group peer: "self", "local", "shm" or "tcp". */
    String transport(int groupRank);

    /**
     * Messages this rank has received by reading the sender's memory in place (the single-copy
     * path for large payloads over shared-memory and in-process links), over all its links.
     */
    long readsInPlace();

    /**
     * Of the (operation kind, size) pairs for which this group chooses how large payloads travel
     * (docs/COMMUNICATION.md, "Rings or reading in place"): {how many now read in place, how many there are}.
     */
    int[] inPlaceChoices();

    /** Rounds this group has gathered through its shared board (docs/COMMUNICATION.md, "The shared board"); 0 without one. */
    long boardRounds();

    /**
     * True when this job has more ranks on this host than CPUs to share between them (counted over
     * all its ranks there, so a rank bound to one core is not fooled): a waiting rank then yields
     * its core at once instead of spinning ({@link WaitPolicy}).
     */
    boolean oversubscribed();

    /**
     * Why group peer {@code groupRank} is considered failed (its process gone, its connection closed,
     * no heartbeat within the timeout), or null while it is believed alive. Lets waits outside the
     * collectives (a checkpoint commit waiting for a peer's file) end when the peer is gone.
     */
    String peerFailure(int groupRank);

    /** Start/end timestamps of this rank's recent operations (shared by all groups of the rank). */
    OpLog opLog();

    /**
     * The group of {@code ranks} (ranks of this group, which must include this rank). No
     * communication: every member computes the same group from the same arguments.
     */
    ProcessGroup subgroup(String name, List<Integer> ranks);

    /** Copies {@code root}'s buffer to every rank. */
    Work broadcastAsync(MemorySegment buf, DType type, long count, int root);

    /** Reduces every rank's buffer into {@code root}'s buffer; other ranks' buffers are left as they were. */
    Work reduceAsync(MemorySegment buf, DType type, long count, ReduceOp op, int root);

    /** In place: every rank ends with the reduction of all buffers (bitwise identical on every rank). */
    Work allReduceAsync(MemorySegment buf, DType type, long count, ReduceOp op);

    /** {@code in} holds size()·countPerRank elements; rank r receives the reduction of block r in {@code out}. */
    Work reduceScatterAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank, ReduceOp op);

    /** {@code out} (size()·countPerRank elements) receives every rank's {@code in}, in rank order. */
    Work allGatherAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank);

    /** Uneven all-gather: rank r contributes {@code counts[r]} elements; {@code out} holds their sum. */
    Work allGatherVAsync(MemorySegment in, MemorySegment out, DType type, long[] counts);

    /** Block j of {@code in} goes to rank j, and arrives as block (sender's rank) of {@code out}. */
    Work allToAllAsync(MemorySegment in, MemorySegment out, DType type, long countPerRank);

    /**
     * Uneven all-to-all: {@code sendCounts[j]} elements (blocks packed in rank order) go to rank
     * j; {@code recvCounts[i]} elements arrive from rank i, packed in rank order.
     */
    Work allToAllVAsync(MemorySegment in, long[] sendCounts, MemorySegment out, long[] recvCounts, DType type);

    Work sendAsync(MemorySegment buf, DType type, long count, int dst);

    Work recvAsync(MemorySegment buf, DType type, long count, int src);

    Work barrierAsync();

    void broadcast(MemorySegment buf, DType type, long count, int root);

    void reduce(MemorySegment buf, DType type, long count, ReduceOp op, int root);

    void allReduce(MemorySegment buf, DType type, long count, ReduceOp op);

    void reduceScatter(MemorySegment in, MemorySegment out, DType type, long countPerRank, ReduceOp op);

    void allGather(MemorySegment in, MemorySegment out, DType type, long countPerRank);

    void allGatherV(MemorySegment in, MemorySegment out, DType type, long[] counts);

    void allToAll(MemorySegment in, MemorySegment out, DType type, long countPerRank);

    void allToAllV(MemorySegment in, long[] sendCounts, MemorySegment out, long[] recvCounts, DType type);

    void send(MemorySegment buf, DType type, long count, int dst);

    void recv(MemorySegment buf, DType type, long count, int src);

    void barrier();

    /** Closing the world group closes this rank's links; closing a subgroup frees only its buffers. */
    @Override
    void close();
}
