package dev.tandem.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training through the API with tiny models (1 layer, 2 heads, width 32, context 16, a few steps):
 * callbacks in order and in number, checkpoints reported once committed, ranks as threads, token
 * ids without a tokenizer, and the result loaded back for generation from every kind of directory.
 */
class TrainingCallbacksTest {
    static final String TEXT = """
            Shall I compare thee to a summer's day? Thou art more lovely and more temperate:
            Rough winds do shake the darling buds of May, and summer's lease hath all too short a date;
            To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer
            the slings and arrows of outrageous fortune, or to take arms against a sea of troubles.
            """.repeat(3);

    @TempDir static Path runs;
    static TextTokenizer tokenizer;
    static Recorder sync;
    static TrainingResult syncResult;

    /** Every callback as a line, and the threads they came on. */
    static final class Recorder implements TrainingCallback {
        final List<String> events = new ArrayList<>();
        final Set<Thread> threads = new HashSet<>();
        RunInfo start;

        private void add(String e) {
            events.add(e);
            threads.add(Thread.currentThread());
        }

        @Override
        public void onStart(RunInfo run) {
            start = run;
            add("start");
        }

        @Override
        public void onStep(StepInfo step) {
            add("step " + step.step());
        }

        @Override
        public void onEval(EvalInfo eval) {
            add("eval " + eval.step());
        }

        @Override
        public void onCheckpoint(CheckpointInfo c) {
            assertThat(c.dir().resolve("manifest.json")).as("committed checkpoint %s", c.dir()).exists();
            add("checkpoint " + c.step());
        }

        @Override
        public void onFinish(TrainingResult result) {
            assertThat(result.modelDir().resolve("model.safetensors")).as("model written before onFinish").exists();
            add("finish");
        }

        long count(String prefix) {
            return events.stream().filter(e -> e.startsWith(prefix + " ")).count();
        }
    }

    static Training.Builder tiny(String name) {
        return Training.builder().model(1, 2, 32, 16).data(Dataset.fromText(TEXT, tokenizer)).batchSize(4).lr(3e-3).warmupSteps(1)
                .evalBatches(2).runsDir(runs).name(name).threads(1).quiet();
    }

    /** One run with synchronous checkpoints, shared by the tests that look at its events and its files. */
    @BeforeAll
    static void trainWithSyncCheckpoints() {
        tokenizer = TextTokenizer.train(TEXT, 300);
        sync = new Recorder();
        syncResult = tiny("sync").steps(6).evalEvery(3).checkpointEvery(2).checkpointAsync(false).keepLast(0).callback(sync).build().run();
    }

    @Test
    void callbacksComeInOrderOnTheCallingThread() {
        assertThat(sync.events).containsExactly("start", "step 1", "step 2", "checkpoint 2", "step 3", "eval 3", "step 4", "checkpoint 4",
                "step 5", "step 6", "eval 6", "checkpoint 6", "finish");
        assertThat(sync.threads).containsExactly(Thread.currentThread());
        assertThat(sync.start.firstStep()).isZero();
        assertThat(sync.start.lastStep()).isEqualTo(6);
        assertThat(sync.start.model()).isEqualTo(ModelShape.of(1, 2, 32, 16));
        assertThat(sync.start.vocabSize()).isEqualTo(300);
        assertThat(sync.start.parameters()).isEqualTo(ModelShape.of(1, 2, 32, 16).parameters(300));
        assertThat(sync.start.plan()).isEqualTo(ParallelPlan.single());
        assertThat(sync.start.runDir()).isEqualTo(runs.resolve("sync"));
    }

    @Test
    void theResultHoldsWhatTheCallbacksSaw() {
        assertThat(syncResult.steps()).extracting(StepInfo::step).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(syncResult.evals()).extracting(EvalInfo::step).containsExactly(3L, 6L);
        assertThat(syncResult.checkpoints()).extracting(CheckpointInfo::step).containsExactly(2L, 4L, 6L);
        assertThat(syncResult.checkpoints().getLast().dir()).isEqualTo(runs.resolve("sync/checkpoints/step-00000006"));
        assertThat(syncResult.lastEval()).isPresent();
        assertThat(syncResult.lastEval().get().bitsPerByte()).isPositive().isFinite();
        assertThat(syncResult.finalLoss()).isEqualTo(syncResult.steps().getLast().loss()).isFinite();
        assertThat(syncResult.steps().getFirst().learningRate()).isPositive();
        assertThat(syncResult.modelDir()).isEqualTo(runs.resolve("sync/model"));
    }

    /** The model directory, the last checkpoint, the checkpoints folder and the run directory hold the same model. */
    @Test
    void theResultLoadsFromEveryKindOfDirectoryAndGenerates() {
        String expected;
        try (TrainedModel model = syncResult.loadModel()) {
            assertThat(model.shape()).isEqualTo(ModelShape.of(1, 2, 32, 16));
            assertThat(model.vocabSize()).isEqualTo(300);
            assertThat(model.tokenizer()).isPresent();
            expected = model.generate("To be", 8, Sampling.greedy());
            assertThat(expected).isNotEmpty();
            List<String> streamed = new ArrayList<>();
            int n = model.generate("To be", 8, Sampling.greedy(), streamed::add);
            assertThat(n).isEqualTo(8);
            assertThat(String.join("", streamed)).isEqualTo(expected);
            assertThat(model.generate("To be", 8, Sampling.defaults().withSeed(3)))
                    .isEqualTo(model.generate("To be", 8, Sampling.defaults().withSeed(3)));
            assertThat(model.generateTokens(tokenizer.encode("To be"), 4, Sampling.greedy())).hasSize(4);
            // The context is 16 tokens: a longer prompt is refused before anything is generated.
            assertThatThrownBy(() -> model.generate(TEXT.substring(0, 400), 4))
                    .isInstanceOf(TandemException.class).hasMessageContaining("block_size is 16");
            assertThatThrownBy(() -> model.generate("To be", -1)).hasMessageContaining("maxTokens");
        }
        for (Path p : List.of(runs.resolve("sync/checkpoints/step-00000006"), runs.resolve("sync/checkpoints"), runs.resolve("sync"))) {
            try (TrainedModel model = TrainedModel.load(p)) {
                assertThat(model.generate("To be", 8, Sampling.greedy())).as("from %s", p).isEqualTo(expected);
                assertThat(model.tokenizer()).as("tokenizer from %s", p).isPresent();
            }
        }
    }

    /** Asynchronous saves are written in the background: each is reported once, in order, after its step and before the end. */
    @Test
    void asyncCheckpointsAreReportedOnceInOrder() {
        Recorder r = new Recorder();
        TrainingResult result = tiny("async").steps(5).evalEvery(0).checkpointEvery(2).checkpointAsync(true).keepLast(0).callback(r)
                .build().run();
        assertThat(r.count("step")).isEqualTo(5);
        assertThat(r.count("eval")).isEqualTo(1);
        assertThat(r.events.stream().filter(e -> e.startsWith("checkpoint ")).toList())
                .containsExactly("checkpoint 2", "checkpoint 4", "checkpoint 5");
        for (int s : new int[] {2, 4, 5}) assertThat(r.events.indexOf("checkpoint " + s)).isGreaterThan(r.events.indexOf("step " + s));
        assertThat(r.events.getFirst()).isEqualTo("start");
        assertThat(r.events.getLast()).isEqualTo("finish");
        assertThat(result.checkpoints()).extracting(CheckpointInfo::step).containsExactly(2L, 4L, 5L);
    }

    /** With two data-parallel ranks as threads only rank 0 calls back, once per step, always on the same thread. */
    @Test
    void ranksAsThreadsCallBackFromRankZeroOnly() {
        Recorder r = new Recorder();
        TrainingResult result = tiny("dp2").plan("dp=2 zero=1").steps(3).evalEvery(0).callback(r).build().run();
        assertThat(r.events).containsExactly("start", "step 1", "step 2", "step 3", "eval 3", "finish");
        assertThat(r.threads).hasSize(1).doesNotContain(Thread.currentThread());
        assertThat(r.start.plan().ranks()).isEqualTo(2);
        assertThat(result.steps()).hasSize(3);
        assertThat(result.modelDir().resolve("model.safetensors")).exists();
    }

    /** Resuming continues from the checkpoint with the same in-memory tokens: the run starts at the saved step. */
    @Test
    void aStoppedRunResumes() {
        tiny("resume").steps(4).stopAfter(2).evalEvery(0).checkpointEvery(2).checkpointAsync(false).build().run();
        Recorder r = new Recorder();
        TrainingResult rest = tiny("resume").steps(4).evalEvery(0).checkpointEvery(2).checkpointAsync(false).resumeLatest().callback(r)
                .build().run();
        assertThat(r.start.firstStep()).isEqualTo(2);
        assertThat(rest.steps()).extracting(StepInfo::step).containsExactly(3L, 4L);
    }

    /** Token ids without a tokenizer train; evaluations have no bits per byte and generation is by ids. */
    @Test
    void tokenIdsWithoutATokenizer() throws Exception {
        int[] ids = new int[600];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7 + i / 13) % 50;
        Recorder r = new Recorder();
        TrainingResult result = Training.builder().model(1, 2, 32, 16).data(Dataset.fromTokens(ids, 50)).batchSize(4).steps(3)
                .evalEvery(0).evalBatches(2).runsDir(runs).name("ids").threads(1).quiet().callback(r).build().run();
        assertThat(r.start.vocabSize()).isEqualTo(50);
        assertThat(result.lastEval().get().bitsPerByte()).isNaN();
        assertThat(result.lastEval().get().loss()).isFinite();
        assertThat(result.modelDir().resolve("tokenizer.json")).doesNotExist();
        assertThat(Files.readString(result.runDir().resolve("metrics.jsonl"))).contains("\"val_bits_per_byte\":null");
        try (TrainedModel model = result.loadModel()) {
            assertThat(model.tokenizer()).isEmpty();
            assertThat(java.util.Arrays.stream(model.generateTokens(new int[] {1, 2, 3}, 5, Sampling.greedy())).boxed().toList())
                    .hasSize(5).allMatch(t -> t >= 0 && t < 50);
            assertThatThrownBy(() -> model.generate("hello", 3)).isInstanceOf(TandemException.class)
                    .hasMessageContaining("no tokenizer.json").hasMessageContaining("generateTokens");
            assertThatThrownBy(() -> model.generateTokens(new int[] {50}, 1, Sampling.greedy())).hasMessageContaining("outside the vocabulary");
        }
    }

    @Test
    void dataShorterThanTheContextIsRefused() {
        assertThatThrownBy(() -> Training.builder().model(1, 2, 32, 32).data(Dataset.fromTokens(new int[40], 8)).batchSize(2).steps(1)
                .runsDir(runs).name("short").threads(1).quiet().build().run())
                .isInstanceOf(TandemException.class).hasMessageContaining("fewer than block_size + 1 = 33");
    }

    @Test
    void aCallbackThatThrowsStopsTheRun() {
        assertThatThrownBy(() -> tiny("throws").steps(4).onStep(s -> {
            if (s.step() == 2) throw new IllegalStateException("stop at step 2");
        }).build().run()).isInstanceOf(IllegalStateException.class).hasMessage("stop at step 2");
    }

    /** A corpus file and a tokenizer file, as the command line reads them. */
    @Test
    void trainsOnFiles() throws Exception {
        Path corpus = Files.writeString(runs.resolve("corpus.txt"), TEXT);
        tokenizer.save(runs.resolve("tokenizer.json"));
        TrainingResult result = Training.builder().model(1, 2, 32, 16).data(Dataset.fromFiles(corpus, runs.resolve("tokenizer.json")))
                .batchSize(4).steps(2).evalBatches(2).runsDir(runs).name("files").threads(1).quiet().build().run();
        assertThat(result.steps()).hasSize(2);
        assertThat(result.modelDir().resolve("tokenizer.json")).exists();
        assertThat(Files.readString(result.runDir().resolve("train-config.json"))).contains("corpus.txt");
    }
}
