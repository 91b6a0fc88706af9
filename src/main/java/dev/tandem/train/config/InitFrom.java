package dev.tandem.train.config;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.ckpt.HfImport;
import dev.tandem.ckpt.ModelFiles;
import dev.tandem.nn.GPTConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * {@code model.init_from}: a run that starts from a model directory takes the model's shape from
 * its config.json and its tokenizer from the directory, so that the weights fit and the new corpus
 * is read with the tokens the model knows. A shape key set to something else, or another
 * tokenizer, is an error naming the key rather than a model that cannot load.
 */
final class InitFrom {
    private InitFrom() {}

    static void fill(ObjectNode tree, Set<String> given) {
        ObjectNode model = (ObjectNode) tree.get("model");
        String from = model.path("init_from").asText("");
        if (from.isBlank()) return;
        Path dir = Path.of(from);
        GPTConfig c;
        try {
            c = HfImport.config(dir);
        } catch (IOException e) {
            throw new TandemException("model.init_from: cannot read " + dir + ": " + e.getMessage(), e);
        }
        Map<String, Integer> shape = Map.of("n_layer", c.nLayer(), "n_head", c.nHead(), "n_embd", c.nEmbd(), "block_size", c.blockSize());
        shape.forEach((key, value) -> {
            if (given.contains("model." + key) && model.path(key).asInt() != value) {
                throw new TandemException("model." + key + " is " + model.path(key).asText() + " but the model in " + dir + " has "
                        + value + ": drop model." + key + " (model.init_from gives the shape)");
            }
            model.put(key, value);
        });
        if (c.stableEmbedding()) model.put("stable_embedding", true);
        if (c.parscale() > 1) {
            model.put("parscale", c.parscale());
            model.put("parscale_prefix", c.parscalePrefix());
        }
        ObjectNode data = (ObjectNode) tree.get("data");
        Path tokenizer = Files.isRegularFile(dir.resolve(ModelFiles.TOKENIZER)) ? dir.resolve(ModelFiles.TOKENIZER) : dir;
        if (given.contains("data.tokenizer") && !Path.of(data.path("tokenizer").asText()).equals(tokenizer)) {
            throw new TandemException("data.tokenizer is set, but a model started from " + dir + " reads text with its own tokenizer: "
                    + "drop data.tokenizer");
        }
        data.put("tokenizer", tokenizer.toString());
    }
}
