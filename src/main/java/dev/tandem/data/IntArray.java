package dev.tandem.data;

import java.util.Arrays;

/** A growable int list without boxing. */
final class IntArray {
    private int[] data;
    private int size;

    IntArray(int capacity) {
        data = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == data.length) data = Arrays.copyOf(data, data.length * 2);
        data[size++] = v;
    }

    int size() {
        return size;
    }

    int get(int i) {
        return data[i];
    }

    int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
