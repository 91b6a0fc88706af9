package dev.tandem.train;

import dev.tandem.offload.ByteSize;
import dev.tandem.tensor.MemoryCategory;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The fast tier's measured use against {@code memory.budget}: every category but {@link MemoryCategory#OFFLOADED}. */
final class FastTier {
    private FastTier() {}

    /** The largest fast-tier total of any step (OFFLOADED is RAM standing for a slower tier). */
    static long peak(List<StepMetrics> steps) {
        long most = 0;
        for (StepMetrics m : steps) {
            long sum = 0;
            for (var e : m.memoryBytes().entrySet()) if (e.getKey() != MemoryCategory.OFFLOADED) sum += e.getValue();
            most = Math.max(most, sum);
        }
        return most;
    }

    /**
     * The budget was checked before training against the planner's activations; a warning when
     * the first step's measured fast-tier peak went over it (the prediction was low), with the
     * numbers; empty within the budget or without one (0).
     */
    static Optional<String> overBudget(StepMetrics first, long budget) {
        long used = peak(List.of(first));
        if (budget == 0 || used <= budget) return Optional.empty();
        return Optional.of(String.format(Locale.ROOT, "warning: the fast tier peaked at %s in step 1, %s over memory.budget %s "
                        + "(activations measured %s; the check before training used the planner's prediction): raise "
                        + "memory.budget by that much to stay within it", ByteSize.format(used), ByteSize.format(used - budget),
                ByteSize.format(budget), ByteSize.format(first.memoryBytes().get(MemoryCategory.ACTIVATIONS))));
    }
}
