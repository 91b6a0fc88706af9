package dev.tandem.tensor;

import dev.tandem.TandemException;
import java.util.Map;

/**
 * The settings of a process's compute that are not part of a training config: how many threads a
 * rank's {@link WorkerPool} takes when nothing else says, and whether large buffers are mapped for
 * huge pages ({@link OffHeap}). Read once from the environment, where the command line starts
 * ({@link #fromEnvironment}), and passed on from there.
 *
 * @param threads   compute threads per rank by default (TANDEM_THREADS; default: all available processors)
 * @param hugePages whether buffers of 2 MiB and more are mapped for transparent huge pages
 *                  (TANDEM_HUGE_PAGES=auto, the default; off: the JDK's allocator for everything)
 */
public record ComputeOptions(int threads, boolean hugePages) {
    public ComputeOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    /** All available processors, huge pages where the system has them. */
    public static ComputeOptions defaults() {
        return new ComputeOptions(Runtime.getRuntime().availableProcessors(), true);
    }

    /** The defaults overridden by TANDEM_THREADS and TANDEM_HUGE_PAGES; a bad value is an error that names its variable. */
    public static ComputeOptions fromEnvironment(Map<String, String> env) {
        ComputeOptions d = defaults();
        int threads = d.threads;
        String t = env.get("TANDEM_THREADS");
        if (t != null && !t.isBlank()) {
            try {
                threads = Integer.parseInt(t.trim());
            } catch (NumberFormatException e) {
                threads = 0;
            }
            if (threads < 1) throw new TandemException("TANDEM_THREADS must be a positive integer, got '" + t + "'");
        }
        String h = env.getOrDefault("TANDEM_HUGE_PAGES", "auto").trim();
        if (!h.equalsIgnoreCase("auto") && !h.equalsIgnoreCase("off")) {
            throw new TandemException("TANDEM_HUGE_PAGES=" + h + " must be auto or off");
        }
        return new ComputeOptions(threads, !h.equalsIgnoreCase("off"));
    }
}
