package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code bench comm} on a toy budget: ranks as threads, no Open MPI, two runs per rank count. */
class CommBenchCommandTest {
    @Test
    void combinesRepeatedRunsIntoMediansAndTheWidestSpread() {
        List<Map<String, double[]>> runs = List.of(Map.of("all_gather 1024", new double[] {3, 1, 5}),
                Map.of("all_gather 1024", new double[] {2, 0.5, 9}), Map.of());
        assertThat(CommBenchCommand.combined(runs, "all_gather 1024")).containsExactly(2.5, 0.5, 9);
        assertThat(CommBenchCommand.combined(runs, "all_reduce 1024")).isNull();
    }

    @Test
    void repeatedRunsGiveOneTablePerRankCount() {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true));
        int rc;
        try {
            rc = Main.execute("bench", "comm", "--threads", "--no-mpi", "--ranks", "2", "--ops", "all_reduce", "--min-bytes", "1024",
                    "--max-bytes", "4096", "--repeat", "2");
        } finally {
            System.setOut(saved);
        }
        assertThat(rc).isZero();
        String text = captured.toString();
        assertThat(text).contains("2 ranks; time = median of 5 trials (min-max), median over 2 runs");
        assertThat(text.lines().filter(l -> l.startsWith("| all_reduce")).toList()).hasSize(2)
                .allSatisfy(row -> assertThat(row).contains("KiB"));
        assertThat(Main.execute("bench", "comm", "--repeat", "0")).isNotZero();
    }
}
