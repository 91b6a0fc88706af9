package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void unknownSubcommandIsAUsageError() {
        assertThat(Main.execute("no-such-command")).isEqualTo(2);
    }

    /** Tests build without the bench profile: `bench gemm` must say how to get it, not crash. */
    @Test
    void benchGemmWithoutBenchProfileSaysHowToBuildIt() {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
            code = Main.execute("bench", "gemm");
        } finally {
            System.setErr(saved);
        }
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("./tandem bench gemm").contains("bench profile");
    }

    @Test
    void helpExitsZero() {
        assertThat(Main.execute("--help")).isZero();
    }
}
