package dev.tandem.plan;

import java.util.List;
import java.util.Map;

/**
 * Outcome of a search: feasible plans fastest first, how many were looked at, and why the rest
 * were rejected (reason category → count, with one example each), in the search space it covered.
 */
public record SearchResult(ModelSpec model, ClusterSpec cluster, int globalBatch, PlanSearch.Space space, List<Prediction> ranked,
                           long evaluated, Map<String, Long> rejectedByReason, Map<String, Rejection> rejectedExample,
                           double searchSeconds) {

    public Prediction best() {
        if (ranked.isEmpty()) throw new PlanInputException(noPlanMessage());
        return ranked.getFirst();
    }

    public long rejected() {
        return rejectedByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    String noPlanMessage() {
        StringBuilder sb = new StringBuilder("no plan fits " + model.name() + " on " + cluster + " with global batch " + globalBatch);
        rejectedExample.values().stream().findFirst()
                .ifPresent(r -> sb.append(" (closest: ").append(r.plan().label()).append(": ").append(r.reason()).append(')'));
        return sb.toString();
    }
}
