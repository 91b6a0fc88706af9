package dev.tandem.bench;

import dev.tandem.data.Batch;
import dev.tandem.data.EvalBatches;
import dev.tandem.data.TokenDataset;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.Trainer;
import dev.tandem.train.config.TrainConfig;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** What the fine-tuning and ParScale benchmarks share: a quiet training run, and a model's loss on evaluation windows. */
final class FinetuneRuns {
    private FinetuneRuns() {}

    /** Trains the config that {@code overrides} give, on one rank in this JVM, printing nothing. */
    static Trainer.Result train(Map<String, String> overrides, int threads) {
        TrainConfig cfg = TrainConfig.load(null, overrides);
        return Trainer.runSingle(cfg, new PrintStream(OutputStream.nullOutputStream()), false, threads);
    }

    /** Median of the steps' tokens/s after the first {@code skip} (JIT and first-touch). */
    static double medianTokensPerSecond(List<StepMetrics> steps, int skip) {
        List<Double> v = steps.stream().skip(Math.min(skip, steps.size() - 1)).map(StepMetrics::tokensPerSecond).sorted().toList();
        return v.get(v.size() / 2);
    }

    /** Mean loss (nats/token) of {@code model} on the validation windows a run of that batch and block evaluates. */
    static double validationLoss(GPT model, TokenDataset data, int batch, int block, int windows, Kernels kernels) {
        double nats = 0;
        long tokens = 0;
        for (Batch b : new EvalBatches(data.validation(), batch, block, windows)) {
            try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize());
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize());
                 Tape tape = Tape.inference()) {
                b.copyTo(ids, targets);
                nats += model.loss(new Ops(tape, kernels), ids, targets, 1f) * b.tokens();
                tokens += b.tokens();
            }
        }
        return nats / tokens;
    }
}
