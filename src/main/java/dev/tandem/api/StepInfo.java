package dev.tandem.api;

/**
 * One optimizer step, as {@link TrainingCallback#onStep} learns it (one line of the run's log and
 * of {@code metrics.jsonl}).
 *
 * @param step            optimizer steps done, this one included (1 after the first step)
 * @param loss            the training loss of the step's batch, nats per token
 * @param gradNorm        the global gradient norm before clipping
 * @param learningRate    the learning rate the step used
 * @param millis          the step's wall time
 * @param tokensPerSecond tokens of the global batch per second of the step
 * @param mfu             model FLOPs utilization against this machine's measured peak, 0–1
 */
public record StepInfo(long step, double loss, double gradNorm, double learningRate, double millis, double tokensPerSecond,
                       double mfu) {}
