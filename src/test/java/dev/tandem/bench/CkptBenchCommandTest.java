package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench ckpt} from the command line on a toy model: the sync/async table and the in-run pairing. */
class CkptBenchCommandTest {
    @TempDir Path tmp;

    private int run(StringWriter out, StringWriter err, String... args) {
        return Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @Test
    void benchCkptPrintsTheSyncAsyncTable() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true));
        try {
            assertThat(run(out, err, "bench", "ckpt", "--steps", "10", "--every", "10", "--warmup", "1", "--rounds", "1", "--n-layer", "1",
                    "--n-embd", "16", "--batch-size", "2", "--dir", tmp.resolve("bench").toString())).as("%s", err).isZero();
        } finally {
            System.setOut(saved);
        }
        String text = captured.toString();
        // one interval keeps the test short (each row is a training process); the in-run test below takes another
        assertThat(text).contains("blocked ms/save", "bg CPU ms/save", "slowdown", "CPU bound", "every 10 steps: async blocks");
        assertThat(text.lines().filter(l -> l.startsWith("sync ") || l.startsWith("async ") || l.startsWith("control "))).hasSize(3);
        // the async rows report the CPU their background threads used; sync saves have none
        assertThat(text.lines().filter(l -> l.startsWith("async ")).map(l -> Double.parseDouble(l.trim().split("\\s+")[5])))
                .allSatisfy(ms -> assertThat(ms).isPositive());
        assertThat(text.lines().filter(l -> l.startsWith("sync ")).map(l -> Double.parseDouble(l.trim().split("\\s+")[5])))
                .allSatisfy(ms -> assertThat(ms).isZero());
    }

    @Test
    void benchCkptInRunPairsTheStepsAroundEachSave() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true));
        try {
            // 14 steps, step 0 is warm-up, cycles of 4 steps from step 1: saves after steps 1, 7 and 11 (0-based), then the last
            assertThat(run(out, err, "bench", "ckpt", "--in-run", "--every", "2", "--steps", "13", "--warmup", "1", "--rounds", "1",
                    "--n-layer", "1", "--n-embd", "16", "--batch-size", "2", "--dir", tmp.resolve("bench-in-run").toString()))
                    .as("%s", err).isZero();
        } finally {
            System.setOut(saved);
        }
        String text = captured.toString();
        assertThat(text).contains("save block ms", "pair median", "noise floor");
        for (String mode : new String[] {"none", "sync", "async"}) {
            assertThat(text.lines().filter(l -> l.startsWith(mode + " ")).map(l -> l.trim().split("\\s+")))
                    .singleElement().satisfies(row -> {
                        assertThat(row[1]).isEqualTo("2");
                        assertThat(row[2]).isEqualTo("3");
                    });
        }
        assertThat(run(new StringWriter(), err, "bench", "ckpt", "--in-run", "--every", "1")).isNotZero();
        assertThat(err.toString()).contains("--in-run needs intervals >= 2");
    }
}
