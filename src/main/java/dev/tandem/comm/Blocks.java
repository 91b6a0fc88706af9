package dev.tandem.comm;

/** Splits {@code count} elements into {@code n} contiguous blocks whose sizes differ by at most one. */
final class Blocks {
    private Blocks() {}

    /** Element offset of block {@code i} (i may be n: the end). */
    static long offset(long count, int n, int i) {
        long base = count / n, extra = count % n;
        return i * base + Math.min(i, extra);
    }

    static long length(long count, int n, int i) {
        return count / n + (i < count % n ? 1 : 0);
    }

    static int mod(int a, int n) {
        return ((a % n) + n) % n;
    }
}
