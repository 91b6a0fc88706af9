package dev.tandem.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code tandem finetune --from DIR}: training that starts from a Hugging Face GPT-2 model
 * directory ({@code model.init_from}), with the model's shape and tokenizer, on the corpus the
 * config or {@code --data.corpus} names; {@code --peqa 4} (or 3) quantizes the linear layers and
 * trains only their scales. Everything else is {@code tandem train}: the same config keys and
 * {@code --section.key value} overrides (docs/FINETUNE.md).
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        header = "Continue training a Hugging Face GPT-2 model directory on a new corpus.",
        description = {
        "The model's config.json gives the shape and its tokenizer.json (or vocab.json + merges.txt) the tokens.",
        "Set any train config key with --section.key value, e.g. --data.corpus my.txt --run.steps 200 --optim.lr 1e-4."})
final class FinetuneCommand implements Runnable {
    @Option(names = "--from", required = true, paramLabel = "DIR", description = "Hugging Face GPT-2 model directory to start from.")
    Path from;

    @Option(names = "--peqa", paramLabel = "BITS", description = "Quantize linear layers to 4 or 3 bits and train only their per-channel scales (PEQA).")
    Integer peqa;

    @Option(names = "--config", paramLabel = "FILE", description = "TOML or JSON config file.")
    Path config;

    @Option(names = "--print-config", description = "Print the resolved config as TOML and exit.")
    boolean printConfig;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Unmatched
    List<String> overrides = new java.util.ArrayList<>();

    @Override
    public void run() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("model.init_from", from.toString());
        if (peqa != null) keys.put("model.peqa", peqa.toString());
        keys.putAll(TrainCommand.parseOverrides(overrides));
        TrainCommand.train(spec, config, keys, printConfig, new java.util.ArrayList<>(spec.commandLine().getParseResult().originalArgs()));
    }
}
