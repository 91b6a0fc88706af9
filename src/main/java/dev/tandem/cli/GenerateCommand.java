package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.ckpt.TrainedModel;
import dev.tandem.data.StreamDecoder;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPT;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.Generator;
import dev.tandem.train.Sampler;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem generate}: samples text from a trained model directory. */
@Command(name = "generate", mixinStandardHelpOptions = true, header = "Generate text from a trained model (KV-cached decoding).")
final class GenerateCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = {"A model directory (runs/<name>/model, or one export wrote), a checkpoint step directory,",
                    "or a directory of checkpoints (the newest valid one)."})
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
        Sampler sampler = new Sampler(temperature, topK, topP, seed);
        TrainedModel trained = TrainedModel.open(checkpoint, m -> System.err.println("generate: " + m));
        try (GPT model = trained.model(); WorkerPool pool = new WorkerPool(Settings.of(spec.root().userObject()).compute().threads())) {
            Tokenizer tok = TokenizerJson.load(trained.tokenizer());
            int[] ids = tok.encode(prompt);
            int context = model.config().blockSize();
            if (ids.length >= context) {
                throw new TandemException("the prompt is " + ids.length + " tokens but the model's context is " + context
                        + ", and a token needs room after it: shorten --prompt");
            }
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.print(prompt);
            // A token may end inside a multi-byte character: the decoder prints whole characters only.
            StreamDecoder decoder = new StreamDecoder(tok);
            new Generator(model, Kernels.fast(pool)).generate(ids, maxTokens, sampler, t -> out.print(decoder.push(t)));
            out.println(decoder.finish());
            if (ids.length + maxTokens > context) System.err.println("tandem: stopped at the model's context of " + context + " tokens");
        }
    }
}
