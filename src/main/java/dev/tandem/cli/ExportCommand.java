package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.ckpt.Checkpoint;
import dev.tandem.ckpt.HfExport;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem export --hf DIR --checkpoint CKPT}: a Hugging Face GPT-2 directory from a (sharded) checkpoint. */
@Command(name = "export", mixinStandardHelpOptions = true,
        header = "Export a checkpoint as a Hugging Face GPT-2 model directory.",
        description = {
        "Writes model.safetensors + config.json + tokenizer.json (from any number of rank shards), loadable with",
        "GPT2LMHeadModel.from_pretrained(DIR)."})
final class ExportCommand implements Runnable {
    @Option(names = "--hf", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--checkpoint", required = true, paramLabel = "CKPT",
            description = "A checkpoint directory (step-NNNNNNNN), or a directory of them (the newest valid one is used).")
    Path checkpoint;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json to ship instead of the checkpoint's own.")
    Path tokenizer;

    @Override
    public void run() {
        try (Checkpoint c = HfExport.openAny(checkpoint, m -> System.out.println("export: " + m))) {
            long t0 = System.nanoTime();
            System.out.printf("export: gathering %,d parameters from %d shard file(s) of %s...%n", c.modelConfig().totalParameters(),
                    c.manifest().path("files").size(), c.dir());
            HfExport.export(c, out, tokenizer);
            System.out.printf("export: done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            var m = c.modelConfig();
            System.out.printf("exported %s (step %d; GPT-2 n_layer %d, n_head %d, n_embd %d, vocab %d, block %d) to %s%n", c.dir(), c.step(),
                    m.nLayer(), m.nHead(), m.nEmbd(), m.vocabSize(), m.blockSize(), out);
        } catch (IOException e) {
            throw new TandemException("cannot export to " + out + ": " + e.getMessage(), e);
        }
    }
}
