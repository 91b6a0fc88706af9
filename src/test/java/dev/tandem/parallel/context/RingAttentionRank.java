package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.launch.Rendezvous;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;

/** One rank process of {@link RingAttentionProcessTest}: runs {@link RingAttentionCheck} over the whole world as the ring. */
public final class RingAttentionRank {
    private RingAttentionRank() {}

    public static void main(String[] args) {
        try (ProcessGroup world = Rendezvous.fromEnvironment(System.getenv()); WorkerPool pool = new WorkerPool(1)) {
            RingAttentionCheck.run(world, Kernels.fast(pool));
            RingAttentionCheck.run(world, Kernels.reference());
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
