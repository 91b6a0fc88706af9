package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The turn file of {@code bench comm}: one side at a time, alternating who goes first, until both stop. */
class BenchTurnsTest {
    @Test
    void sidesRunOneTurnAtATimeAndASideThatStopsIsSkipped() throws Exception {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Path file;
        try (BenchTurns turns = BenchTurns.create(); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            file = turns.path();
            Future<?> tandem = pool.submit(() -> side(turns.spec(BenchTurns.TANDEM), "T", 4, log));
            Future<?> mpi = pool.submit(() -> side(turns.spec(BenchTurns.MPI), "M", 2, log)); // stops after 2 turns
            turns.alternate(() -> !tandem.isDone(), () -> !mpi.isDone());
            tandem.get();
            mpi.get();
        }
        // Each turn starts only after the previous one ended; odd turns go to Open MPI first.
        assertThat(log).containsExactly("T0<", "T0>", "M0<", "M0>", "M1<", "M1>", "T1<", "T1>", "T2<", "T2>", "T3<", "T3>");
        assertThat(Files.exists(file)).as("the driver deletes its file").isFalse();
    }

    private static void side(String spec, String name, int turns, List<String> log) {
        try (BenchTurns.Seat seat = BenchTurns.join(spec)) {
            for (int t = 0; t < turns; t++) {
                seat.await(t);
                log.add(name + t + "<");
                Thread.sleep(3); // long enough that a turn given too early would interleave
                log.add(name + t + ">");
                seat.done(t);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
