package dev.tandem.ckpt;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A trained model and its tokenizer, from whatever a user points at: a model directory (written by
 * {@code tandem train} or {@code export}: config.json, model.safetensors, tokenizer.json), a
 * checkpoint step directory, or a directory of checkpoints (the newest valid one). The caller
 * closes the model.
 */
public record TrainedModel(GPT model, Path tokenizer, String source) {

    /** Opens {@code path}; {@code log} hears of newer checkpoints skipped because they do not verify. */
    public static TrainedModel open(Path path, Consumer<String> log) {
        if (!Files.isDirectory(path)) throw new TandemException(path + " does not exist (pass a model directory or a checkpoint)");
        try {
            if (Files.isRegularFile(path.resolve(ModelFiles.CONFIG))) {
                Path tok = path.resolve(ModelFiles.TOKENIZER);
                if (!Files.isRegularFile(tok)) throw new TandemException("no " + ModelFiles.TOKENIZER + " in " + path);
                return new TrainedModel(ModelFiles.load(path), tok, "model directory " + path);
            }
            if (!Files.isRegularFile(path.resolve(Manifest.FILE)) && Checkpoints.newestFirst(path).isEmpty()) {
                throw new TandemException(path + " holds neither a model (" + ModelFiles.CONFIG + ") nor checkpoints (step-NNNNNNNN/"
                        + Manifest.FILE + "): pass runs/<name>/model, runs/<name>/checkpoints or one of its step directories");
            }
            try (Checkpoint c = HfExport.openAny(path, log)) {
                Path tok = c.tokenizer();
                if (tok == null) throw new TandemException("checkpoint " + c.dir() + " has no tokenizer.json");
                GPT model = GPT.empty(c.modelConfig());
                try {
                    Restore.parameters(c, model.parameters());
                } catch (RuntimeException e) {
                    model.close();
                    throw e;
                }
                return new TrainedModel(model, tok, "checkpoint " + c.dir() + " (step " + c.step() + ")");
            }
        } catch (IOException e) {
            throw new TandemException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }
}
