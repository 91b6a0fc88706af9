package dev.tandem.comm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Collection;

/**
 * Which CPUs a rank may run on, and how many the job's ranks on one host share between them, so a
 * rank can tell whether its host is oversubscribed ({@link WaitPolicy}). A rank's own CPU count is
 * not enough: a rank bound to one core of two ({@code launch.CoreBinding}, or srun --cpu-bind)
 * sees one CPU yet shares the host with only one other rank. The union of the ranks' CPU lists is
 * what they share.
 *
 * <p>Lists use the kernel's format ({@code 0-3,8,10-11}). The calling thread's list comes from
 * /proc/thread-self/status, so it reflects a binding made earlier in this process; elsewhere it
 * falls back to all of {@link Runtime#availableProcessors()}.
 */
final class HostCpus {
    private HostCpus() {}

    /** The CPUs the calling thread may run on, as a kernel CPU list. */
    static String allowedList() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc is hidden: fall through
        }
        return "0-" + (Runtime.getRuntime().availableProcessors() - 1);
    }

    /** Whether {@code ranks} ranks on one host, allowed the given CPU lists, outnumber the CPUs they share. */
    static boolean outnumbered(int ranks, Collection<String> lists) {
        return ranks > union(lists);
    }

    /** How many distinct CPUs the given lists cover together. */
    static int union(Collection<String> lists) {
        BitSet all = new BitSet();
        for (String list : lists) all.or(parse(list));
        return all.cardinality();
    }

    static BitSet parse(String list) {
        BitSet cpus = new BitSet();
        for (String part : list.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) continue;
            try {
                int dash = p.indexOf('-');
                int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
                int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1));
                if (from < 0 || to < from) throw new NumberFormatException();
                cpus.set(from, to + 1);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a CPU list: '" + list + "' (expected e.g. 0-3,8)");
            }
        }
        return cpus;
    }
}
