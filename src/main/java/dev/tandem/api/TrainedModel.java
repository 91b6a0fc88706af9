package dev.tandem.api;

import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.Checkpoints;
import dev.tandem.ckpt.Manifest;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.ckpt.Restore;
import dev.tandem.data.StreamDecoder;
import dev.tandem.data.TokenizerJson;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.tensor.ComputeOptions;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.WorkerPool;
import dev.tandem.train.Generator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A trained model loaded for generation: from the model directory a run writes, from one of its
 * checkpoints, or from the run directory itself. Decoding keeps a key/value cache, so each new
 * token costs one position of the model (docs/TRAINING.md#generation). The parameters live
 * off-heap until {@link #close()}.
 *
 * <pre>{@code
 * try (TrainedModel model = TrainedModel.load(Path.of("runs/mine"))) {
 *     System.out.println(model.generate("ROMEO:", 100));
 * }
 * }</pre>
 */
public final class TrainedModel implements AutoCloseable {
    private final GPT model;
    private final TextTokenizer tokenizer; // null: trained on token ids without one
    private final Path source;
    private final WorkerPool pool = new WorkerPool(ComputeOptions.defaults().threads()); // generation's compute threads, closed with the model
    private final Kernels kernels = Kernels.fast(pool);

    private TrainedModel(GPT model, TextTokenizer tokenizer, Path source) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.source = source;
    }

    /**
     * Loads {@code path}, which is one of:
     * <ul>
     *   <li>a model directory ({@code config.json} and {@code model.safetensors}, as a run writes in
     *       {@code <run>/model}, or a Hugging Face GPT-2 directory with float32 weights);</li>
     *   <li>a checkpoint ({@code <run>/checkpoints/step-NNNNNNNN}, with its {@code manifest.json}),
     *       written by any plan: tensor-parallel parts are joined;</li>
     *   <li>a checkpoints folder: its newest complete checkpoint;</li>
     *   <li>a run directory: its {@code model} directory.</li>
     * </ul>
     * Anything else, or a damaged file, throws {@link TandemException} naming the file.
     */
    public static TrainedModel load(Path path) {
        if (!Files.isDirectory(path)) throw new TandemException(path + " does not exist or is not a directory");
        if (Files.isRegularFile(path.resolve(ModelFiles.CONFIG))) return loadModelDir(path);
        if (Files.isRegularFile(path.resolve(Manifest.FILE))) {
            try (Checkpoint c = Checkpoint.open(path)) {
                return loadCheckpoint(c);
            }
        }
        if (Files.isDirectory(path.resolve("model"))) return load(path.resolve("model"));
        StringBuilder skipped = new StringBuilder();
        try (Checkpoint c = Checkpoints.latest(path, line -> skipped.append("; ").append(line))) {
            if (c != null) return loadCheckpoint(c);
        }
        throw new TandemException(path + " is not a model directory (no " + ModelFiles.CONFIG + "), a checkpoint (no " + Manifest.FILE
                + "), a folder of complete checkpoints or a run directory (no model/)" + skipped);
    }

    private static TrainedModel loadModelDir(Path dir) {
        Path tokFile = dir.resolve(ModelFiles.TOKENIZER);
        // A Hugging Face directory may carry GPT-2's vocab.json + merges.txt instead of tokenizer.json.
        boolean pair = Files.isRegularFile(dir.resolve(dev.tandem.ckpt.HfImport.VOCAB)) && Files.isRegularFile(dir.resolve(dev.tandem.ckpt.HfImport.MERGES));
        TextTokenizer tok = Files.isRegularFile(tokFile) ? TextTokenizer.of(TokenizerJson.load(tokFile))
                : pair ? TextTokenizer.of(dev.tandem.ckpt.HfImport.tokenizer(dir)) : null;
        try {
            return new TrainedModel(ModelFiles.load(dir), tok, dir);
        } catch (IOException e) {
            throw new TandemException("cannot read " + dir + ": " + e.getMessage(), e);
        }
    }

    private static TrainedModel loadCheckpoint(Checkpoint c) {
        Path tokFile = c.tokenizer();
        TextTokenizer tok = tokFile == null ? null : TextTokenizer.of(TokenizerJson.load(tokFile));
        return new TrainedModel(Restore.model(c), tok, c.dir());
    }

    /** The model's shape. */
    public ModelShape shape() {
        GPTConfig c = model.config();
        return new ModelShape(c.nLayer(), c.nHead(), c.nEmbd(), c.blockSize());
    }

    /** The model's vocabulary: token ids are below this. */
    public int vocabSize() {
        return model.config().vocabSize();
    }

    /** The tokenizer it was trained with; empty for a model trained on token ids without one. */
    public Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** The directory the parameters were read from (a model directory or a checkpoint). */
    public Path source() {
        return source;
    }

    /** Continues {@code prompt} by up to {@code maxTokens} tokens with {@link Sampling#defaults()}; returns the new text. */
    public String generate(String prompt, int maxTokens) {
        return generate(prompt, maxTokens, Sampling.defaults());
    }

    /** Continues {@code prompt} by up to {@code maxTokens} tokens sampled with {@code sampling}; returns the new text. */
    public String generate(String prompt, int maxTokens, Sampling sampling) {
        StringBuilder out = new StringBuilder();
        generate(prompt, maxTokens, sampling, out::append);
        return out.toString();
    }

    /**
     * Continues {@code prompt}, handing the new text to {@code onText} as it is produced, in whole
     * characters (a token may end inside a multi-byte character). Generation stops after
     * {@code maxTokens} tokens or when the context ({@code blockSize} tokens, prompt included) is
     * full. An empty prompt, or one longer than the context, throws {@link TandemException} before
     * anything is generated; so does a model without a tokenizer (use {@link #generateTokens}).
     *
     * @return the number of tokens generated
     */
    public int generate(String prompt, int maxTokens, Sampling sampling, Consumer<String> onText) {
        if (tokenizer == null) {
            throw new TandemException("the model in " + source + " has no " + ModelFiles.TOKENIZER + " (it was trained on token ids "
                    + "without a tokenizer): generate token ids instead (TrainedModel.generateTokens)");
        }
        int[] ids = tokenizer.encode(prompt);
        StreamDecoder decoder = new StreamDecoder(tokenizer.internal());
        int n = decode(ids, maxTokens, sampling, t -> {
            String piece = decoder.push(t);
            if (!piece.isEmpty()) onText.accept(piece);
        }).length;
        String rest = decoder.finish();
        if (!rest.isEmpty()) onText.accept(rest);
        return n;
    }

    /**
     * Continues the token ids {@code prompt} by up to {@code maxTokens} ids (fewer when the context
     * fills); returns the new ids. Ids outside the vocabulary throw {@link TandemException}.
     */
    public int[] generateTokens(int[] prompt, int maxTokens, Sampling sampling) {
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocabSize()) {
                throw new TandemException("prompt token " + i + " is " + prompt[i] + ", outside the vocabulary of " + vocabSize());
            }
        }
        return decode(prompt, maxTokens, sampling, t -> { });
    }

    private int[] decode(int[] prompt, int maxTokens, Sampling sampling, java.util.function.IntConsumer onToken) {
        if (maxTokens < 0) throw new TandemException("maxTokens must be >= 0, got " + maxTokens);
        List<Integer> out = new Generator(model, kernels).generate(prompt, maxTokens, sampling.sampler(), onToken);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        model.close();
        pool.close();
    }
}
