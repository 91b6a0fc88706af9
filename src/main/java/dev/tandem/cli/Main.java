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

    /** Set {@code TANDEM_DEBUG=1} to see stack traces of user errors. */
    private static final boolean DEBUG = System.getenv("TANDEM_DEBUG") != null;

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
        CommandLine cli = new CommandLine(new Main());
        BenchCommand.addBenchmarks(cli.getSubcommands().get("bench"));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Throwable cause = ex;
            if (cause instanceof TandemException te) {
                commandLine.getErr().println("tandem: " + te.getMessage());
                if (DEBUG) te.printStackTrace(commandLine.getErr());
                return te.exitCode();
            }
            throw ex;
        });
        try {
            OffHeap.checkSettings(); // a bad TANDEM_HUGE_PAGES is reported before any work starts
        } catch (TandemException te) {
            err.println("tandem: " + te.getMessage());
            return te.exitCode();
        }
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
