package dev.tandem.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Where bench code may live and what it may link: the core never refers to the bench source set
 * (the CLI finds its one entry class by name), only {@code dev.tandem.bench.peer} and the JMH
 * benchmarks link a peer library (so the default build, and the tests, never need one), and the
 * default build still offers every benchmark.
 */
class BenchLayoutTest {
    private static List<Path> javaFiles(String root) throws IOException {
        try (Stream<Path> files = Files.walk(Path.of(root))) {
            return files.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    @Test
    void theCoreNamesOnlyTheEntryClassOfTheBenchSourceSet() throws IOException {
        for (Path p : javaFiles("src/main/java")) {
            String text = Files.readString(p);
            assertThat(text).as("%s", p).doesNotContain("import dev.tandem.bench");
            if (!p.endsWith(Path.of("dev/tandem/cli/BenchCommand.java"))) {
                assertThat(text).as("%s", p).doesNotContain("dev.tandem.bench.");
            }
        }
    }

    @Test
    void onlyThePeerPackageAndJmhBenchmarksLinkAPeerLibrary() throws IOException {
        for (String root : List.of("src/main/java", "src/bench/java", "src/test/java")) {
            for (Path p : javaFiles(root)) {
                boolean peer = p.startsWith(Path.of("src/bench/java/dev/tandem/bench/peer"))
                        || p.getFileName().toString().endsWith("Benchmark.java");
                if (peer) continue;
                assertThat(Files.readAllLines(p)).as("%s", p)
                        .noneMatch(l -> l.startsWith("import org.bytedeco.") || l.startsWith("import org.openjdk.jmh."));
            }
        }
    }

    @Test
    void theDefaultBuildListsEveryBenchmarkAndExplainsThePeerOnes() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), "bench", "--help")).isZero();
        assertThat(out.toString()).contains("comm ", "optim ", "ckpt ", "gemm ", "train ");
        for (String bench : List.of("comm", "optim", "ckpt")) {
            assertThat(Main.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench", bench, "--help"))
                    .as(bench).isZero();
        }
    }
}
