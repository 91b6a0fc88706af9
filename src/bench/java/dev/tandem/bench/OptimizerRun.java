package dev.tandem.bench;

import dev.tandem.data.Batch;
import dev.tandem.data.Batcher;
import dev.tandem.data.EvalBatches;
import dev.tandem.data.TokenDataset;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.optim.GradClip;
import dev.tandem.optim.LrSchedule;
import dev.tandem.optim.Muon;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.OptimizerSettings;
import dev.tandem.optim.Optimizers;
import dev.tandem.optim.ParamSlice;
import dev.tandem.optim.SpectralNorm;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One training run of a benchmark that compares optimizers: the same model, data order, token
 * budget, schedule shape and clipping for every optimizer, so that only the optimizer and its lr
 * differ. Records validation loss against tokens and training time (evaluation excluded).
 */
public final class OptimizerRun {
    private OptimizerRun() {}

    /** What to run: the schedule is warmup for {@code warmupSteps}, then cosine to lr/10. */
    public record Spec(GPTConfig model, int batchSize, int steps, int warmupSteps, int evalEvery, int evalWindows,
                       double gradClip, long seed, String optimizer, OptimizerSettings settings, float lr) {}

    /** Validation loss after {@code tokens} training tokens and {@code seconds} of training. */
    public record Point(long tokens, double seconds, double valLoss) {}

    /**
     * @param stateBytes        OPTIMIZER_STATE bytes the optimizer holds (memory accounting)
     * @param hiddenSpectralNorm mean σ_max of the hidden matrices at the end
     * @param diverged           the training loss became non-finite (the run stopped there)
     */
    public record Outcome(Spec spec, List<Point> curve, long stateBytes, double trainSeconds, double hiddenSpectralNorm,
                          boolean diverged) {
        public double finalLoss() {
            return diverged || curve.isEmpty() ? Double.POSITIVE_INFINITY : curve.getLast().valLoss();
        }

        /** The first point at or below {@code target}, or null. */
        public Point firstAtOrBelow(double target) {
            for (Point p : curve) if (p.valLoss() <= target) return p;
            return null;
        }
    }

    public static Outcome run(Spec spec, TokenDataset data, Kernels kernels) {
        GPTConfig mc = spec.model();
        int block = mc.blockSize();
        Batcher batcher = new Batcher(data.train(), spec.batchSize(), block, spec.seed());
        EvalBatches eval = new EvalBatches(data.validation(), spec.batchSize(), block, spec.evalWindows());
        LrSchedule schedule = new LrSchedule.WarmupCosine(spec.lr(), spec.lr() / 10, spec.warmupSteps(), spec.steps());
        long tokensPerStep = (long) spec.batchSize() * block;
        List<Point> curve = new ArrayList<>();
        boolean diverged = false;
        double seconds = 0;
        try (GPT model = GPT.initialized(mc, spec.seed());
             Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, spec.batchSize(), block);
             Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, spec.batchSize(), block)) {
            List<Parameter> params = model.parameters();
            // ParamSlice.wholes allocates the gradient buffers, so measure state bytes around create alone
            List<ParamSlice> slices = ParamSlice.wholes(params);
            long before = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE);
            try (Optimizer opt = Optimizers.create(spec.optimizer(), spec.settings(), slices, kernels)) {
                long stateBytes = MemoryAccounting.current().live(MemoryCategory.OPTIMIZER_STATE) - before;
                curve.add(new Point(0, 0, validationLoss(model, eval, kernels))); // the common starting point
                for (int step = 0; step < spec.steps(); step++) {
                    long t0 = System.nanoTime();
                    model.zeroGrad();
                    Batch batch = batcher.batch(step, 0, spec.batchSize());
                    batch.copyTo(ids, targets);
                    double loss;
                    try (Tape tape = new Tape(Hooks.NONE)) {
                        loss = model.loss(new Ops(tape, kernels), ids, targets, 1f);
                        tape.backward();
                    }
                    if (!Double.isFinite(loss)) {
                        diverged = true;
                        break;
                    }
                    GradClip.clip(params, GradClip.globalNorm(params, kernels), spec.gradClip(), kernels);
                    opt.step(schedule.at(step));
                    seconds += (System.nanoTime() - t0) / 1e9;
                    if ((step + 1) % spec.evalEvery() == 0 || step == spec.steps() - 1) {
                        double val = validationLoss(model, eval, kernels);
                        if (!Double.isFinite(val)) {
                            diverged = true;
                            break;
                        }
                        curve.add(new Point((step + 1) * tokensPerStep, seconds, val));
                    }
                }
                return new Outcome(spec, curve, stateBytes, seconds, hiddenSpectralNorm(params), diverged);
            }
        }
    }

    /** Mean validation loss (nats/token) over the fixed windows (as the trainer's evaluation, without its hooks). */
    private static double validationLoss(GPT model, EvalBatches batches, Kernels kernels) {
        double nats = 0;
        long tokens = 0;
        for (Batch b : batches) {
            try (Tape tape = Tape.inference();
                 Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize());
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, b.rows(), b.blockSize())) {
                b.copyTo(ids, targets);
                nats += model.loss(new Ops(tape, kernels), ids, targets, 1f) * b.tokens();
                tokens += b.tokens();
            }
        }
        return nats / tokens;
    }

    private static double hiddenSpectralNorm(List<Parameter> params) {
        double sum = 0;
        int n = 0;
        for (Parameter p : params) {
            if (Muon.isHidden(ParamSlice.whole(p))) {
                sum += SpectralNorm.of(p.value(), 30);
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }
}
