package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.optim.AdamW;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingTest {
    @TempDir Path tmp;

    /** A model that can memorise one batch must drive its loss towards zero. */
    @Test
    void overfitsASingleBatch() {
        GPTConfig cfg = new GPTConfig(2, 2, 32, 50, 16);
        SplittableRandom rng = new SplittableRandom(3);
        try (GPT model = GPT.initialized(cfg, 7);
             AdamW opt = new AdamW(model.parameters(), new AdamW.Settings(0.9f, 0.95f, 1e-8f, 0f), TestKernels.FAST);
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 4, 16);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 4, 16)) {
            for (int i = 0; i < 64; i++) {
                ids.setInt(i, rng.nextInt(50));
                targets.setInt(i, rng.nextInt(50));
            }
            double first = 0, last = 0;
            for (int step = 0; step < 150; step++) {
                model.zeroGrad();
                try (Tape tape = new Tape(Hooks.NONE)) {
                    last = model.loss(new Ops(tape, TestKernels.FAST), ids, targets, 1f);
                    tape.backward();
                }
                if (step == 0) first = last;
                opt.step(3e-3f);
            }
            assertThat(first).isGreaterThan(3.5); // ≈ ln 50 at initialisation
            assertThat(last).isLessThan(0.05);
        }
        assertThat(MemoryAccounting.current().live(MemoryCategory.PARAMETERS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.GRADIENTS)).isZero();
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
    }

    private TrainConfig tiny(String name) {
        return TrainConfig.load(null, Map.ofEntries(
                Map.entry("model.n_layer", "1"), Map.entry("model.n_head", "2"), Map.entry("model.n_embd", "32"), Map.entry("model.block_size", "32"),
                Map.entry("data.batch_size", "4"), Map.entry("parallel.micro_batches", "2"), Map.entry("run.steps", "6"),
                Map.entry("optim.warmup_steps", "2"), Map.entry("eval.every", "3"), Map.entry("eval.batches", "2"),
                Map.entry("run.name", name), Map.entry("run.runs_dir", tmp.toString())));
    }

    private Trainer.Result train(TrainConfig cfg) {
        return Trainer.runSingle(cfg, new PrintStream(new ByteArrayOutputStream()), false);
    }

    /** Same seed and config ⇒ bit-identical losses, and every artefact of a run is written. */
    @Test
    void sameSeedGivesBitIdenticalLosses() throws Exception {
        Trainer.Result a = train(tiny("a"));
        Trainer.Result b = train(tiny("b"));
        assertThat(a.steps()).hasSize(6);
        for (int i = 0; i < a.steps().size(); i++) {
            assertThat(Double.doubleToRawLongBits(b.steps().get(i).loss()))
                    .as("step %d", i).isEqualTo(Double.doubleToRawLongBits(a.steps().get(i).loss()));
        }
        assertThat(b.lastEval().loss()).isEqualTo(a.lastEval().loss());
        assertThat(a.evals()).hasSize(2);
        assertThat(a.lastEval().bitsPerByte()).isPositive();
        assertThat(Files.readAllLines(a.runDir().resolve("metrics.jsonl"))).hasSize(8);
        assertThat(Files.size(a.runDir().resolve("loss.png"))).isPositive();
        assertThat(a.modelDir().resolve("model.safetensors")).exists();
        assertThat(a.modelDir().resolve("tokenizer.json")).exists();
        assertThat(MemoryAccounting.current().liveTotal()).isZero();
    }

    /** Gradient accumulation over micro-batches equals one big batch (up to float summation order). */
    @Test
    void microBatchesMatchOneBatch() {
        TrainConfig two = tiny("m2");
        TrainConfig one = TrainConfig.load(null, Map.ofEntries(
                Map.entry("model.n_layer", "1"), Map.entry("model.n_head", "2"), Map.entry("model.n_embd", "32"), Map.entry("model.block_size", "32"),
                Map.entry("data.batch_size", "4"), Map.entry("parallel.micro_batches", "1"), Map.entry("run.steps", "6"),
                Map.entry("optim.warmup_steps", "2"), Map.entry("eval.every", "3"), Map.entry("eval.batches", "2"),
                Map.entry("run.name", "m1"), Map.entry("run.runs_dir", tmp.toString())));
        Trainer.Result a = train(one), b = train(two);
        for (int i = 0; i < 6; i++) {
            double la = a.steps().get(i).loss(), lb = b.steps().get(i).loss();
            assertThat(Math.abs(la - lb) / la).as("step %d", i).isLessThan(1e-5);
        }
    }
}
