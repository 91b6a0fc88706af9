package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {
    @Test
    void unknownSubcommandIsAUsageError() {
        assertThat(Main.execute("no-such-command")).isEqualTo(2);
    }

    @Test
    void helpExitsZero() {
        assertThat(Main.execute("--help")).isZero();
    }
}
