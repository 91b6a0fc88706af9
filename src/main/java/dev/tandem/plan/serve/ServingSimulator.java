package dev.tandem.plan.serve;

import dev.tandem.plan.ClusterSpec;
import dev.tandem.plan.ModelSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Serves a trace with a plan: requests go to the dp replicas in turn (round robin in arrival
 * order), each replica batches iteration by iteration ({@link ReplicaSimulator}) with a KV cache
 * of what its devices' memory holds beyond the weights and the runtime's reserve.
 */
public final class ServingSimulator {
    private ServingSimulator() {}

    public static ServingResult run(ModelSpec model, ClusterSpec cluster, ServingPlan plan, List<ServeRequest> trace) {
        IterationCost cost = new IterationCost(model, cluster, plan.tp(), plan.pp());
        var mem = cluster.hardware().memory();
        double free = mem.bytes() - mem.reservedBytes() - cost.weightBytesPerDevice();
        if (free <= 0) return ServingResult.doesNotFit(plan);
        double kvTokens = Math.floor(free * plan.tp() * plan.pp() / cost.kvBytesPerToken());
        List<List<ServeRequest>> shares = new ArrayList<>();
        for (int i = 0; i < plan.dp(); i++) shares.add(new ArrayList<>());
        for (int i = 0; i < trace.size(); i++) shares.get(i % plan.dp()).add(trace.get(i));
        List<ReplicaSimulator.Log> logs = new ArrayList<>();
        for (List<ServeRequest> share : shares) if (!share.isEmpty()) logs.add(ReplicaSimulator.run(share, cost, kvTokens));
        return ServingResult.of(plan, kvTokens, logs);
    }
}
