package dev.tandem.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configs, plans and datasets built through the API, and bad input refused with a message that names the problem. */
class ApiInputTest {
    @TempDir Path tmp;

    @Test
    void builderSetsTheConfigKeys() {
        Training t = Training.builder().model(1, 2, 32, 16).steps(7).lr(1e-3).batchSize(4).evalEvery(3).checkpointEvery(2)
                .checkpointAsync(false).runsDir(tmp).name("cfg").set("optim.beta2", 0.99).build();
        String toml = t.toToml();
        assertThat(toml).contains("n_layer = 1", "n_head = 2", "n_embd = 32", "block_size = 16", "steps = 7", "lr = 0.001",
                "batch_size = 4", "every = 3", "every = 2", "async = false", "beta2 = 0.99", "name = \"cfg\"");
        assertThat(t.ranks()).isEqualTo(1);
        assertThat(t.plan()).isEqualTo(ParallelPlan.single());
        assertThat(t.runDir()).isEqualTo(tmp.resolve("cfg"));
    }

    @Test
    void aPlanTakesTheTrainingsOptimizerAndSetsTheRanks() {
        ParallelPlan p = ParallelPlan.parse("dp=2 zero=1 micro_batches=2");
        assertThat(p.ranks()).isEqualTo(2);
        assertThat(p.dp()).isEqualTo(2);
        assertThat(p.tp()).isEqualTo(1);
        assertThat(p.pp()).isEqualTo(1);
        assertThat(p.zeroStage()).isEqualTo(1);
        assertThat(p.microBatches()).isEqualTo(2);
        assertThat(ParallelPlan.parse(p.label())).isEqualTo(p);
        Training t = Training.builder().model(1, 2, 32, 16).batchSize(8).plan(p).optimizer("lion").build();
        assertThat(t.ranks()).isEqualTo(2);
        assertThat(t.plan().label()).contains("dp=2", "zero=1", "micro_batches=2", "optimizer=lion");
        assertThat(Training.builder().plan("tp=2 pp=1").model(1, 2, 32, 16).build().ranks()).isEqualTo(2);
    }

    @Test
    void datasetsFromTokensTextAndFiles() throws Exception {
        String text = "to be or not to be, that is the question. ".repeat(20);
        TextTokenizer tok = TextTokenizer.train(text, 270);
        assertThat(tok.vocabSize()).isEqualTo(270);
        assertThat(tok.decode(tok.encode("to be or not"))).isEqualTo("to be or not");
        Dataset fromText = Dataset.fromText(text, tok);
        assertThat(fromText.vocabSize()).isEqualTo(270);
        assertThat(fromText.tokenizer()).contains(tok);
        Dataset ids = Dataset.fromTokens(new int[] {1, 2, 3, 4}, 5);
        assertThat(ids.vocabSize()).isEqualTo(5);
        assertThat(ids.tokenizer()).isEmpty();
        assertThat(Dataset.fromTokens(tok.encode(text), tok).vocabSize()).isEqualTo(270);
        Path corpus = Files.writeString(tmp.resolve("corpus.txt"), text);
        tok.save(tmp.resolve("tok.json"));
        Dataset files = Dataset.fromFiles(corpus, tmp.resolve("tok.json"));
        assertThat(files.vocabSize()).isEqualTo(270);
        assertThat(files.toString()).contains("corpus.txt");
    }

    @Test
    void badModelShapes() {
        assertThatThrownBy(() -> ModelShape.of(1, 3, 32, 16)).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.n_embd (32) is not divisible by model.n_head (3)");
        assertThatThrownBy(() -> ModelShape.of(0, 2, 32, 16)).hasMessageContaining("model.n_layer must be a positive integer, got 0");
        assertThatThrownBy(() -> Training.builder().model(1, 3, 32, 16).build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.n_embd (32) is not divisible by model.n_head (3)");
    }

    @Test
    void badTrainingSettingsNameTheKey() {
        assertThatThrownBy(() -> Training.builder().steps(0).build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("run.steps must be a positive integer, got 0");
        assertThatThrownBy(() -> Training.builder().set("optim.lr", "fast").build()).hasMessageContaining("'optim.lr'")
                .hasMessageContaining("wrong type");
        assertThatThrownBy(() -> Training.builder().set("optim.nope", 1).build())
                .hasMessageContaining("unknown config key 'optim.nope'").hasMessageContaining("lr");
        assertThatThrownBy(() -> Training.builder().optimizer("adamx").build()).hasMessageContaining("optimizer must be one of")
                .hasMessageContaining("'adamx'");
        assertThatThrownBy(() -> Training.builder().name("my run").build()).hasMessageContaining("run.name");
        assertThatThrownBy(() -> Training.builder().valFraction(1.5).build()).hasMessageContaining("data.val_fraction");
        assertThatThrownBy(() -> Training.builder().config(tmp.resolve("none.toml")).build()).hasMessageContaining("config file not found")
                .hasMessageContaining("none.toml");
    }

    @Test
    void badPlansNameTheKey() {
        assertThatThrownBy(() -> ParallelPlan.parse("dp=2 bogus=1")).isInstanceOf(TandemException.class).hasMessageContaining("bogus");
        assertThatThrownBy(() -> Training.builder().plan("dp=2").batchSize(3).build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("batch_size");
        assertThatThrownBy(() -> Training.builder().plan("dp=2").set("parallel.zero", 1).build())
                .hasMessageContaining("plan(...) gives the whole plan, but parallel.zero is set too");
        assertThatThrownBy(() -> Training.builder().model(1, 2, 32, 16).plan("tp=4").build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("tp");
    }

    @Test
    void badDataNamesTheProblem() throws Exception {
        assertThatThrownBy(() -> Dataset.fromTokens(new int[] {1, 2, 70, 3}, 64)).isInstanceOf(TandemException.class)
                .hasMessageContaining("token 2 is 70, outside the vocabulary of 64");
        assertThatThrownBy(() -> Dataset.fromTokens(new int[] {1, -1}, 64)).hasMessageContaining("token 1 is -1");
        assertThatThrownBy(() -> Dataset.fromTokens(new int[] {1, 2}, 0)).hasMessageContaining("vocabulary size must be positive");
        TextTokenizer tok = TextTokenizer.train("some text to learn from", 260);
        assertThatThrownBy(() -> Dataset.fromText("", tok)).hasMessageContaining("empty");
        assertThatThrownBy(() -> TextTokenizer.train("text", 100)).hasMessageContaining("between 257");
        assertThatThrownBy(() -> Dataset.fromTokens(new int[] {1, 2, 300}, tok)).hasMessageContaining("token 2 is 300");
        assertThatThrownBy(() -> Dataset.fromFiles(tmp.resolve("nope.txt"), tmp.resolve("tok.json")))
                .hasMessageContaining("corpus").hasMessageContaining("nope.txt").hasMessageContaining("does not exist");
        Path corpus = Files.writeString(tmp.resolve("c.txt"), "text");
        assertThatThrownBy(() -> Dataset.fromFiles(corpus, tmp.resolve("tok.json"))).hasMessageContaining("tok.json")
                .hasMessageContaining("TextTokenizer.train");
        assertThatThrownBy(() -> TextTokenizer.load(tmp.resolve("missing.json"))).hasMessageContaining("missing.json");
        assertThatThrownBy(() -> tok.decode(new int[] {5000})).isInstanceOf(TandemException.class).hasMessageContaining("5000");
    }

    @Test
    void badSamplingAndModelPaths() throws Exception {
        assertThatThrownBy(() -> new Sampling(-1, 0, 1, 1)).isInstanceOf(TandemException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampling(1, -2, 1, 1)).hasMessageContaining("top-k");
        assertThatThrownBy(() -> new Sampling(1, 0, 0, 1)).hasMessageContaining("top-p");
        assertThatThrownBy(() -> TrainedModel.load(tmp.resolve("nothing"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("nothing").hasMessageContaining("does not exist");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> TrainedModel.load(empty)).hasMessageContaining("is not a model directory");
    }
}
