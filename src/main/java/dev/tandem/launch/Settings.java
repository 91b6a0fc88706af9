package dev.tandem.launch;

import dev.tandem.tensor.ComputeOptions;
import java.util.Map;

/**
 * What the command line takes from its environment, read once where it starts ({@code cli.Main}) and
 * handed to the commands: the compute settings (TANDEM_THREADS, TANDEM_HUGE_PAGES), TANDEM_DEBUG,
 * TANDEM_HOME (the checkout, set by the launcher script), and the variables themselves, from which
 * a rank parses its own typed settings when it joins a job ({@code Rendezvous.spec}: rank, world,
 * rendezvous and {@code CommOptions}). Nothing else in Tandem reads the environment.
 *
 * @param env  the environment as the process started with it
 * @param home the Tandem checkout, or null where TANDEM_HOME is not set
 */
public record Settings(Map<String, String> env, ComputeOptions compute, boolean debug, String home) {
    public Settings {
        env = Map.copyOf(env);
    }

    /** Parses {@code env}; a bad value throws a {@link dev.tandem.TandemException} naming its variable. */
    public static Settings fromEnvironment(Map<String, String> env) {
        String home = env.get("TANDEM_HOME");
        return new Settings(env, ComputeOptions.fromEnvironment(env), env.get("TANDEM_DEBUG") != null,
                home == null || home.isBlank() ? null : home);
    }

    /** What holds a command line's settings: the root command, which its commands reach as their root's user object. */
    public interface Source {
        Settings settings();
    }

    /** The settings of the command line whose root command is {@code root} (a command's {@code spec.root().userObject()}). */
    public static Settings of(Object root) {
        return ((Source) root).settings();
    }
}
