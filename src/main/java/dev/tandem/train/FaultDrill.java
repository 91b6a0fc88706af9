package dev.tandem.train;

import dev.tandem.TandemException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A fault injected on purpose, to exercise detection (the chaos drill, docs/FAULTS.md): the rank in
 * one place computes {@code slowdown} times slower than it would, as a rank on a throttled
 * processor does. Set with {@code TANDEM_DRILL_SLOW=<place>:<slowdown>} in the environment of the
 * job's ranks. A place is where a rank of the job's first attempt ran (its rank then); the launcher
 * names each rank's place in {@code TANDEM_PLACES} ({@link dev.tandem.launch.RestartLoop}), so after
 * an elastic restart left the slow place out, no rank is slow any more, as on a cluster that left
 * the slow node out.
 *
 * <p>Before each step's work the slow rank computes, on its training thread, for {@code slowdown - 1}
 * times its previous step's time outside collectives (this extra work not counted), so it reaches
 * the step's collectives late by as much as slower compute would make it; its communication is
 * not slowed. It works rather than sleeps: on cores shared with other ranks a sleeping rank would
 * hand its time to them, and come out no slower than they.
 *
 * @param rank     the world rank to slow (the one in the slow place), or -1 for none
 * @param slowdown how many times slower that rank computes (> 1)
 */
public record FaultDrill(int rank, double slowdown) {
    public static final FaultDrill NONE = new FaultDrill(-1, 1);

    /** The drill of {@code env}: {@link #NONE} unless TANDEM_DRILL_SLOW is set; a bad value is an error naming it. */
    public static FaultDrill fromEnvironment(Map<String, String> env) {
        String v = env.get("TANDEM_DRILL_SLOW");
        if (v == null || v.isBlank()) return NONE;
        String[] parts = v.trim().split(":");
        try {
            if (parts.length == 2) {
                int place = Integer.parseInt(parts[0]);
                double slowdown = Double.parseDouble(parts[1]);
                if (place >= 0 && slowdown > 1 && Double.isFinite(slowdown)) return new FaultDrill(rankIn(place, env), slowdown);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TandemException("TANDEM_DRILL_SLOW=" + v + " must be <place>:<slowdown>, a place (a rank of the job's first attempt) "
                + ">= 0 and a slowdown > 1 (e.g. 1:1.5)");
    }

    /** The world rank running in {@code place} now, by {@code TANDEM_PLACES} (absent: place = rank), or -1 when it was left out. */
    private static int rankIn(int place, Map<String, String> env) {
        String places = env.get("TANDEM_PLACES");
        if (places == null || places.isBlank()) return place;
        List<String> list = Arrays.asList(places.trim().split(","));
        return list.indexOf(Integer.toString(place));
    }

    boolean slows(int worldRank) {
        return worldRank == rank;
    }

    /**
     * The extra work for a rank that computes {@code slowdown} times slower: the training thread
     * computes for (slowdown − 1) × the last step's time outside collectives, counted in its own
     * CPU time — work, not sleep, so that ranks sharing cores with it are not handed the time it
     * loses. Returns the wall nanoseconds it took.
     */
    long work(double lastBusyMs) {
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        long t = System.nanoTime();
        long until = cpu.getCurrentThreadCpuTime() + (long) ((slowdown - 1) * lastBusyMs * 1e6);
        double x = 0;
        while (cpu.getCurrentThreadCpuTime() < until) {
            for (int i = 1; i < 20_000; i++) x += Math.sqrt(i);
        }
        if (x < 0) System.out.println(x); // keeps the loop from being optimised away; never true
        return System.nanoTime() - t;
    }
}
