package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.WorkerPool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two ranks as threads in one JVM count their memory apart: each allocates a different amount on
 * its own thread, on its worker pool's threads and on its checkpoint writer's thread, and each sees
 * exactly its own bytes, while the process's accounting sees both.
 */
@org.junit.jupiter.api.extension.ExtendWith(NoLeaks.class)
class RankMemoryTest {
    private static final long UNIT = 1 << 16;

    @TempDir Path root;

    @Test
    void ranksAsThreadsEachSeeTheirOwnBytes() {
        MemoryAccounting process = MemoryAccounting.process();
        long baseParams = process.live(MemoryCategory.PARAMETERS), baseActs = process.live(MemoryCategory.ACTIVATIONS);
        long baseComm = process.live(MemoryCategory.COMMUNICATION);
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        LocalWorld.run(2, CommOptions.defaults(), world -> {
            int r = world.rank();
            long mine = (r + 1) * UNIT;
            MemoryAccounting memory = MemoryAccounting.current();
            assertThat(memory).isNotSameAs(process);
            assertThat(memory.name()).isEqualTo("rank " + r);
            List<OffHeap> held = Collections.synchronizedList(new ArrayList<>());
            List<String> workerThreads = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch persisted = new CountDownLatch(1);
            // The persist thread allocates too (what a writer that stages bytes would do), and reports when the file is done.
            CrashPoint writer = where -> {
                if (where.equals("shard:open")) held.add(OffHeap.allocate(mine, MemoryCategory.COMMUNICATION));
                if (where.equals("shard:renamed")) persisted.countDown();
            };
            try (OffHeap own = OffHeap.allocate(mine, MemoryCategory.PARAMETERS);
                 WorkerPool pool = new WorkerPool(2);
                 Checkpointer ckpt = new Checkpointer(CkptTestSupport.options(root.resolve("rank" + r), 1, 2, true),
                         List.of(piece(own)), s -> { }, writer)) {
                pool.parallelFor(2, 1, (a, b) -> {
                    workerThreads.add(Thread.currentThread().getName());
                    held.add(OffHeap.allocate(mine, MemoryCategory.ACTIVATIONS));
                });
                ckpt.save(1, null, null);
                assertThat(persisted.await(30, TimeUnit.SECONDS)).isTrue();
                world.barrier(); // both ranks hold everything now
                assertThat(workerThreads).as("a task ran on a worker thread").anyMatch(n -> n.startsWith("tandem-worker"));
                assertThat(memory.live(MemoryCategory.PARAMETERS)).as("rank %d, its own thread", r).isEqualTo(mine);
                assertThat(memory.live(MemoryCategory.ACTIVATIONS)).as("rank %d, its pool's threads", r).isEqualTo(2 * mine);
                assertThat(memory.live(MemoryCategory.COMMUNICATION)).as("rank %d, its checkpoint writer", r).isEqualTo(mine);
                assertThat(memory.live(MemoryCategory.OTHER)).as("rank %d, its two snapshot buffers", r).isEqualTo(2 * mine);
                assertThat(process.live(MemoryCategory.PARAMETERS) - baseParams).as("the process counts both").isEqualTo(3 * UNIT);
                assertThat(process.live(MemoryCategory.ACTIVATIONS) - baseActs).isEqualTo(6 * UNIT);
                assertThat(process.live(MemoryCategory.COMMUNICATION) - baseComm).isGreaterThanOrEqualTo(3 * UNIT); // and the world's rings
                world.barrier(); // neither frees before both have looked
                held.forEach(OffHeap::close);
            }
            assertThat(memory.liveTotal()).as("rank %d after closing", r).isZero();
            seen.add("rank " + r);
        });
        assertThat(seen).hasSize(2);
        assertThat(process.live(MemoryCategory.PARAMETERS)).isEqualTo(baseParams);
    }

    private static Piece piece(OffHeap bytes) {
        int n = (int) (bytes.byteSize() / 4);
        return new Piece("w", "w", 0, n, null, null, DType.F32, new int[] {n}, bytes.segment(), null);
    }
}
