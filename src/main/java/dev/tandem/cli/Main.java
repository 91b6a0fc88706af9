package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.tensor.OffHeap;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code tandem} command. Each subcommand lives in its own class; this class
 * only wires them together and turns user errors into one clear line and a non-zero exit code.
 */
@Command(name = "tandem",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Plans and runs parallel training of transformer language models.",
        subcommands = {
                TrainCommand.class,
                GenerateCommand.class,
                ExportCommand.class,
                TokenizerCommand.class,
                BenchCommand.class,
                CommSelfTestCommand.class,
                PlanCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {
    private final Settings settings;

    private Main(Settings settings) {
        this.settings = settings;
    }

    /** A command line with the settings of an empty environment (the defaults): for tests that drive picocli themselves. */
    Main() {
        this(Settings.fromEnvironment(java.util.Map.of()));
    }

    /** What this command line read from its environment. */
    Settings settings() {
        return settings;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns the exit code (tests call this directly). */
    public static int execute(String... args) {
        return execute(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs the CLI with picocli's usage and error output sent to {@code out} and {@code err}. */
    public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        return execute(out, err, System.getenv(), args); // the one place Tandem reads its environment
    }

    /**
     * Runs the CLI in the environment {@code env}: its settings are parsed here, once (a bad value
     * is reported before any work starts), and passed to the commands ({@link Settings}).
     */
    public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, java.util.Map<String, String> env, String... args) {
        Settings settings;
        try {
            settings = Settings.fromEnvironment(env);
        } catch (TandemException te) {
            err.println("tandem: " + te.getMessage());
            return te.exitCode();
        }
        OffHeap.useHugePages(settings.compute().hugePages());
        CommandLine cli = new CommandLine(new Main(settings));
        BenchCommand.addPeerBenchmarks(cli.getSubcommands().get("bench"));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable cause = ex;
            if (cause instanceof TandemException te) {
                commandLine.getErr().println("tandem: " + te.getMessage());
                if (settings.debug()) te.printStackTrace(commandLine.getErr()); // TANDEM_DEBUG=1: stack traces of user errors
                return te.exitCode();
            }
            throw ex;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tandem " + (v == null ? "dev" : v) + " on Java " + Runtime.version()};
        }
    }
}
