package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.CommOptions;
import dev.tandem.comm.LocalWorld;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The rank side of {@code bench comm}. */
class CommBenchWorkerTest {
    /**
     * Rank 0 writes its TRIAL and RESULT lines only once the last trial is done: code that runs
     * for the first time between trials gets compiled while later trials run, on the cores they
     * are timed on.
     */
    @Test
    void printsNothingUntilTheLastTrialIsDone() throws Exception {
        AtomicInteger turnsDoneAtFirstWrite = new AtomicInteger(-1);
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (BenchTurns turns = BenchTurns.create(); ExecutorService pool = Executors.newSingleThreadExecutor()) {
            OutputStream watched = new OutputStream() {
                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    turnsDoneAtFirstWrite.compareAndSet(-1, tandemTurnsDone(turns.path()));
                    text.write(b, off, len);
                }
            };
            PrintStream out = new PrintStream(watched, true, StandardCharsets.UTF_8);
            Future<?> ranks = pool.submit(() -> LocalWorld.run(2, CommOptions.fromEnvironment(java.util.Map.of()), g -> {
                try (BenchTurns.Seat seat = BenchTurns.join(turns.spec(BenchTurns.TANDEM))) {
                    CommBenchWorker.run(g, List.of("all_reduce", "all_gather"), 1024, 4096, seat, out);
                }
            }));
            turns.alternate(() -> !ranks.isDone(), () -> false);
            ranks.get();
        }
        int cells = 2 * 2; // two operations at 1 KiB and 4 KiB
        assertThat(turnsDoneAtFirstWrite.get()).as("turns done when rank 0 first wrote").isEqualTo(1 + cells * CommBenchWorker.TRIALS);
        List<String> lines = text.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).filteredOn(l -> l.startsWith("TRIAL ")).hasSize(cells * CommBenchWorker.TRIALS);
        assertThat(lines).filteredOn(l -> l.startsWith("RESULT ")).extracting(l -> l.split(" ")[1] + " " + l.split(" ")[2])
                .containsExactly("all_reduce 1024", "all_reduce 4096", "all_gather 1024", "all_gather 4096");
    }

    /** Turns the Tandem side has marked done, as the turn file holds them (side 0's second int). */
    private static int tandemTurnsDone(Path file) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.nativeOrder()).getInt(4);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
