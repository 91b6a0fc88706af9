package dev.tandem.api;

import dev.tandem.nn.GPTConfig;
import dev.tandem.train.CheckpointSaved;
import dev.tandem.train.EvalMetrics;
import dev.tandem.train.RunStart;
import dev.tandem.train.StepMetrics;
import dev.tandem.train.TrainingListener;
import java.util.ArrayList;
import java.util.List;

/** Rank 0's listener that turns the trainer's events into the API's and tells the callbacks; it keeps the checkpoints for the result. */
final class Events implements TrainingListener {
    private final List<TrainingCallback> callbacks;
    private final List<CheckpointInfo> checkpoints = new ArrayList<>();

    Events(List<TrainingCallback> callbacks) {
        this.callbacks = callbacks;
    }

    List<CheckpointInfo> checkpoints() {
        return checkpoints;
    }

    static StepInfo stepInfo(StepMetrics m) {
        return new StepInfo(m.step(), m.loss(), m.gradNorm(), m.lr(), m.stepMs(), m.tokensPerSecond(), m.mfu());
    }

    static EvalInfo evalInfo(EvalMetrics m) {
        return new EvalInfo(m.step(), m.loss(), m.bitsPerByte(), m.tokens());
    }

    @Override
    public void started(RunStart s) {
        GPTConfig m = s.model();
        RunInfo info = new RunInfo(s.runDir(), new ModelShape(m.nLayer(), m.nHead(), m.nEmbd(), m.blockSize()), m.vocabSize(),
                m.totalParameters(), ParallelPlan.of(s.plan()), s.firstStep(), s.lastStep(), s.predictedStepMs());
        callbacks.forEach(c -> c.onStart(info));
    }

    @Override
    public void step(StepMetrics m) {
        StepInfo info = stepInfo(m);
        callbacks.forEach(c -> c.onStep(info));
    }

    @Override
    public void eval(EvalMetrics m) {
        EvalInfo info = evalInfo(m);
        callbacks.forEach(c -> c.onEval(info));
    }

    @Override
    public void checkpoint(CheckpointSaved c) {
        CheckpointInfo info = new CheckpointInfo(c.step(), c.dir());
        checkpoints.add(info);
        callbacks.forEach(cb -> cb.onCheckpoint(info));
    }
}
