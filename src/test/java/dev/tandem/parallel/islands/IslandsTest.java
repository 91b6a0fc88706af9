package dev.tandem.parallel.islands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.optim.ParamSlice;
import dev.tandem.plan.IslandLink;
import dev.tandem.plan.OuterSpec;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Synchronous data parallelism across islands (the peer of DiLoCo and NoLoCo in {@code bench
 * lowcomm}) pays the same slow link: its gradient all-reduce goes through the paced channel.
 */
class IslandsTest {
    @Test
    void syncAveragesTheGradientsOverTheSlowLinkAndPaysIt() {
        int n = 25_000; // 100 kB of gradients: a ring of two islands sends two halves, one after the other
        IslandLink link = new IslandLink(16e6, 0.02); // 2 MB/s, 20 ms
        OuterSpec spec = OuterSpec.NONE.withAlgorithm(OuterSpec.Algorithm.SYNC).withLink(link);
        float[][] grads = new float[2][];
        long[] start = new long[2], end = new long[2], sent = new long[2];
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            try (Tensor value = Tensor.allocate(DType.F32, MemoryCategory.PARAMETERS, n);
                 Tensor grad = Tensor.allocate(DType.F32, MemoryCategory.GRADIENTS, n);
                 Islands islands = new Islands(spec, g)) {
                for (int i = 0; i < n; i++) grad.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, (g.rank() + 1) * i);
                g.barrier();
                start[g.rank()] = System.nanoTime();
                islands.afterBackward(List.of(new ParamSlice("w", new int[] {n}, true, 0, n, value.data(), grad.data())));
                end[g.rank()] = System.nanoTime();
                sent[g.rank()] = islands.takeBytesSent();
                grads[g.rank()] = grad.data().toArray(ValueLayout.JAVA_FLOAT);
            }
        });
        for (int i = 0; i < n; i++) {
            assertThat(grads[0][i]).isEqualTo(1.5f * i);
            assertThat(grads[1][i]).isEqualTo(grads[0][i]);
        }
        // Each half waits for its delivery before the next leaves: at least the bytes over the bandwidth plus two latencies.
        double bound = n * 4 / link.bytesPerSecond() + 2 * link.latencySeconds();
        for (int r = 0; r < 2; r++) {
            assertThat(sent[r]).isEqualTo(n * 4L);
            assertThat((end[r] - start[0]) / 1e9).as("rank %d", r).isGreaterThanOrEqualTo(bound);
        }
    }
}
