package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.api.Training;
import dev.tandem.launch.RestartLoop;
import dev.tandem.launch.Settings;
import dev.tandem.train.RunLock;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code tandem train}: trains a GPT on the embedded default or a config file. Any config key
 * can be overridden as {@code --section.key value} or {@code --section.key=value} (dashes or
 * underscores); the number of ranks is the plan's dp·cp·tp·pp. The run is a {@link Training} of the
 * Java API built from the file and the options: one rank trains in this process; a multi-rank plan
 * starts one process per rank through the launcher, and each of those trains as its rank
 * ({@link Training#runAsRank()}).
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        header = "Train a GPT (without arguments: a small GPT on the bundled Shakespeare corpus).",
        description = {
        "Set any config key with --section.key value, e.g. --run.steps 200 --model.n_layer 2 --optim.lr 1e-3 --parallel.dp 2",
        "(sections: model, data, optim, parallel, eval, checkpoint, run; docs/TRAINING.md). The run has dp·cp·tp·pp ranks."})
final class TrainCommand implements Runnable {
    @Option(names = "--config", paramLabel = "FILE", description = "TOML or JSON config file.")
    Path config;

    @Option(names = "--print-config", description = "Print the resolved config as TOML (defaults, file and overrides applied) and exit.")
    boolean printConfig;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Unmatched
    List<String> overrides = new java.util.ArrayList<>();

    @Override
    public void run() {
        train(spec, config, parseOverrides(overrides), printConfig,
                new java.util.ArrayList<>(spec.commandLine().getParseResult().originalArgs()));
    }

    /**
     * Trains as {@code tandem train} does: {@code config} (may be null) with {@code overrides} on
     * top; a multi-rank plan starts one process per rank, each running {@code tandem <rankArgs>}
     * (the command line as given, so each rank builds the same run).
     */
    static void train(picocli.CommandLine.Model.CommandSpec spec, Path config, Map<String, String> overrides, boolean printConfig,
                      List<String> rankArgs) {
        Settings settings = Settings.of(spec.root().userObject());
        boolean rank = Training.isJobRank(settings.env()); // a rank of a job started by our launcher, torchrun-style env, Slurm or Kubernetes
        Training.Builder builder = Training.builder().set(overrides).output(System.out)
                .home(settings.home() == null ? null : Path.of(settings.home()))
                .progressBar(!rank && ProgressSupport.stdoutIsTerminal());
        if (config != null) builder.config(config);
        Training training = builder.build();
        if (printConfig) {
            spec.commandLine().getOut().print(training.toToml());
            spec.commandLine().getOut().flush();
            return;
        }
        if (rank) {
            training.runAsRank(settings.env());
        } else if (training.ranks() > 1 || training.maxRestarts() > 0) {
            RunLock.requireFree(training.runDir()); // refused here, once, rather than by rank 0 after every rank has started
            RestartLoop.launcher(training.ranks(), training.runDir(), training.checkpointDir(), training.maxRestarts(), training.elastic(), System.out)
                    .run(rankArgs);
        } else {
            training.run(settings.compute().threads());
        }
    }

    /** {@code --key value} and {@code --key=value} pairs, in order. */
    static Map<String, String> parseOverrides(List<String> args) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                throw new TandemException("unexpected argument '" + a + "': overrides look like --section.key value");
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else {
                if (i + 1 >= args.size()) throw new TandemException("option --" + key + " needs a value");
                value = args.get(++i);
            }
            out.put(key.replace('-', '_'), value);
        }
        return out;
    }
}
