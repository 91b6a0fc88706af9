import dev.tandem.api.Dataset;
import dev.tandem.api.ParallelPlan;
import dev.tandem.api.Sampling;
import dev.tandem.api.TextTokenizer;
import dev.tandem.api.TrainedModel;
import dev.tandem.api.Training;
import dev.tandem.api.TrainingResult;
import java.nio.file.Path;

/**
 * Trains a tiny GPT on a String of text through Tandem's Java API (package dev.tandem.api), then
 * loads the model it wrote and generates. Two data-parallel ranks run as threads of this JVM.
 *
 * <p>From a Tandem checkout, after {@code ./mvnw -q package -DskipTests}:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp "target/tandem.jar:target/lib/*" examples/TrainTinyGpt.java [steps] [runs-dir]
 * </pre>
 * The test suite compiles and runs it (ExampleProgramTest).
 */
public class TrainTinyGpt {
    /** Sonnet 18 and Hamlet's soliloquy (Shakespeare, public domain): enough for a model of this size to learn some spelling. */
    static final String TEXT = """
            Shall I compare thee to a summer's day?
            Thou art more lovely and more temperate:
            Rough winds do shake the darling buds of May,
            And summer's lease hath all too short a date;
            Sometime too hot the eye of heaven shines,
            And often is his gold complexion dimm'd;
            And every fair from fair sometime declines,
            By chance or nature's changing course untrimm'd;
            But thy eternal summer shall not fade,
            Nor lose possession of that fair thou ow'st;
            Nor shall death brag thou wander'st in his shade,
            When in eternal lines to time thou grow'st:
            So long as men can breathe or eyes can see,
            So long lives this, and this gives life to thee.

            To be, or not to be, that is the question:
            Whether 'tis nobler in the mind to suffer
            The slings and arrows of outrageous fortune,
            Or to take arms against a sea of troubles
            And by opposing end them. To die: to sleep;
            No more; and by a sleep to say we end
            The heart-ache and the thousand natural shocks
            That flesh is heir to, 'tis a consummation
            Devoutly to be wish'd. To die, to sleep;
            To sleep: perchance to dream: ay, there's the rub;
            For in that sleep of death what dreams may come
            When we have shuffled off this mortal coil,
            Must give us pause: there's the respect
            That makes calamity of so long life.
            """;

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        Path runs = Path.of(args.length > 1 ? args[1] : "runs");

        // 1. Tokens from text: a byte-level BPE trained on the text itself.
        TextTokenizer tokenizer = TextTokenizer.train(TEXT, 320);
        Dataset data = Dataset.fromText(TEXT, tokenizer);

        // 2. A tiny model, a plan (2 data-parallel ranks, ZeRO stage 1) and the training settings.
        Training training = Training.builder()
                .model(1, 2, 32, 16)                    // layers, heads, width, context
                .data(data)
                .plan(ParallelPlan.parse("dp=2 zero=1"))
                .steps(steps).batchSize(8).lr(3e-3).warmupSteps(2)
                .evalEvery(0).evalBatches(2)            // evaluate after the last step only
                .runsDir(runs).name("tiny-gpt")
                .quiet()                                // the callback below does the printing
                .onStep(s -> System.out.printf("step %3d  loss %.3f%n", s.step(), s.loss()))
                .onEval(e -> System.out.printf("eval after step %d: val loss %.3f, %.3f bits/byte%n", e.step(), e.loss(), e.bitsPerByte()))
                .build();

        // 3. Train, then 4. load what it wrote and generate.
        TrainingResult result = training.run();
        System.out.println("model written to " + result.modelDir());
        try (TrainedModel model = result.loadModel()) {
            System.out.println("generated: To be" + model.generate("To be", 24, Sampling.defaults()));
        }
    }
}
