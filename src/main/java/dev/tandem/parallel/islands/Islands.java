package dev.tandem.parallel.islands;

import dev.tandem.comm.IslandChannel;
import dev.tandem.comm.PacedLink;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.IslandLink;
import dev.tandem.plan.OuterSpec;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * What a rank does between islands, applied from outside like the other strategies: for
 * {@code outer = sync} the gradients are averaged across islands after every backward pass
 * ({@link #afterBackward}); for DiLoCo and NoLoCo the inner optimizer is wrapped by an {@link
 * OuterOptimizer} ({@link #wrap}). Everything the training sends goes through one {@link
 * IslandChannel} over the plan's slow link, which counts the bytes; only the evaluations' numbers
 * ({@link #gatherForMetrics}) do not.
 */
public final class Islands implements AutoCloseable {
    private final OuterSpec spec;
    private final ProcessGroup group;
    private final IslandChannel channel;
    private long reported;

    /** @param group one rank per island: this rank's peers at the same position of every island */
    public Islands(OuterSpec spec, ProcessGroup group) {
        this.spec = spec;
        this.group = group;
        IslandLink l = spec.link();
        this.channel = new IslandChannel(group, l.throttled() ? new PacedLink(l.bytesPerSecond(), l.latencySeconds()) : PacedLink.unthrottled());
    }

    public OuterSpec spec() {
        return spec;
    }

    public IslandChannel channel() {
        return channel;
    }

    /** The optimizer to train with: {@code inner} under DiLoCo or NoLoCo, else {@code inner} itself. */
    public Optimizer wrap(Optimizer inner) {
        return switch (spec.algorithm()) {
            case DILOCO, NOLOCO -> new OuterOptimizer(inner, spec, channel);
            case NONE, SYNC -> inner;
        };
    }

    /** After the island's gradients are final: with {@code outer = sync}, replaces them by their mean over all islands. */
    public void afterBackward(List<ParamSlice> slices) {
        if (spec.algorithm() != OuterSpec.Algorithm.SYNC) return;
        long n = 0;
        for (ParamSlice s : slices) n += s.length();
        try (Tensor packed = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, Math.toIntExact(Math.max(1, n)))) {
            long at = 0;
            for (ParamSlice s : slices) {
                MemorySegment.copy(s.grad(), 0, packed.data(), at * 4, s.length() * 4);
                at += s.length();
            }
            channel.allReduceMean(packed.data(), n);
            at = 0;
            for (ParamSlice s : slices) {
                MemorySegment.copy(packed.data(), at * 4, s.grad(), 0, s.length() * 4);
                at += s.length();
            }
        }
    }

    /**
     * Every island's {@code values} (the same count on each), for the metrics only: row i is island
     * i's. It goes over the group directly, not over the slow link, and is not counted in the bytes
     * across islands: it measures the training, it is not part of it (a deployment would log per
     * island instead). Called at evaluations only, so it adds no synchronisation to the steps.
     */
    public double[][] gatherForMetrics(double... values) {
        int k = group.size(), n = values.length;
        try (Tensor buf = Tensor.allocate(DType.F32, MemoryCategory.COMMUNICATION, k * n)) {
            // One-hot rows summed: each island fills only its own row, so the sum is every row at once.
            for (int j = 0; j < n; j++) buf.data().setAtIndex(ValueLayout.JAVA_FLOAT, (long) group.rank() * n + j, (float) values[j]);
            group.allReduceAsync(buf.data(), DType.F32, (long) k * n, ReduceOp.SUM).await();
            double[][] rows = new double[k][n];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < n; j++) rows[i][j] = buf.data().getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j);
            }
            return rows;
        }
    }

    /** Bytes this rank sent to other islands since the last call. */
    public long takeBytesSent() {
        long now = channel.bytesSent(), d = now - reported;
        reported = now;
        return d;
    }

    @Override
    public void close() {
        channel.close();
    }
}
