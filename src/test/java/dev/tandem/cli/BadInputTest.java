package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input ⇒ exactly one clear error line, a non-zero exit code and no stack trace. */
class BadInputTest {
    @TempDir Path tmp;

    private String runExpectingError(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args);
        String text = err.toString().strip();
        assertThat(code).as("exit code of %s", String.join(" ", args)).isNotZero();
        assertThat(text.lines().count()).as("error output: %s", text).isEqualTo(1);
        assertThat(text).startsWith("tandem: ").doesNotContain("Exception", "\tat ");
        return text;
    }

    private String[] train(String... extra) {
        String[] base = {"train", "--run.runs_dir", tmp.toString(), "--run.steps", "1", "--model.n_layer", "1", "--model.n_embd", "16",
                "--model.n_head", "2", "--model.block_size", "8", "--data.batch_size", "2", "--data.tokenizer", tmp.resolve("tok.json").toString(),
                "--data.vocab_size", "300"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void missingCorpus() {
        assertThat(runExpectingError(train("--data.corpus", tmp.resolve("nope.txt").toString()))).contains("nope.txt", "does not exist");
    }

    @Test
    void emptyCorpus() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        assertThat(runExpectingError(train("--data.corpus", empty.toString()))).contains("empty");
    }

    @Test
    void nonUtf8Corpus() throws Exception {
        Path bad = Files.write(tmp.resolve("latin1.txt"), "caf\u00e9 au lait, encore du caf\u00e9".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(runExpectingError(train("--data.corpus", bad.toString()))).contains("not valid UTF-8", "byte offset 3");
    }

    @Test
    void unknownConfigKey() {
        assertThat(runExpectingError("train", "--model.n_layers", "2")).contains("unknown config key 'model.n_layers'", "n_layer");
        assertThat(runExpectingError("train", "--modle.n_layer", "2")).contains("unknown config section 'modle'", "model");
        assertThat(runExpectingError("train", "--n_layer", "2")).contains("--n_layer is now --model.n_layer");
    }

    @Test
    void unknownKeyInConfigFile() throws Exception {
        Path cfg = Files.writeString(tmp.resolve("c.toml"), "[model]\nn_layer = 2\nlearning_rate = 0.1\n");
        assertThat(runExpectingError("train", "--config", cfg.toString())).contains("'model.learning_rate'", cfg.toString());
        Path flat = Files.writeString(tmp.resolve("flat.toml"), "n_layer = 2\nlr = 0.1\n");
        assertThat(runExpectingError("train", "--config", flat.toString())).contains("flat keys of an earlier version",
                "n_layer → model.n_layer", "lr → optim.lr");
    }

    @Test
    void wronglyTypedValue() {
        assertThat(runExpectingError("train", "--run.steps", "many")).contains("'run.steps'");
    }

    @Test
    void impossibleShape() {
        assertThat(runExpectingError("train", "--model.n_embd", "100", "--model.n_head", "3")).contains("model.n_embd (100) is not divisible by model.n_head (3)");
    }

    @Test
    void indivisibleBatch() {
        assertThat(runExpectingError("train", "--data.batch_size", "5", "--parallel.micro_batches", "2")).contains("batch_size 5 is not divisible by dp·micro_batches");
    }

    @Test
    void promptLongerThanBlockSize() throws Exception {
        assertThat(Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                train("--run.name", "p", "--data.corpus", "data/tinyshakespeare.txt", "--eval.batches", "1"))).isZero();
        Path model = tmp.resolve("p").resolve("model");
        String longPrompt = "ROMEO: ".repeat(40);
        assertThat(runExpectingError("generate", "--checkpoint", model.toString(), "--prompt", longPrompt)).contains("block_size is 8");
    }

    @Test
    void missingCheckpoint() {
        assertThat(runExpectingError("generate", "--checkpoint", tmp.resolve("none").toString(), "--prompt", "x")).contains("does not exist");
    }
}
