package dev.tandem.comm;

import java.lang.foreign.MemorySegment;

/**
 * A copy inside one rank as a {@link Transfer}, one piece per {@link #progress()} call, so it can
 * run interleaved with sends that read the same source: each piece is then still in cache when
 * the second reader comes to it.
 */
final class LocalCopy implements Transfer {
    private static final long PIECE = 64 * 1024;

    private final MemorySegment src;
    private final MemorySegment dst;
    private final int self;
    private long done;

    LocalCopy(MemorySegment src, MemorySegment dst, int selfWorldRank) {
        if (src.byteSize() != dst.byteSize()) throw new IllegalArgumentException(src.byteSize() + " != " + dst.byteSize());
        this.src = src;
        this.dst = dst;
        this.self = selfWorldRank;
    }

    @Override
    public boolean progress() {
        if (done()) return false;
        long n = Math.min(PIECE, src.byteSize() - done);
        MemorySegment.copy(src, done, dst, done, n);
        done += n;
        return true;
    }

    @Override
    public boolean done() {
        return done == src.byteSize();
    }

    @Override
    public int peer() {
        return self;
    }

    @Override
    public String describe() {
        return "local copy: " + done + " of " + src.byteSize() + " bytes";
    }
}
