package dev.tandem.train;

import java.util.List;

/** A run's listeners as one: each call goes to every listener in order; closing closes them all, even when one fails. */
final class Listeners implements TrainingListener {
    /** What ranks other than 0 have. */
    static final Listeners NONE = new Listeners(List.of());

    private final List<TrainingListener> all;

    Listeners(List<TrainingListener> all) {
        this.all = List.copyOf(all);
    }

    @Override
    public void started(RunStart start) {
        all.forEach(l -> l.started(start));
    }

    @Override
    public void step(StepMetrics m) {
        all.forEach(l -> l.step(m));
    }

    @Override
    public void eval(EvalMetrics m) {
        all.forEach(l -> l.eval(m));
    }

    @Override
    public void checkpoint(CheckpointSaved c) {
        all.forEach(l -> l.checkpoint(c));
    }

    @Override
    public void finished(Trainer.Result result) {
        all.forEach(l -> l.finished(result));
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (TrainingListener l : all) {
            try {
                l.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
