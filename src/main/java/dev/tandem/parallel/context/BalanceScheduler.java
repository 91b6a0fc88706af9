package dev.tandem.parallel.context;

import dev.tandem.TandemException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Assigns a step's sequences to a pool of ranks, three ways: hybrid data/context parallelism
 * (ByteScale: each sequence on as few ranks as hold it, balancing estimated compute), static
 * context parallelism (every sequence on its group of cp ranks), and plain data parallelism with padding.
 * Every rank computes the same schedule from the same lengths, so none is sent.
 */
public final class BalanceScheduler {
    private BalanceScheduler() {}

    /**
     * Hybrid data/context parallelism. A sequence of L tokens takes k = ⌈L/capacity⌉ ranks (one
     * for a short sequence: no context-parallel traffic at all). In order of estimated cost, largest
     * first, each sequence goes to the k least-loaded ranks (longest-processing-time-first list
     * scheduling, which balances compute, not tokens: attention makes cost grow as L²). A rank's
     * short sequences are then packed into micro-batches of at most {@code capacity} tokens, so ranks
     * run different numbers of micro-batches. Ring placements come first in the run order.
     *
     * @param capacity tokens one rank holds at once (its share of the context)
     */
    public static StepSchedule hybrid(int[] lengths, int ranks, int capacity, SequenceCost cost) {
        check(lengths, ranks, capacity);
        double[] load = new double[ranks];
        List<Placement> rings = new ArrayList<>();
        List<List<Integer>> shorts = new ArrayList<>();
        for (int r = 0; r < ranks; r++) shorts.add(new ArrayList<>());
        for (int s : byCostDescending(lengths, cost)) {
            int k = (lengths[s] + capacity - 1) / capacity;
            double c = cost.of(lengths[s]);
            Integer[] idle = IntStream.range(0, ranks).boxed().sorted(Comparator.comparingDouble((Integer r) -> load[r]).thenComparing(r -> r))
                    .toArray(Integer[]::new);
            int[] chosen = Arrays.stream(idle, 0, k).mapToInt(Integer::intValue).sorted().toArray();
            for (int r : chosen) load[r] += c / k;
            if (k == 1) shorts.get(chosen[0]).add(s);
            else rings.add(new Placement(new int[] {s}, chosen, Placement.Layout.RING));
        }
        List<Placement> out = new ArrayList<>(rings);
        for (int r = 0; r < ranks; r++) out.addAll(pack(shorts.get(r), lengths, capacity, r));
        return new StepSchedule(out, ranks);
    }

    /**
     * Static context parallelism: the pool is ranks / cp groups of cp consecutive ranks, sequence
     * i goes to group i mod groups and is split over its cp ranks by ring attention.
     */
    public static StepSchedule staticContext(int[] lengths, int ranks, int cp, int capacity) {
        if (cp < 1 || ranks % cp != 0) throw new TandemException("cp = " + cp + " must divide the " + ranks + " ranks of the pool");
        check(lengths, cp, capacity);
        List<Placement> out = new ArrayList<>();
        for (int s = 0; s < lengths.length; s++) {
            if (lengths[s] < 2 * cp) {
                throw new TandemException("static context parallelism splits every sequence into 2·cp = " + 2 * cp + " chunks, but sequence "
                        + s + " has " + lengths[s] + " tokens: use hybrid balancing, which keeps short sequences on one rank");
            }
            int first = (s % (ranks / cp)) * cp;
            out.add(new Placement(new int[] {s}, IntStream.range(first, first + cp).toArray(), Placement.Layout.RING));
        }
        return new StepSchedule(out, ranks);
    }

    /**
     * Data parallelism with padding: sequence i on rank i mod ranks, in micro-batches of
     * {@code rows} sequences each padded to the longest of its micro-batch (what a fixed-shape
     * batch does with mixed lengths).
     */
    public static StepSchedule padded(int[] lengths, int ranks, int rows) {
        check(lengths, ranks, Integer.MAX_VALUE);
        if (rows < 1) throw new TandemException("rows per micro-batch must be >= 1, got " + rows);
        List<Placement> out = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Integer> mine = new ArrayList<>();
            for (int s = r; s < lengths.length; s += ranks) mine.add(s);
            for (int i = 0; i < mine.size(); i += rows) {
                int[] batch = mine.subList(i, Math.min(mine.size(), i + rows)).stream().mapToInt(Integer::intValue).toArray();
                out.add(new Placement(batch, new int[] {r}, Placement.Layout.PADDED));
            }
        }
        return new StepSchedule(out, ranks);
    }

    private static void check(int[] lengths, int ranks, int capacity) {
        if (ranks < 1) throw new TandemException("the pool needs at least one rank, got " + ranks);
        if (capacity < 1) throw new TandemException("tokens per rank must be >= 1, got " + capacity);
        long most = (long) ranks * capacity;
        for (int s = 0; s < lengths.length; s++) {
            if (lengths[s] < 1) throw new TandemException("sequence " + s + " is empty: drop empty documents before scheduling");
            if (lengths[s] > most) {
                throw new TandemException("sequence " + s + " has " + lengths[s] + " tokens but " + ranks + " ranks of " + capacity
                        + " tokens hold at most " + most + ": cut the document, or use more ranks (cp) or a longer context (block_size)");
            }
        }
    }

    private static List<Integer> byCostDescending(int[] lengths, SequenceCost cost) {
        return IntStream.range(0, lengths.length).boxed()
                .sorted(Comparator.comparingDouble((Integer s) -> -cost.of(lengths[s])).thenComparing(s -> s)).toList();
    }

    /** First-fit packing of one rank's short sequences (longest first) into micro-batches of at most {@code capacity} tokens. */
    private static List<Placement> pack(List<Integer> sequences, int[] lengths, int capacity, int rank) {
        List<List<Integer>> bins = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (int s : sequences) {
            int bin = 0;
            while (bin < bins.size() && used.get(bin) + lengths[s] > capacity) bin++;
            if (bin == bins.size()) {
                bins.add(new ArrayList<>());
                used.add(0);
            }
            bins.get(bin).add(s);
            used.set(bin, used.get(bin) + lengths[s]);
        }
        return bins.stream().map(b -> new Placement(b.stream().mapToInt(Integer::intValue).toArray(), new int[] {rank}, Placement.Layout.PACKED))
                .toList();
    }
}
