package dev.tandem.comm;

import java.lang.foreign.MemorySegment;

/**
 * An all-gather through a {@link Board}, as one {@link Transfer}: in round k every rank writes
 * piece k of its block into its slot and copies piece k of every peer's block out of theirs.
 * Blocks longer than a slot take several rounds; two slots per rank let a rank write round k + 1
 * while slower peers still read round k. A rank's block is copied once into the board and once
 * out by each peer, n copies in all, where the ring copies every block in and out at each of its
 * n − 1 hops.
 */
final class BoardGather implements Transfer {
    private final Board board;
    private final int rank;
    private final int[] worldRanks;
    private final MemorySegment mine;
    private final MemorySegment[] into;
    private final MessageHeader sign;
    private final MessageHeader[] expected;
    private final int rounds;
    private final long base; // the board's round count when this gather began (the same on every rank)
    private final boolean[] got;
    private int written, reading, missing;

    /**
     * @param mine what this rank contributes
     * @param into where each rank's block goes, by group rank ({@code into[rank]} is not written);
     *             every rank passes the same sizes
     */
    BoardGather(Op op, Board board, MemorySegment mine, MemorySegment[] into) {
        this.board = board;
        this.rank = op.rank();
        this.mine = mine;
        this.into = into;
        int n = op.size();
        this.worldRanks = new int[n];
        long largest = 0;
        for (int p = 0; p < n; p++) {
            worldRanks[p] = op.worldRank(p);
            largest = Math.max(largest, into[p].byteSize());
        }
        // Each slot's header carries its writer's block size: a rank whose sizes differ from its
        // peers' (another collective, or other counts) is told so in the first round.
        this.sign = op.header(mine.byteSize());
        this.expected = new MessageHeader[n];
        for (int p = 0; p < n; p++) expected[p] = op.expectedFrom(p, into[p].byteSize());
        this.rounds = (int) Math.max(1, (largest + board.chunk() - 1) / board.chunk());
        this.base = board.published(rank);
        this.got = new boolean[n];
        startRound();
    }

    @Override
    public boolean progress() {
        boolean moved = false;
        while (written < rounds && everyPeerConsumed(base + written - 2)) {
            write(written++);
            moved = true;
        }
        while (reading < rounds) {
            long round = base + reading;
            for (int i = 1; i < got.length; i++) {
                int p = (rank + i) % got.length; // peers in a different order on each rank, so no slot has them all at once
                if (got[p]) continue;
                if (board.published(p) <= round) {
                    if (board.closed(p)) throw new LinkClosedException(worldRanks[p], "it closed its process group");
                    continue;
                }
                MessageHeader actual = MessageHeader.read(board.header(p, round));
                expected[p].check(actual);
                MemorySegment piece = piece(into[p], reading);
                MemorySegment.copy(board.data(p, round), 0, piece, 0, piece.byteSize());
                got[p] = true;
                missing--;
                moved = true;
            }
            if (missing > 0) break;
            board.consume(rank, round + 1);
            reading++;
            startRound();
        }
        return moved;
    }

    private void startRound() {
        java.util.Arrays.fill(got, false);
        got[rank] = true;
        missing = got.length - 1;
    }

    /** Round {@code k}'s piece of {@code block}: bytes [k·chunk, (k+1)·chunk), cut at its end (possibly empty). */
    private MemorySegment piece(MemorySegment block, int k) {
        long from = Math.min(block.byteSize(), k * board.chunk());
        return block.asSlice(from, Math.min(board.chunk(), block.byteSize() - from));
    }

    private void write(int k) {
        long round = base + k;
        MemorySegment piece = piece(mine, k);
        MemorySegment.copy(piece, 0, board.data(rank, round), 0, piece.byteSize());
        sign.write(board.header(rank, round));
        board.publish(rank, round + 1);
    }

    /** Whether every peer has copied out round {@code round}, whose slot round + 2 reuses (true for rounds before the first). */
    private boolean everyPeerConsumed(long round) {
        return laggard(round) < 0;
    }

    /** A peer that has not consumed {@code round} yet, or −1. */
    private int laggard(long round) {
        if (round < 0) return -1;
        for (int p = 0; p < got.length; p++) {
            if (p == rank || board.consumed(p) > round) continue;
            if (board.closed(p)) throw new LinkClosedException(worldRanks[p], "it closed its process group");
            return p;
        }
        return -1;
    }

    @Override
    public boolean done() {
        return written == rounds && reading == rounds;
    }

    /** The peer this rank waits for: one whose piece has not arrived, else one that has not freed a slot. */
    @Override
    public int peer() {
        if (reading < rounds) {
            for (int i = 1; i < got.length; i++) {
                int p = (rank + i) % got.length;
                if (!got[p]) return worldRanks[p];
            }
        }
        int p = laggard(base + written - 2);
        return worldRanks[p < 0 ? rank : p];
    }

    /**
     * The peers this rank still needs: those that have not written every piece it has yet to read,
     * and those that have not read the pieces whose slots its remaining writes reuse. A peer that
     * has done its part may leave (end its job) without failing this gather.
     */
    @Override
    public int[] dependsOn() {
        long end = base + rounds;
        return java.util.stream.IntStream.range(0, got.length)
                .filter(p -> p != rank && ((reading < rounds && board.published(p) < end) || (written < rounds && board.consumed(p) < end - 2)))
                .map(p -> worldRanks[p]).toArray();
    }

    @Override
    public String describe() {
        return "shared board: wrote " + written + " and read " + reading + " of " + rounds + " rounds, waiting for rank " + peer();
    }
}
