package dev.tandem.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a finished run produced. On a rank other than 0 of a job ({@link Training#runAsRank()})
 * the steps and evaluations are that rank's, and the checkpoints list is empty (rank 0 commits them).
 *
 * @param runDir      the run's directory: {@code train-config.json}, {@code metrics.jsonl}, {@code loss.png}, checkpoints
 * @param modelDir    the final model ({@code model.safetensors}, {@code config.json} and, with a tokenizer,
 *                    {@code tokenizer.json}): what {@link #loadModel()} and {@code tandem generate} read
 * @param steps       the steps this run did, in order
 * @param evals       its evaluations, in order
 * @param checkpoints the checkpoints it committed, in order
 */
public record TrainingResult(Path runDir, Path modelDir, List<StepInfo> steps, List<EvalInfo> evals, List<CheckpointInfo> checkpoints) {
    /** Copies the lists. */
    public TrainingResult {
        steps = List.copyOf(steps);
        evals = List.copyOf(evals);
        checkpoints = List.copyOf(checkpoints);
    }

    /** The training loss of the last step. */
    public double finalLoss() {
        return steps.getLast().loss();
    }

    /** The last evaluation (every run evaluates after its last step). */
    public Optional<EvalInfo> lastEval() {
        return evals.isEmpty() ? Optional.empty() : Optional.of(evals.getLast());
    }

    /** Loads the final model for generation; close it when done. */
    public TrainedModel loadModel() {
        return TrainedModel.load(modelDir);
    }
}
