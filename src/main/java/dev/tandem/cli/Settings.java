package dev.tandem.cli;

import dev.tandem.tensor.ComputeOptions;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What the command line takes from its environment, read once where it starts ({@link Main}) and
 * handed to the commands: the compute settings (TANDEM_THREADS, TANDEM_HUGE_PAGES), TANDEM_DEBUG,
 * TANDEM_HOME (the checkout, set by the launcher script), and the variables themselves, from which
 * a rank parses its own typed settings when it joins a job ({@code Rendezvous.spec}: rank, world,
 * rendezvous and {@code CommOptions}). Nothing else in Tandem reads the environment.
 *
 * @param env  the environment as the process started with it
 * @param home the Tandem checkout, or null where TANDEM_HOME is not set
 */
record Settings(Map<String, String> env, ComputeOptions compute, boolean debug, String home) {
    Settings {
        env = Map.copyOf(env);
    }

    /** Parses {@code env}; a bad value throws a {@link dev.tandem.TandemException} naming its variable. */
    static Settings fromEnvironment(Map<String, String> env) {
        String home = env.get("TANDEM_HOME");
        return new Settings(env, ComputeOptions.fromEnvironment(env), env.get("TANDEM_DEBUG") != null,
                home == null || home.isBlank() ? null : home);
    }

    /** The settings of the command line that runs the command {@code spec} describes. */
    static Settings of(CommandSpec spec) {
        return ((Main) spec.root().userObject()).settings();
    }
}
