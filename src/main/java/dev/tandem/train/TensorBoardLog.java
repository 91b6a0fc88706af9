package dev.tandem.train;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.train.tensorboard.EventFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a run's scalars to a TensorBoard event file in {@code runs/<name>/tb/} (config key
 * {@code run.tensorboard}), one record per optimizer step and per evaluation, at the steps
 * {@code metrics.jsonl} gives them. Each invocation writes a file of its own (a resumed run adds
 * one to the folder). The tags are listed in docs/TRAINING.md.
 */
final class TensorBoardLog implements TrainingListener {
    private final Path dir;
    private EventFile file;
    private double predictedStepMs = Double.NaN;

    TensorBoardLog(Path dir) {
        this.dir = dir;
    }

    @Override
    public void started(RunStart start) {
        predictedStepMs = start.predictedStepMs();
        file();
    }

    @Override
    public void step(StepMetrics m) {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("train/loss", m.loss());
        v.put("train/lr", m.lr());
        v.put("train/grad_norm", m.gradNorm());
        v.put("train/tokens_per_s", m.tokensPerSecond());
        v.put("train/mfu", m.mfu());
        v.put("train/step_ms", m.stepMs());
        v.put("train/comm_wait_ms", m.commWaitMs());
        if (!Double.isNaN(predictedStepMs)) v.put("plan/predicted_step_ms", predictedStepMs);
        for (MemoryCategory c : MemoryCategory.values()) {
            v.put("memory/" + c.name().toLowerCase(Locale.ROOT) + "_mib", m.memoryBytes().getOrDefault(c, 0L) / (double) (1 << 20));
        }
        file().scalars(m.step(), v);
    }

    @Override
    public void eval(EvalMetrics m) {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("eval/loss", m.loss());
        v.put("eval/bits_per_byte", m.bitsPerByte());
        file().scalars(m.step(), v);
    }

    /** The event file, created when the run starts (a run that stops before its first step leaves none). */
    private EventFile file() {
        if (file == null) file = EventFile.create(dir);
        return file;
    }

    @Override
    public void close() {
        if (file != null) file.close();
    }
}
