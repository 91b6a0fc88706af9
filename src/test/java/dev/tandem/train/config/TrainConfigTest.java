package dev.tandem.train.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.plan.ModelConfigLoader;
import dev.tandem.plan.ModelSpec;
import dev.tandem.plan.Plan;
import dev.tandem.plan.Recompute;
import dev.tandem.plan.ZeroStage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The config's typed sections: files, overrides, the plan, and the errors a user sees for each kind of mistake. */
class TrainConfigTest {
    @TempDir Path tmp;

    private TrainConfig file(String toml, Map<String, String> overrides) throws Exception {
        Path f = Files.writeString(tmp.resolve("c.toml"), toml);
        return TrainConfig.load(f, overrides);
    }

    @Test
    void everySectionIsReadFromAFile() throws Exception {
        TrainConfig c = file("""
                [model]
                n_layer = 2
                n_head = 2
                n_embd = 64
                block_size = 32
                stable_embedding = true

                [data]
                corpus = "my.txt"
                tokenizer = "tok.json"
                vocab_size = 512
                val_fraction = 0.2
                batch_size = 8

                [optim]
                name = "lion"
                lr = 3e-4
                min_lr = 1e-5
                warmup_steps = 5
                schedule = "wsd"
                decay_fraction = 0.3
                weight_decay = 0.05
                beta1 = 0.8
                beta2 = 0.9
                grad_clip = 0.5
                options = "beta2=0.98"
                param_groups = "wte: lr=0.5"

                [parallel]
                dp = 2
                tp = 2
                zero = 1
                micro_batches = 2
                recompute = "full,none"
                sequence_parallel = true

                [eval]
                every = 50
                batches = 3

                [checkpoint]
                every = 10
                steps = "15,25"
                dir = "ck"
                keep_last = 4
                keep_every = 20
                resume = "latest"
                async = false

                [run]
                name = "mine"
                runs_dir = "out"
                steps = 30
                stop_after = 20
                seed = 7
                threads = 1
                log_every = 5
                tensorboard = false
                """, Map.of());
        assertThat(c.model()).isEqualTo(new ModelSection(2, 2, 64, 32, true));
        assertThat(c.data()).isEqualTo(new DataSection("my.txt", "tok.json", 512, 0.2, 8, ""));
        assertThat(c.optim()).isEqualTo(new OptimSection("lion", 3e-4f, 1e-5f, 5, "wsd", 0.3, 0.05f, 0.8f, 0.9f, 0.5, "beta2=0.98",
                "wte: lr=0.5"));
        assertThat(c.parallel().label()).isEqualTo("dp=2 tp=2 pp=1 zero=1 micro_batches=2 schedule=1f1b recompute=full,none "
                + "sequence_parallel=true offload=none precision=fp32 optimizer=lion");
        assertThat(c.eval()).isEqualTo(new EvalSection(50, 3));
        assertThat(c.checkpoint()).isEqualTo(new CheckpointSection(10, "15,25", "ck", 4, 20, "latest", false));
        assertThat(c.run()).isEqualTo(new RunSection("mine", "out", 30, 20, 7, 1, 5, false, 0, 100, false, 0));
        assertThat(c.lastStep()).isEqualTo(20);
        assertThat(c.checkpointRoot()).isEqualTo(Path.of("ck"));
        assertThat(c.savesAfter(15)).isTrue();
        assertThat(c.savesAfter(16)).isFalse();
        assertThat(c.savesAfter(20)).as("the invocation's last step").isTrue();
    }

    @Test
    void overridesReplaceWhatTheFileSays() throws Exception {
        TrainConfig c = file("[optim]\nlr = 1e-3\n[parallel]\ndp = 2\n", Map.of("optim.lr", "3e-4", "parallel.zero", "2",
                "run.steps", "7", "model.stable-embedding", "true"));
        assertThat(c.optim().lr()).isEqualTo(3e-4f);
        assertThat(c.parallel().dp()).isEqualTo(2);
        assertThat(c.parallel().zero()).isEqualTo(ZeroStage.ZERO2);
        assertThat(c.run().steps()).isEqualTo(7);
        assertThat(c.model().stableEmbedding()).isTrue();
        assertThat(c.parallel().optimizer().name()).as("the plan runs optim.name").isEqualTo("adamw");
    }

    @Test
    void thePlanLabelIsTheWholeParallelSection() {
        TrainConfig c = TrainConfig.load(null, Map.of("parallel.plan", "dp=2 tp=1 pp=1 zero=2 micro_batches=4 recompute=full",
                "optim.name", "sgd"));
        assertThat(c.parallel().zero()).isEqualTo(ZeroStage.ZERO2);
        assertThat(c.parallel().recompute().heaviest()).isEqualTo(Recompute.FULL);
        assertThat(c.parallel().optimizer().name()).isEqualTo("sgd");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("parallel.plan", "dp=2", "parallel.zero", "1")))
                .hasMessageContaining("use either the label or the keys");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("parallel.plan", "dp=2 optimizer=lion")))
                .hasMessageContaining("runs optimizer lion but optim.name is adamw");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("parallel.plan", "dp=2 mb=8")))
                .hasMessageContaining("[parallel]").hasMessageContaining("key 'mb' is now micro_batches");
    }

    @Test
    void theResolvedConfigPrintsAsTomlThatReadsBack() throws Exception {
        TrainConfig c = TrainConfig.load(null, Map.of("parallel.plan", "dp=2 pp=2 micro_batches=2 schedule=gpipe stage_layers=3,1",
                "optim.lr", "1.5e-3", "data.corpus", "a \"quoted\" path\\x.txt", "checkpoint.steps", "5,9", "run.tensorboard", "false"));
        String toml = c.toToml();
        assertThat(toml).contains("[parallel]\ndp = 2\n").contains("stage_layers = [3, 1]").contains("tensorboard = false\n")
                .doesNotContain("optimizer =")
                .doesNotContain("plan =");
        Path f = Files.writeString(tmp.resolve("printed.toml"), toml);
        assertThat(TrainConfig.load(f, Map.of())).isEqualTo(c);
        Path json = Files.writeString(tmp.resolve("printed.json"), c.toJson());
        assertThat(TrainConfig.load(json, Map.of())).as("the train-config.json a run writes").isEqualTo(c);
        assertThat(TrainConfig.load(null, Map.of())).isEqualTo(TrainConfig.defaults());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "model.n_layer | 0 | model.n_layer must be a positive integer",
            "model.n_head | 5 | model.n_embd (192) is not divisible by model.n_head (5)",
            "data.batch_size | 0 | data.batch_size must be a positive integer",
            "data.val_fraction | 1.5 | data.val_fraction must be between 0 and 1",
            "optim.name | adam | optimizer must be one of",
            "optim.schedule | step | unknown lr schedule 'step'",
            "optim.grad_clip | -1 | optim.grad_clip must be >= 0",
            "optim.lr | fast | 'optim.lr' has a value of the wrong type",
            "parallel.zero | 5 | zero (the ZeRO stage) must be 0, 1, 2 or 3",
            "parallel.micro_batches | 3 | batch_size 16 is not divisible by dp·micro_batches = 1·3",
            "parallel.sequence_parallel | true | sequence_parallel = true needs tp > 1",
            "parallel.offload | always | offload must be none or optimizer",
            "parallel.offload | optimizer | moves state out of a fast tier of limited size: set memory.budget",
            "memory.budget | lots | memory.budget must be a size such as 2GiB",
            "memory.tier | tape | memory.tier must be file, cxl or ram",
            "memory.file_access | odirect | memory.file_access must be mmap or pread",
            "memory.stride | -2 | memory.stride must be -1 (measure), 0 (no interleaving) or k >= 1",
            "parallel.precision | mixed | the runtime trains in float32: use precision = fp32",
            "parallel.tp | 3 | tp = 3 must divide the heads (4)",
            "parallel.plan | cp=2 tp=2 | use tp = 1 and pp = 1 with cp = 2",
            "parallel.hdp | maybe | hdp must be true or false",
            "eval.every | -1 | eval.every must be >= 0",
            "eval.batches | 0 | eval.batches must be a positive integer",
            "checkpoint.steps | 5,x | checkpoint.steps must be optimizer step counts",
            "checkpoint.keep_last | -1 | checkpoint.keep_last",
            "checkpoint.async | maybe | 'checkpoint.async' has a value of the wrong type",
            "run.name | a/b | run.name must be letters",
            "run.steps | 0 | run.steps must be a positive integer",
            "run.threads | -2 | run.threads must be >= 0",
            "run.tensorboard | maybe | 'run.tensorboard' has a value of the wrong type",
    })
    void aBadValueIsNamedWithItsKey(String key, String value, String message) {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of(key, value))).isInstanceOf(TandemException.class)
                .hasMessageContaining(message);
    }

    @Test
    void memoryBudgetHasAShortOption() {
        TrainConfig c = TrainConfig.load(null, Map.of("memory_budget", "2GiB", "parallel.offload", "optimizer"));
        assertThat(c.memory().budgetBytes()).isEqualTo(2L << 30);
        assertThat(c.parallel().offload()).isEqualTo(dev.tandem.plan.Offload.OPTIMIZER);
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("memory_budget", "2GiB", "parallel.offload", "optimizer",
                "optim.name", "lion"))).hasMessageContaining("offload = optimizer runs with optimizer adamw");
    }

    @Test
    void badKeysAreNamedWithWhereTheyBelong() throws Exception {
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optim.learning_rate", "1"))).hasMessageContaining(
                "unknown config key 'optim.learning_rate' on the command line; [optim] has: name, lr");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("optimizer.lr", "1"))).hasMessageContaining("unknown config section 'optimizer'");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("steps", "1"))).hasMessageContaining("--steps is now --run.steps");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("nproc", "2"))).hasMessageContaining("parallel.dp");
        assertThatThrownBy(() -> TrainConfig.load(null, Map.of("bogus", "1"))).hasMessageContaining("unknown option --bogus");
        assertThatThrownBy(() -> file("[parallel]\noptimizer = \"lion\"\n", Map.of())).hasMessageContaining("set as name under [optim]");
        assertThatThrownBy(() -> file("[model]\nn_layers = 2\n", Map.of())).hasMessageContaining("'model.n_layers'");
        assertThatThrownBy(() -> file("model = 2\n", Map.of())).hasMessageContaining("must be a table");
        assertThatThrownBy(() -> file("[training]\nsteps = 2\n", Map.of())).hasMessageContaining("unknown config section or key 'training'");
        assertThatThrownBy(() -> file("steps = 10\nzero = 2\n[model]\nn_layer = 2\n", Map.of()))
                .hasMessageContaining("flat keys of an earlier version").hasMessageContaining("steps → run.steps")
                .hasMessageContaining("zero → parallel.zero");
        assertThatThrownBy(() -> file("[model]\nn_layer = 2\nn_head = = 3\n", Map.of())).hasMessageContaining("cannot parse config file")
                .hasMessageContaining("at line 3");
        assertThatThrownBy(() -> TrainConfig.load(tmp.resolve("missing.toml"), Map.of())).hasMessageContaining("config file not found");
    }

    @Test
    void thePlannerReadsTheModelOfARunsConfig() throws Exception {
        Path f = Files.writeString(tmp.resolve("train-config.json"), TrainConfig.defaults().toJson());
        ModelSpec m = ModelConfigLoader.load(f);
        assertThat(List.of(m.layers(), m.hidden(), m.heads(), m.vocab(), m.seq())).containsExactly(4, 192, 4, 2048, 128);
    }

    @Test
    void theNumberOfRanksIsThePlans() {
        Plan p = TrainConfig.load(null, Map.of("parallel.dp", "2", "parallel.tp", "2", "parallel.pp", "2",
                "parallel.micro_batches", "2")).parallel();
        assertThat(p.worldSize()).isEqualTo(8);
    }
}
