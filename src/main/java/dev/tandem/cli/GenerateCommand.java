package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.api.Sampling;
import dev.tandem.api.TrainedModel;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem generate}: samples text from a trained model ({@link TrainedModel} of the Java API). */
@Command(name = "generate", mixinStandardHelpOptions = true, header = "Generate text from a trained model (KV-cached decoding).")
final class GenerateCommand implements Runnable {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = {"Model directory written by 'tandem train' (model.safetensors, config.json, tokenizer.json),",
                    "a checkpoint (runs/NAME/checkpoints/step-N), a checkpoints folder (its newest) or a run directory."})
    Path checkpoint;

    @Option(names = "--prompt", required = true, description = "Text to continue.")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "200", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus probability mass (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", defaultValue = "1", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public void run() {
        if (maxTokens < 0) throw new TandemException("--max-tokens must be >= 0, got " + maxTokens);
        Sampling sampling = new Sampling(temperature, topK, topP, seed);
        try (TrainedModel model = TrainedModel.load(checkpoint)) {
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            // The prompt is printed with the first text, so a prompt the model refuses is not echoed before the error.
            boolean[] echoed = {false};
            int generated = model.generate(prompt, maxTokens, sampling, piece -> {
                if (!echoed[0]) out.print(prompt);
                echoed[0] = true;
                out.print(piece);
            });
            if (!echoed[0]) out.print(prompt);
            out.println();
            if (generated < maxTokens) {
                System.err.println("tandem: stopped at the model's context of " + model.shape().blockSize() + " tokens");
            }
        }
    }
}
