package dev.tandem.data;

import java.util.Arrays;

/**
 * An open-addressing map from a token pair (two non-negative ints packed in a long) to an int.
 * BPE looks pairs up in its innermost loops; a boxed {@code HashMap<Long, Integer>} would allocate
 * on every lookup.
 */
final class PairMap {
    private static final long EMPTY = -1L;

    private long[] keys;
    private int[] values;
    private int size;

    PairMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(keys, EMPTY);
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    static int left(long key) {
        return (int) (key >>> 32);
    }

    static int right(long key) {
        return (int) key;
    }

    int size() {
        return size;
    }

    /** The value for the pair, or {@code missing}. */
    int get(int left, int right, int missing) {
        long k = key(left, right);
        int mask = keys.length - 1;
        for (int i = slot(k, mask); ; i = (i + 1) & mask) {
            long probe = keys[i];
            if (probe == k) return values[i];
            if (probe == EMPTY) return missing;
        }
    }

    void put(int left, int right, int value) {
        if ((size + 1) * 2 > keys.length) grow();
        long k = key(left, right);
        int mask = keys.length - 1;
        for (int i = slot(k, mask); ; i = (i + 1) & mask) {
            if (keys[i] == k) {
                values[i] = value;
                return;
            }
            if (keys[i] == EMPTY) {
                keys[i] = k;
                values[i] = value;
                size++;
                return;
            }
        }
    }

    private static int slot(long k, int mask) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) put(left(oldKeys[i]), right(oldKeys[i]), oldValues[i]);
        }
    }
}
