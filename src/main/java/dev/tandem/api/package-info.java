/**
 * Tandem from Java: configure a GPT and its training, choose a parallel plan (by hand or from the
 * planner), give it tokens (arrays, text or files), train with callbacks, then load the result and
 * generate. The command line ({@code tandem train}, {@code tandem generate}) runs on this package.
 *
 * <pre>{@code
 * TextTokenizer tok = TextTokenizer.train(text, 512);
 * TrainingResult result = Training.builder()
 *         .model(2, 4, 64, 64)                                  // layers, heads, width, context
 *         .data(Dataset.fromText(text, tok))
 *         .plan(ParallelPlan.parse("dp=2 zero=1"))              // or Planner.bestFor(...)
 *         .steps(200).batchSize(8).lr(1e-3)
 *         .runsDir(Path.of("runs")).name("mine")
 *         .onStep(s -> System.out.println(s.step() + " " + s.loss()))
 *         .build()
 *         .run();
 * try (TrainedModel model = result.loadModel()) {
 *     System.out.println(model.generate("ROMEO:", 100));
 * }
 * }</pre>
 *
 * <p>The types: {@link ModelShape} (the GPT's shape), {@link ParallelPlan} and {@link Planner}
 * (how a step is split across ranks), {@link TextTokenizer} and {@link Dataset} (the tokens),
 * {@link Training} (a run: {@link Training.Builder}, {@link Training#run()}), the callbacks
 * {@link TrainingCallback} with {@link RunInfo}, {@link StepInfo}, {@link EvalInfo} and
 * {@link CheckpointInfo}, the outcome {@link TrainingResult}, and {@link TrainedModel} with
 * {@link Sampling} for generation.
 *
 * <p>Errors a caller can fix (a bad value, a missing file, a plan that does not fit the model)
 * are thrown as {@link dev.tandem.TandemException}, an unchecked exception whose message names the
 * setting or file and the fix. Every JVM that runs Tandem needs the flags
 * {@code --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED}. See docs/API.md.
 */
package dev.tandem.api;
