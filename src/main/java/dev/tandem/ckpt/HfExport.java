package dev.tandem.ckpt;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Consolidates a (possibly sharded) checkpoint into a Hugging Face GPT-2 model directory:
 * {@code model.safetensors} with whole parameters under GPT-2 names, {@code config.json} with
 * GPT2Config fields, and the {@code tokenizer.json} the run trained with. Optimizer state stays
 * behind: the export is for inference and fine-tuning elsewhere.
 */
public final class HfExport {
    private HfExport() {}

    /**
     * @param tokenizer a tokenizer.json to use instead of the one saved in the checkpoint, or null
     * @return the tokenizer file that was copied
     */
    public static Path export(Checkpoint c, Path out, Path tokenizer) throws IOException {
        Path tok = tokenizer != null ? tokenizer : c.tokenizer();
        if (tok == null) {
            throw new TandemException("checkpoint " + c.dir() + " has no tokenizer.json: pass the run's tokenizer with --tokenizer FILE");
        }
        try (GPT model = Restore.model(c)) {
            ModelFiles.save(out, model, tok);
        }
        return tok;
    }

    /** A checkpoint directory, or a directory of them (then the newest valid one). */
    public static Checkpoint openAny(Path path, java.util.function.Consumer<String> log) {
        if (java.nio.file.Files.isRegularFile(path.resolve(Manifest.FILE)) || Checkpoints.newestFirst(path).isEmpty()) {
            return Checkpoint.open(path);
        }
        Checkpoint c = Checkpoints.latest(path, log);
        if (c == null) throw new TandemException("no valid checkpoint under " + path);
        return c;
    }
}
