package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Precision;
import dev.tandem.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a Hugging Face GPT-2-style model directory, of any GPT-2 size, to start training from it:
 * {@code config.json} (GPT2Config), the weights in {@code model.safetensors} or sharded as
 * {@code model.safetensors.index.json} with its files, and the tokenizer as {@code tokenizer.json}
 * or GPT-2's {@code vocab.json} + {@code merges.txt}. Tensors may be F32, F16 or BF16 (converted to
 * float32), named with or without the {@code transformer.} prefix; the causal-mask buffers
 * ({@code attn.bias}, {@code attn.masked_bias}) and a tied {@code lm_head.weight} are skipped.
 * Every check names the tensor and the file, so a directory that does not fit says why.
 */
public final class HfImport {
    public static final String INDEX = "model.safetensors.index.json";
    public static final String VOCAB = "vocab.json";
    public static final String MERGES = "merges.txt";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private HfImport() {}

    /** A model read from a directory, with its tokenizer. */
    public record Imported(GPT model, Tokenizer tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** Reads the model and its tokenizer from {@code dir}, checking that they belong together. */
    public static Imported load(Path dir) throws IOException {
        requireDirectory(dir);
        Tokenizer tok = tokenizer(dir);
        requireOwnTokenizer(dir, tok);
        return new Imported(weights(dir, config(dir)), tok);
    }

    /**
     * Checks, as far as the directory can tell, that {@code tok} is the tokenizer the model in
     * {@code dir} was trained with: it has no more tokens than config.json's {@code vocab_size}
     * (fewer is a padded vocabulary); its {@code <|endoftext|>} is the id config.json gives as
     * {@code eos_token_id} and {@code bos_token_id} (a foreign tokenizer of the same size numbers
     * its special tokens differently), or, when it has none, those ids are tokens of it; and when
     * the directory holds both {@code tokenizer.json} and {@code vocab.json} + {@code merges.txt},
     * the two are the same tokenizer. Each failure names the file.
     */
    public static void requireOwnTokenizer(Path dir, Tokenizer tok) throws IOException {
        GPTConfig config = config(dir);
        String name = tokenizerFileName(dir);
        if (tok.vocabSize() > config.vocabSize()) {
            throw new TandemException(dir + ": the tokenizer (" + name + ") has " + tok.vocabSize()
                    + " tokens but config.json says vocab_size " + config.vocabSize() + ": the tokenizer belongs to another model");
        }
        JsonNode n = JSON.readTree(dir.resolve(ModelFiles.CONFIG).toFile());
        int eot = tok.endOfText();
        for (String key : new String[] {"eos_token_id", "bos_token_id"}) {
            if (!n.path(key).canConvertToInt()) continue;
            int id = n.get(key).asInt();
            if (eot >= 0 && id != eot) {
                throw new TandemException(dir.resolve(name) + ": <|endoftext|> is token " + eot + ", but " + dir.resolve(ModelFiles.CONFIG)
                        + " says " + key + " " + id + ": the tokenizer belongs to another model (use the one saved with it)");
            }
            if (eot < 0 && (id < 0 || id >= tok.vocabSize())) {
                throw new TandemException(dir.resolve(ModelFiles.CONFIG) + ": " + key + " " + id + " is not a token of " + dir.resolve(name)
                        + " (" + tok.vocabSize() + " tokens, no <|endoftext|>): the tokenizer belongs to another model");
            }
        }
        Path json = dir.resolve(ModelFiles.TOKENIZER), vocab = dir.resolve(VOCAB), merges = dir.resolve(MERGES);
        if (Files.isRegularFile(json) && Files.isRegularFile(vocab) && Files.isRegularFile(merges)) {
            String why = difference(TokenizerJson.load(json), TokenizerJson.fromVocabAndMerges(vocab, merges));
            if (why != null) {
                throw new TandemException(dir + ": " + ModelFiles.TOKENIZER + " and " + VOCAB + " + " + MERGES + " are different tokenizers ("
                        + why + "): keep the pair the model was trained with");
            }
        }
    }

    /** How two tokenizers differ in what they encode and decode (vocabulary, merges), or null when they do not. */
    private static String difference(Tokenizer a, Tokenizer b) {
        if (a.vocabSize() != b.vocabSize()) return a.vocabSize() + " against " + b.vocabSize() + " tokens";
        for (int id = 0; id < a.vocabSize(); id++) {
            if (!Arrays.equals(a.tokenBytes(id), b.tokenBytes(id))) return "token " + id + " differs";
        }
        if (!a.merges().equals(b.merges())) return a.merges().size() + " against " + b.merges().size() + " merges, or another order";
        return null;
    }

    /** The model's shape from {@code config.json}, refusing GPT2Config settings Tandem's GPT-2 does not compute. */
    public static GPTConfig config(Path dir) throws IOException {
        requireDirectory(dir);
        Path file = dir.resolve(ModelFiles.CONFIG);
        if (!Files.isRegularFile(file)) throw new TandemException("no " + ModelFiles.CONFIG + " in " + dir + ": not a model directory");
        JsonNode n = JSON.readTree(file.toFile());
        String type = n.path("model_type").asText("gpt2");
        if (!type.equals("gpt2")) throw new TandemException(file + ": model_type is '" + type + "'; Tandem loads GPT-2 models only");
        String act = n.path("activation_function").asText("gelu_new");
        if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh")) {
            throw new TandemException(file + ": activation_function '" + act + "' is not GPT-2's tanh GELU (gelu_new)");
        }
        if (n.hasNonNull("n_inner") && n.get("n_inner").asInt() != 4 * n.path("n_embd").asInt()) {
            throw new TandemException(file + ": n_inner " + n.get("n_inner").asInt() + " is not 4·n_embd; Tandem's MLP is 4·n_embd wide");
        }
        if (!n.path("tie_word_embeddings").asBoolean(true)) {
            throw new TandemException(file + ": tie_word_embeddings is false; Tandem's output head is the token embedding");
        }
        return ModelFiles.readConfig(dir);
    }

    /** The tokenizer of {@code dir}: {@code tokenizer.json}, else {@code vocab.json} with {@code merges.txt}. */
    public static Tokenizer tokenizer(Path dir) {
        Path json = dir.resolve(ModelFiles.TOKENIZER);
        if (Files.isRegularFile(json)) return TokenizerJson.load(json);
        Path vocab = dir.resolve(VOCAB), merges = dir.resolve(MERGES);
        if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) return TokenizerJson.fromVocabAndMerges(vocab, merges);
        throw new TandemException(dir + " has no tokenizer: it needs " + ModelFiles.TOKENIZER + ", or " + VOCAB + " and " + MERGES
                + " (a model trains and generates with its own tokenizer)");
    }

    private static String tokenizerFileName(Path dir) {
        return Files.isRegularFile(dir.resolve(ModelFiles.TOKENIZER)) ? ModelFiles.TOKENIZER : VOCAB + " + " + MERGES;
    }

    /** The weight files of {@code dir}: the ones its index names, else {@code model.safetensors}. */
    static List<Path> weightFiles(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
            if (!map.isObject() || map.isEmpty()) throw new TandemException(index + ": no \"weight_map\" of tensor → file");
            Set<String> files = new LinkedHashSet<>();
            map.properties().forEach(e -> files.add(e.getValue().asText()));
            List<Path> out = new ArrayList<>();
            for (String f : files) {
                Path p = dir.resolve(f).normalize();
                if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p)) {
                    throw new TandemException(index + " names weight file '" + f + "', which is missing from " + dir);
                }
                out.add(p);
            }
            return out;
        }
        Path single = dir.resolve(ModelFiles.WEIGHTS);
        if (!Files.isRegularFile(single)) {
            throw new TandemException(dir + " has no weights: it needs " + ModelFiles.WEIGHTS + " or " + INDEX + " with its files");
        }
        return List.of(single);
    }

    /** Builds the model {@code config} describes and fills every parameter from the directory's weight files. */
    public static GPT weights(Path dir, GPTConfig config) throws IOException {
        return weights(dir, config, 0);
    }

    /**
     * As {@link #weights(Path, GPTConfig)}; with {@code quantizeBits} > 0 (a PEQA run) each float
     * linear-layer weight is quantized as soon as it is read ({@link Parameter#quantize}), so its
     * float32 copy is freed before the next is read: the whole float32 model never exists at once.
     * Each tensor's pages of the mapped file are released once it is converted, for the same reason.
     */
    public static GPT weights(Path dir, GPTConfig config, int quantizeBits) throws IOException {
        ModelChecksums.verify(dir);
        GPT model = GPT.empty(config);
        List<SafeTensors.Reader> readers = new ArrayList<>();
        try {
            Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
            Map<String, Path> fileOf = new LinkedHashMap<>();
            for (Path f : weightFiles(dir)) {
                SafeTensors.Reader r = SafeTensors.read(f);
                readers.add(r);
                r.entries().forEach((name, e) -> {
                    String n = name.startsWith("transformer.") ? name.substring("transformer.".length()) : name;
                    if (fileOf.containsKey(n)) throw new TandemException("tensor '" + n + "' is in both " + fileOf.get(n) + " and " + f);
                    entries.put(n, e);
                    fileOf.put(n, f);
                });
            }
            int peqaBits = PeqaLayout.bits(JSON.readTree(dir.resolve(ModelFiles.CONFIG).toFile()), dir.resolve(ModelFiles.CONFIG));
            for (Parameter p : model.parameters()) {
                if (peqaBits > 0 && dev.tandem.nn.Peqa.isLinearWeight(p.name())) {
                    PeqaLayout.load(p, peqaBits, entries, fileOf);
                    continue;
                }
                SafeTensors.Entry e = entries.remove(p.name());
                if (e == null) {
                    throw new TandemException(dir + ": missing tensor '" + p.name() + "' (looked in " + fileNames(fileOf, dir) + ")");
                }
                Path f = fileOf.get(p.name());
                if (!Arrays.equals(e.shape(), p.value().shape())) {
                    String hint = p.name().equals("wte.weight") ? " (config.json vocab_size " + config.vocabSize() + ")"
                            : p.name().equals("wpe.weight") ? " (config.json n_positions " + config.blockSize() + ")" : "";
                    throw new TandemException(f + ": tensor '" + p.name() + "' has shape " + Arrays.toString(e.shape())
                            + ", but config.json makes it " + Arrays.toString(p.value().shape()) + hint);
                }
                toFloat32(e, p.value().data(), f, p.name());
                if (e.bytes().isMapped()) e.bytes().unload();
                if (quantizeBits > 0 && dev.tandem.nn.Peqa.isLinearWeight(p.name())) p.quantize(quantizeBits);
            }
            requireTiedHead(entries.get("lm_head.weight"), fileOf.get("lm_head.weight"), model.param("wte.weight").value());
            entries.keySet().removeIf(HfImport::skipped);
            if (!entries.isEmpty()) {
                String name = entries.keySet().iterator().next();
                throw new TandemException(fileOf.get(name) + ": tensor '" + name + "' is not part of a GPT-2 model"
                        + (entries.size() > 1 ? " (and " + (entries.size() - 1) + " more)" : "") + ": is this a GPT-2 checkpoint?");
            }
            return model;
        } catch (RuntimeException | IOException ex) {
            model.close();
            throw ex;
        } finally {
            readers.forEach(SafeTensors.Reader::close);
        }
    }

    /**
     * A GPT-2 checkpoint may store its output head, which GPT-2 ties to the token embedding; one
     * whose head differs was trained untied, and loading only the embedding would silently change
     * the model, so it is refused.
     */
    private static void requireTiedHead(SafeTensors.Entry head, Path file, Tensor wte) {
        if (head == null) return;
        if (!Arrays.equals(head.shape(), wte.shape())) {
            throw new TandemException(file + ": tensor 'lm_head.weight' has shape " + Arrays.toString(head.shape()) + ", but the tied "
                    + "head of this GPT-2 is wte.weight " + Arrays.toString(wte.shape()) + ": untied output heads are not supported");
        }
        try (Tensor copy = Tensor.zeros(MemoryCategory.OTHER, wte.shape())) {
            toFloat32(head, copy.data(), file, "lm_head.weight");
            if (copy.data().mismatch(wte.data()) >= 0) {
                throw new TandemException(file + ": 'lm_head.weight' differs from 'wte.weight', so this model was trained with an untied "
                        + "output head, which Tandem's GPT-2 (head tied to the token embedding) cannot hold");
            }
        }
    }

    /** Buffers and tied copies a GPT-2 checkpoint may carry that are not parameters of their own. */
    private static boolean skipped(String name) {
        return name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias") || name.equals("lm_head.weight");
    }

    private static String fileNames(Map<String, Path> fileOf, Path dir) {
        Set<String> names = new LinkedHashSet<>();
        fileOf.values().forEach(p -> names.add(dir.relativize(p).toString()));
        return names.isEmpty() ? "no tensors at all" : String.join(", ", names);
    }

    /** Converts one tensor's F32, F16 or BF16 bytes to float32 in {@code out}. */
    static void toFloat32(SafeTensors.Entry e, MemorySegment out, Path file, String name) {
        MemorySegment in = e.bytes();
        long n = out.byteSize() / 4;
        switch (e.dtype()) {
            case F32 -> MemorySegment.copy(in, FLOAT, 0, out, ValueLayout.JAVA_FLOAT, 0, n);
            case F16 -> {
                for (long i = 0; i < n; i++) out.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.float16ToFloat(in.getAtIndex(HALF, i)));
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) out.setAtIndex(ValueLayout.JAVA_FLOAT, i, Precision.bf16ToFloat(in.getAtIndex(HALF, i)));
            }
            default -> throw new TandemException(file + ": tensor '" + name + "' is " + e.dtype() + "; weights must be F32, F16 or BF16");
        }
    }

    private static void requireDirectory(Path dir) {
        if (!Files.isDirectory(dir)) throw new TandemException("model directory " + dir + " does not exist");
    }
}
