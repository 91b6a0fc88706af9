package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.launch.Settings;
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
        footer = {"",
                "Examples:",
                "  ./tandem train                                      the default small GPT on Shakespeare",
                "  ./tandem train --parallel.dp 2 --parallel.zero 2    two data-parallel ranks at ZeRO stage 2",
                "  ./tandem train --print-config                       the resolved config, as TOML",
                "  ./tandem finetune --from hf/gpt2 --data.corpus my.txt --peqa 4   fine-tune a GPT-2 directory",
                "  ./tandem generate --checkpoint runs/default/model --prompt \"ROMEO:\"",
                "  ./tandem export --hf out/hf --checkpoint runs/mine/checkpoints",
                "  ./tandem tokenizer train --corpus my.txt --vocab-size 4096 --out tok/",
                "  ./tandem plan --model gpt3-13b --cluster 64xA100-80GB",
                "  ./tandem bench comm",
                "  ./tandem chaos --trials 8                           inject faults, check detection and recovery",
                "",
                "Every command takes --help; --debug (anywhere) shows the stack trace of an error. Docs: README.md, docs/."},
        subcommands = {
                TrainCommand.class,
                FinetuneCommand.class,
                GenerateCommand.class,
                ExportCommand.class,
                TokenizerCommand.class,
                BenchCommand.class,
                CommSelfTestCommand.class,
                PlanCommand.class,
                ChaosCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable, Settings.Source {
    /** The option, accepted anywhere on the command line, that shows stack traces of errors ({@code TANDEM_DEBUG=1} does too). */
    static final String DEBUG_OPTION = "--debug";

    private final Settings settings;

    private Main(Settings settings) {
        this.settings = settings;
    }

    /** A command line with the settings of an empty environment (the defaults): for tests that drive picocli themselves. */
    Main() {
        this(Settings.fromEnvironment(java.util.Map.of()));
    }

    /** What this command line read from its environment. */
    @Override
    public Settings settings() {
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
        boolean debug = settings.debug() || java.util.Arrays.asList(args).contains(DEBUG_OPTION);
        args = java.util.Arrays.stream(args).filter(a -> !a.equals(DEBUG_OPTION)).toArray(String[]::new);
        OffHeap.useHugePages(settings.compute().hugePages());
        CommandLine cli = new CommandLine(new Main(settings));
        BenchCommand.addBenchmarks(cli.getSubcommands().get("bench"));
        cli.setUsageHelpWidth(110);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            java.io.PrintWriter e = commandLine.getErr();
            int code;
            if (ex instanceof TandemException te) {
                e.println("tandem: " + te.getMessage());
                code = te.exitCode();
            } else {
                e.println("tandem: unexpected error: " + ex + (debug ? "" : " (a bug unless the message says otherwise; " + DEBUG_OPTION
                        + " shows where it happened)"));
                code = 1;
            }
            if (debug) ex.printStackTrace(e);
            return code;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError oom) {
            err.println("tandem: out of memory (" + oom.getMessage() + "): lower data.batch_size, raise parallel.micro_batches, "
                    + "use parallel.recompute full, or shard the model over more ranks");
            if (debug) oom.printStackTrace(err);
            return 1;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tandem " + (v == null ? "dev" : v) + " on Java " + Runtime.version()};
        }
    }
}
