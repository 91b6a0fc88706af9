package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/**
 * The channel between islands (ranks as threads here; the training tests run them as processes):
 * the ring mean is exact and bitwise the same on every island, every payload byte is counted, and
 * the paced link is never faster than its bandwidth and latency allow.
 */
class IslandChannelTest {

    private static float value(int rank, long i) {
        return (float) Math.sin(rank * 7.3 + i * 0.37) * (1 + rank);
    }

    @Test
    void ringMeanIsTheMeanOnEveryIslandAndCountsItsBytes() {
        for (int k : new int[] {2, 3, 4}) {
            long count = 1000 * k + 1; // chunks of unequal size
            AtomicLongArray bytes = new AtomicLongArray(k);
            float[][] results = new float[k][];
            LocalWorld.run(k, CommOptions.defaults(), g -> {
                try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled());
                     Tensor t = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.COMMUNICATION, (int) count)) {
                    for (long i = 0; i < count; i++) t.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, value(g.rank(), i));
                    ch.allReduceMean(t.data(), count);
                    results[g.rank()] = t.data().toArray(ValueLayout.JAVA_FLOAT);
                    bytes.set(g.rank(), ch.bytesSent());
                }
            });
            for (int r = 1; r < k; r++) assertThat(results[r]).as("k=%d rank %d", k, r).isEqualTo(results[0]);
            for (long i = 0; i < count; i++) {
                double sum = 0;
                for (int r = 0; r < k; r++) sum += value(r, i);
                assertThat((double) results[0][(int) i]).isCloseTo(sum / k, org.assertj.core.data.Offset.offset(1e-5));
            }
            long total = 0;
            for (int r = 0; r < k; r++) total += bytes.get(r);
            // Reduce-scatter and all-gather each move every chunk but one from each rank: 2·(k−1)/k of the buffer per rank.
            assertThat(total).as("k=%d", k).isEqualTo(2L * (k - 1) * count * 4);
            if (k == 2) assertThat(bytes.get(0)).isEqualTo(count * 4);
        }
    }

    @Test
    void twoIslandsGetExactlyTheirMean() {
        float[][] out = new float[2][];
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            try (IslandChannel ch = new IslandChannel(g, PacedLink.unthrottled());
                 Tensor t = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.COMMUNICATION, 64)) {
                for (long i = 0; i < 64; i++) t.data().setAtIndex(ValueLayout.JAVA_FLOAT, i, value(g.rank(), i));
                ch.allReduceMean(t.data(), 64);
                out[g.rank()] = t.data().toArray(ValueLayout.JAVA_FLOAT);
            }
        });
        for (int i = 0; i < 64; i++) assertThat(out[0][i]).isEqualTo((value(0, i) + value(1, i)) / 2);
    }

    @Test
    void aThrottledTransferTakesAtLeastItsBytesOverTheBandwidthPlusTheLatency() {
        double bytesPerSecond = 2e6, latency = 0.02;
        long count = 25_000; // 100 kB: 50 ms on the wire, plus 20 ms
        long[] start = new long[2], end = new long[2], sent = new long[2];
        LocalWorld.run(2, CommOptions.defaults(), g -> {
            try (IslandChannel ch = new IslandChannel(g, new PacedLink(bytesPerSecond, latency));
                 Tensor mine = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.COMMUNICATION, (int) count);
                 Tensor theirs = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.COMMUNICATION, (int) count)) {
                g.barrier();
                start[g.rank()] = System.nanoTime();
                ch.exchange(1 - g.rank(), mine.data(), theirs.data(), count);
                end[g.rank()] = System.nanoTime();
                sent[g.rank()] = ch.bytesSent();
            }
        });
        // From the moment the sender started (ranks are threads here: one clock) to the moment the
        // receiver may use the message: never less than the bytes over the bandwidth plus the latency.
        double bound = count * 4 / bytesPerSecond + latency;
        for (int r = 0; r < 2; r++) {
            assertThat(sent[r]).isEqualTo(count * 4);
            assertThat((end[1 - r] - start[r]) / 1e9).as("rank %d to rank %d", r, 1 - r).isGreaterThanOrEqualTo(bound);
        }
    }

    @Test
    void messagesQueueBehindEachOtherOnThePacedLink() {
        PacedLink link = new PacedLink(1e6, 0.005);
        long first = link.send(10_000), second = link.send(10_000);
        // The second message starts when the first has left: 10 ms later, not at the same time.
        assertThat(second - first).isGreaterThanOrEqualTo(10_000_000L);
    }
}
