package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.data.StreamDecoder;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.launch.Settings;
import dev.tandem.nn.GPT;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.Generator;
import dev.tandem.train.Sampler;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem generate}: samples text from a trained model directory. */
@Command(name = "generate", mixinStandardHelpOptions = true, header = "Generate text from a trained model (KV-cached decoding).")
final class GenerateCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "Model directory written by 'tandem train' (model.safetensors, config.json, tokenizer.json).")
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
        if (!Files.isDirectory(checkpoint)) throw new TandemException("checkpoint directory " + checkpoint + " does not exist");
        Path tokFile = checkpoint.resolve(ModelFiles.TOKENIZER);
        if (!Files.isRegularFile(tokFile)) throw new TandemException("no " + ModelFiles.TOKENIZER + " in " + checkpoint);
        Tokenizer tok = TokenizerJson.load(tokFile);
        Sampler sampler = new Sampler(temperature, topK, topP, seed);
        try (GPT model = ModelFiles.load(checkpoint); WorkerPool pool = new WorkerPool(Settings.of(spec.root().userObject()).compute().threads())) {
            int[] ids = tok.encode(prompt);
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.print(prompt);
            // A token may end inside a multi-byte character: the decoder prints whole characters only.
            StreamDecoder decoder = new StreamDecoder(tok);
            new Generator(model, Kernels.fast(pool)).generate(ids, maxTokens, sampler, t -> out.print(decoder.push(t)));
            out.println(decoder.finish());
            if (ids.length + maxTokens > model.config().blockSize()) {
                System.err.println("tandem: stopped at the model's context of " + model.config().blockSize() + " tokens");
            }
        } catch (IOException e) {
            throw new TandemException("cannot read " + checkpoint + ": " + e.getMessage(), e);
        }
    }
}
