package dev.tandem.parallel.islands;

import java.util.SplittableRandom;

/**
 * NoLoCo's pairing of islands at an outer step: a random permutation seeded by the step, the same
 * on every rank without any communication, cut into consecutive pairs. Every island is in exactly
 * one pair (the plan requires an even number of islands).
 */
public final class Pairing {
    private Pairing() {}

    /** The islands in the order that pairs them: (order[0], order[1]), (order[2], order[3]), … */
    public static int[] order(int islands, long step) {
        if (islands < 2 || islands % 2 != 0) throw new IllegalArgumentException("pairing needs an even number of islands: " + islands);
        int[] order = new int[islands];
        for (int i = 0; i < islands; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(0x6E6F6C6F636FL ^ step); // "noloco", mixed with the step
        for (int i = islands - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The island that {@code island} averages with after inner step {@code step}. */
    public static int peer(int islands, long step, int island) {
        int[] order = order(islands, step);
        for (int i = 0; i < islands; i++) if (order[i] == island) return order[i ^ 1];
        throw new IllegalArgumentException("island " + island + " is not one of " + islands);
    }
}
