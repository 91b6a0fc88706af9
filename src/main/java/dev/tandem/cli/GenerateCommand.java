package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.nn.GPT;
import dev.tandem.train.Generator;
import dev.tandem.train.Sampler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem generate}: samples text from a trained model directory. */
@Command(name = "generate", description = "Generate text from a trained model (KV-cached decoding).")
final class GenerateCommand implements Runnable {
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
        try (GPT model = ModelFiles.load(checkpoint)) {
            int[] ids = tok.encode(prompt);
            PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
            out.print(prompt);
            // Tokens may split a multi-byte character: print bytes as they complete valid text.
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            new Generator(model).generate(ids, maxTokens, sampler, t -> {
                pending.writeBytes(tok.decodeBytes(new int[] {t}));
                String s = completeUtf8(pending);
                if (!s.isEmpty()) out.print(s);
            });
            out.println(new String(pending.toByteArray(), StandardCharsets.UTF_8));
            if (ids.length + maxTokens > model.config().blockSize()) {
                System.err.println("tandem: stopped at the model's context of " + model.config().blockSize() + " tokens");
            }
        } catch (IOException e) {
            throw new TandemException("cannot read " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    /** Removes and returns the longest prefix of {@code buf} that ends on a UTF-8 character boundary. */
    static String completeUtf8(ByteArrayOutputStream buf) {
        byte[] b = buf.toByteArray();
        int end = b.length;
        // Walk back over at most 3 continuation bytes to the start of the last character.
        int i = end - 1, cont = 0;
        while (i >= 0 && cont < 3 && (b[i] & 0xC0) == 0x80) { i--; cont++; }
        if (i >= 0) {
            int lead = b[i] & 0xFF;
            int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (end - i < need) end = i;
        }
        buf.reset();
        buf.write(b, end, b.length - end);
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }
}
