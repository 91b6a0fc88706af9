package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The optimizer benchmark end to end on a toy budget: it runs, and writes its table, CSV and plot. */
class OptimBenchCommandTest {
    @TempDir Path tmp;

    @Test
    void writesTableCurvesAndPlot() throws Exception {
        int rc = Main.execute("bench", "optim", "--optimizers", "adamw,adamw8bit", "--steps", "4", "--model", "1,1,16,16",
                "--batch-size", "2", "--eval-every", "2", "--eval-windows", "2", "--out", tmp.toString());
        assertThat(rc).isZero();
        String table = Files.readString(tmp.resolve("optim-bench.md"));
        assertThat(table).contains("| adamw |", "| adamw8bit |", "Target validation loss", "Check: 8-bit AdamW state");
        assertThat(Files.readAllLines(tmp.resolve("optim-curves.csv"))).hasSize(1 + 2 * 3 * 3);
        assertThat(Files.size(tmp.resolve("optim-loss.png"))).isPositive();
    }
}
