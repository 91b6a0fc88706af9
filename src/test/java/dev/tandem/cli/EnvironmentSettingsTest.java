package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.comm.CommOptions;
import dev.tandem.launch.Settings;
import dev.tandem.tensor.ComputeOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The environment is parsed once, at the command line's entry, into typed settings; the variables
 * keep their names and meanings, and a bad value stops the command with an error naming it.
 */
class EnvironmentSettingsTest {

    @Test
    void computeSettings() {
        assertThat(ComputeOptions.fromEnvironment(Map.of())).isEqualTo(ComputeOptions.defaults());
        assertThat(ComputeOptions.defaults().threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(ComputeOptions.fromEnvironment(Map.of("TANDEM_THREADS", " 3 ")).threads()).isEqualTo(3);
        assertThat(ComputeOptions.fromEnvironment(Map.of("TANDEM_HUGE_PAGES", "off")).hugePages()).isFalse();
        assertThat(ComputeOptions.fromEnvironment(Map.of("TANDEM_HUGE_PAGES", "AUTO")).hugePages()).isTrue();
        for (String bad : new String[] {"0", "-2", "many"}) {
            assertThatThrownBy(() -> ComputeOptions.fromEnvironment(Map.of("TANDEM_THREADS", bad))).isInstanceOf(TandemException.class)
                    .hasMessage("TANDEM_THREADS must be a positive integer, got '" + bad + "'");
        }
        assertThatThrownBy(() -> ComputeOptions.fromEnvironment(Map.of("TANDEM_HUGE_PAGES", "yes"))).isInstanceOf(TandemException.class)
                .hasMessage("TANDEM_HUGE_PAGES=yes must be auto or off");
    }

    @Test
    void pathLoggingIsACommunicationOption() {
        assertThat(CommOptions.defaults().logPaths()).isFalse();
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_LOG_PATHS", "1")).logPaths()).isTrue();
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_LOG_PATHS", "0")).logPaths()).isFalse();
        assertThat(CommOptions.defaults().withLogPaths(true).withChunkBytes(8192).logPaths()).isTrue();
    }

    @Test
    void settingsOfTheCommandLine() {
        Settings s = Settings.fromEnvironment(Map.of("TANDEM_THREADS", "2", "TANDEM_DEBUG", "1", "TANDEM_HOME", "/opt/tandem", "RANK", "0"));
        assertThat(s.compute().threads()).isEqualTo(2);
        assertThat(s.debug()).isTrue();
        assertThat(s.home()).isEqualTo("/opt/tandem");
        assertThat(s.env()).containsEntry("RANK", "0"); // a rank parses its own settings from these when it joins
        Settings none = Settings.fromEnvironment(Map.of());
        assertThat(none.debug()).isFalse();
        assertThat(none.home()).isNull();
    }

    @Test
    void aBadValueStopsTheCommandBeforeItStarts() {
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), Map.of("TANDEM_HUGE_PAGES", "sometimes"),
                "plan", "--list");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("tandem: TANDEM_HUGE_PAGES=sometimes must be auto or off");
        StringWriter out = new StringWriter();
        assertThat(Main.execute(new PrintWriter(out, true), new PrintWriter(new StringWriter()), Map.of("TANDEM_THREADS", "1"),
                "plan", "--list")).isZero();
    }
}
