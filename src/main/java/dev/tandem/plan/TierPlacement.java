package dev.tandem.plan;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Where each tensor of a rank lives when the fast tier has a byte budget, by its access pattern
 * and size, the placement idea of the CXL fine-tuning paper (Liaw et al.) in its simplest form:
 *
 * <ul>
 *   <li><b>hot</b> (touched every micro-batch: parameters, gradients, activations): always in the
 *       fast tier; they do not fit, nothing runs.</li>
 *   <li><b>warm</b> (touched once per step: optimizer state): in the fast tier while it has room,
 *       smallest first (a small tensor moved on its own pays the tier's per-access latency for
 *       few bytes), the rest in the slow tier, updated with interleaving through {@code staging}
 *       bytes of fast buffers.</li>
 *   <li><b>cold</b> (touched at checkpoints): never copied into the fast tier; checkpoints read
 *       each tensor where it lives.</li>
 * </ul>
 *
 * The runtime places a rank's state with it before training, and the planner's memory check for a
 * budget uses it too, so both answer "does it fit, and what goes where" the same way.
 *
 * @param resident per warm tensor, whether it stays in the fast tier
 * @param fastBytes bytes in the fast tier: hot, resident warm, and staging when anything is offloaded
 * @param slowBytes warm bytes in the slow tier
 */
public record TierPlacement(boolean[] resident, long fastBytes, long slowBytes) {

    /**
     * Places {@code warm} tensors (bytes each) next to the {@code hot} ones (bytes by what they are,
     * e.g. "parameters") within {@code budget} bytes of fast tier (≤ 0: no budget, all fast).
     *
     * @param offload whether warm tensors may go to the slow tier (the plan's offload=optimizer)
     * @param staging fast bytes the slow tier's updates need (prefetch, write-back and bounce buffers)
     * @throws PlanInputException before training, naming what does not fit and the smallest budget that would
     */
    public static TierPlacement place(long budget, Map<String, Long> hot, long[] warm, long staging, boolean offload) {
        long hotBytes = hot.values().stream().mapToLong(Long::longValue).sum();
        long warmBytes = Arrays.stream(warm).sum();
        boolean[] resident = new boolean[warm.length];
        if (budget <= 0 || hotBytes + warmBytes <= budget) {
            Arrays.fill(resident, true);
            return new TierPlacement(resident, hotBytes + warmBytes, 0);
        }
        String hotList = hot.entrySet().stream().map(e -> e.getKey() + " " + mib(e.getValue())).collect(Collectors.joining(", "));
        if (!offload) {
            throw new PlanInputException(String.format(Locale.ROOT, "memory.budget %s is too small: %s and optimizer state %s must all be "
                    + "in the fast tier without offload; the smallest budget that fits is %s, or set parallel.offload = optimizer "
                    + "(then the smallest is %s)", mib(budget), hotList, mib(warmBytes), mibUp(hotBytes + warmBytes),
                    mibUp(hotBytes + staging)));
        }
        if (hotBytes + staging > budget) {
            throw new PlanInputException(String.format(Locale.ROOT, "memory.budget %s is too small even with the optimizer state "
                    + "offloaded: what every micro-batch touches (%s) plus %s of staging buffers for the offloaded state must be in "
                    + "the fast tier; the smallest budget that fits is %s (or lower data.batch_size, use parallel.recompute = full, "
                    + "or shard with parallel.zero / tp / pp over more ranks)", mib(budget), hotList, mib(staging),
                    mibUp(hotBytes + staging)));
        }
        long room = budget - hotBytes - staging, fast = hotBytes + staging, slow = 0;
        Integer[] bySize = IntStream.range(0, warm.length).boxed().sorted(Comparator.comparingLong(i -> warm[i])).toArray(Integer[]::new);
        for (int i : bySize) {
            if (warm[i] <= room) {
                resident[i] = true;
                room -= warm[i];
                fast += warm[i];
            } else {
                slow += warm[i];
            }
        }
        return new TierPlacement(resident, fast, slow);
    }

    /** A budget to suggest: rounded up, so that the number shown fits. */
    private static String mibUp(double bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", Math.ceil(bytes / 104857.6) / 10);
    }

    private static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
