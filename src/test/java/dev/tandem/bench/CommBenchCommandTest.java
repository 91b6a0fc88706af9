package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tandem.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code bench comm} on a toy budget: ranks as threads, no Open MPI, two runs per rank count. */
class CommBenchCommandTest {
    @Test
    void combinesRepeatedRunsIntoMediansAndTheWidestSpread() {
        List<CommBenchCommand.Run> runs = List.of(new CommBenchCommand.Run(Map.of("all_gather 1024", new double[] {3, 1, 5}), Map.of()),
                new CommBenchCommand.Run(Map.of("all_gather 1024", new double[] {2, 0.5, 9}), Map.of()), CommBenchCommand.Run.EMPTY);
        assertThat(CommBenchCommand.combined(runs, "all_gather 1024")).containsExactly(2.5, 0.5, 9);
        assertThat(CommBenchCommand.combined(runs, "all_reduce 1024")).isNull();
    }

    @Test
    void pairsTheTrialsOfTheSameRunAndIndex() {
        CommBenchCommand.Run ours = CommBenchCommand.Run.parse(List.of("TRIAL all_reduce 1024 0 2.0", "TRIAL all_reduce 1024 1 4.0",
                "RESULT all_reduce 1024 3.0 2.0 4.0"));
        CommBenchCommand.Run theirs = CommBenchCommand.Run.parse(List.of("TRIAL all_reduce 1024 1 2.0", "TRIAL all_reduce 1024 0 6.0",
                "RESULT all_reduce 1024 4.0 2.0 6.0"));
        assertThat(ours.results().get("all_reduce 1024")).containsExactly(3.0, 2.0, 4.0);
        assertThat(ours.trials().get("all_reduce 1024")).containsExactly(2.0, 4.0);
        // trial 0: 6/2, trial 1: 2/4; the ratio of the runs' medians would be 4/3 instead
        assertThat(CommBenchCommand.pairRatios(List.of(ours), List.of(theirs), "all_reduce 1024")).containsExactly(0.5, 3.0);
        assertThat(CommBenchCommand.runRatios(List.of(ours), List.of(theirs), "all_reduce 1024")).containsExactly(4.0 / 3);
        assertThat(CommBenchCommand.quantile(List.of(1.0, 2.0, 3.0, 5.0), 0.75)).isEqualTo(3.5);
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

    /** Tandem's ranks as threads and the C peer under mpirun take turns; only where Open MPI is installed. */
    @Test
    void takesTurnsWithOpenMpiWhereItIsInstalled() {
        assumeTrue(onPath("mpicc") && onPath("mpirun"), "Open MPI is not installed");
        String text = capture("bench", "comm", "--threads", "--ranks", "2", "--ops", "all_gather,all_reduce", "--min-bytes", "1024",
                "--max-bytes", "4096");
        assertThat(text).contains("Tandem and Open MPI took turns, one trial each");
        List<String> rows = text.lines().filter(l -> l.startsWith("| all_")).toList();
        assertThat(rows).hasSize(4).allSatisfy(row -> {
            String[] cols = row.split("\\|");
            assertThat(cols[6].trim()).as("Open MPI's time").matches("[0-9.]+ \\([0-9.]+-[0-9.]+\\)");
            assertThat(cols[8].trim()).as("paired ratio").matches("[0-9.]+x");
            assertThat(cols[9].trim()).as("middle half of the pairs").matches("[0-9.]+-[0-9.]+");
        });
    }

    private static String capture(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true));
        try {
            assertThat(Main.execute(args)).isZero();
        } finally {
            System.setOut(saved);
        }
        return captured.toString();
    }

    private static boolean onPath(String exe) {
        return java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(dir -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, exe)));
    }
}
