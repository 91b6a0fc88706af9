package dev.tandem.bench.peer;

import dev.tandem.nn.GPT;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.optim.AdamW;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;

/** Tandem's side of {@code bench train}: one full training step on a fixed batch, timed. */
final class TandemTrainStep implements AutoCloseable {
    private final GPT model;
    private final AdamW optimizer;
    private final Tensor ids, targets;
    private final Kernels kernels;

    TandemTrainStep(TrainBenchCase c, BenchBatch batch, Kernels kernels) {
        this.kernels = kernels;
        model = GPT.initialized(c.model(), TrainHyper.INIT_SEED);
        optimizer = new AdamW(model.parameters(),
                new AdamW.Settings(TrainHyper.BETA1, TrainHyper.BETA2, TrainHyper.EPS, TrainHyper.WEIGHT_DECAY), kernels);
        ids = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, c.batch(), c.seqLen());
        targets = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, c.batch(), c.seqLen());
        for (int i = 0; i < batch.ids().length; i++) {
            ids.setInt(i, batch.ids()[i]);
            targets.setInt(i, batch.targets()[i]);
        }
    }

    long parameterCount() {
        long n = 0;
        for (Parameter p : model.parameters()) n += p.numel();
        return n;
    }

    /** Zero grads, forward, backward (activations freed as it goes), AdamW. */
    StepTiming step() {
        long t0 = System.nanoTime(), t1, t2;
        model.zeroGrad();
        double loss;
        try (Tape tape = new Tape(Hooks.NONE)) {
            loss = model.loss(new Ops(tape, kernels), ids, targets, 1f);
            t1 = System.nanoTime();
            tape.backward();
        }
        t2 = System.nanoTime();
        optimizer.step(TrainHyper.LR);
        long t3 = System.nanoTime();
        return new StepTiming(loss, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    }

    @Override
    public void close() {
        optimizer.close();
        model.close();
        ids.close();
        targets.close();
    }
}
