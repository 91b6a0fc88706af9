package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tandem.TandemException;
import dev.tandem.data.Batch;
import dev.tandem.data.DataSource;
import dev.tandem.data.PackedRows;
import dev.tandem.data.TokenDataset;
import dev.tandem.nn.GPT;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Tape;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.train.config.TrainConfig;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A document corpus through the trainer ({@code data.documents}): the first step's loss is the
 * mean loss of the step's documents run one by one (so the packed rows attend and number
 * positions per document), data parallelism on rank processes gives the one-rank losses, and bad
 * documents are refused by name.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DocumentTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path runs;
    private Path corpus;

    /** 60 documents of 1 to 5 lines of the bundled text (about 10 to 60 tokens), so a row of 32 holds several, or a piece of one. */
    @BeforeAll
    void writeCorpus() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("data/tinyshakespeare.txt")).stream().filter(l -> !l.isBlank()).toList();
        StringBuilder jsonl = new StringBuilder();
        int at = 0;
        for (int d = 0; d < 60; d++) {
            int n = 1 + (d * 7) % 5;
            jsonl.append(JsonNodeFactory.instance.objectNode().put("text", String.join("\n", lines.subList(at, at + n)))).append('\n');
            at += n;
        }
        corpus = runs.resolve("docs.jsonl");
        Files.writeString(corpus, jsonl);
    }

    private Map<String, String> cfg(String name) {
        Map<String, String> c = TinyRun.config(runs, name, 3);
        c.put("data.documents", corpus.toString());
        return c;
    }

    private static List<Double> losses(String name) throws Exception {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) out.add(n.get("loss").asDouble());
            if (n.get("type").asText().equals("eval")) out.add(n.get("val_loss").asDouble());
        }
        return out;
    }

    @Test
    void theFirstStepIsTheMeanLossOfItsDocumentsRunOneByOne() throws Exception {
        TrainConfig c = TrainConfig.load(null, cfg("one"));
        Trainer.runSingle(c, new PrintStream(OutputStream.nullOutputStream()), false);
        double trained = losses("one").getFirst();

        DataSource source = CorpusSource.of(c.data(), null);
        try (TokenDataset data = source.open(new DataSource.Context(c.data().valFraction(), runs.resolve("cache"), 1, s -> { }));
             GPT model = GPT.initialized(c.gptConfig(data.vocabSize()), c.run().seed())) {
            Batch b = new PackedRows("train", data.documents().train(), c.model().blockSize(), t -> 0)
                    .sampler(c.run().seed(), c.data().batchSize()).batch(0, 0, c.data().batchSize());
            double nats = 0;
            long counted = 0;
            for (int r = 0; r < b.rows(); r++) {
                int at = r * b.blockSize();
                for (int n : b.documents()[r]) {
                    int[] in = java.util.Arrays.copyOfRange(b.inputs(), at, at + n), tg = java.util.Arrays.copyOfRange(b.targets(), at, at + n);
                    long k = java.util.Arrays.stream(tg).filter(t -> t >= 0).count();
                    if (k > 0) {
                        nats += alone(model, in, tg) * k;
                        counted += k;
                    }
                    at += n;
                }
            }
            assertThat(trained).isCloseTo(nats / counted, Offset.offset(2e-5 * trained));
            assertThat(java.util.Arrays.stream(b.documents()).anyMatch(row -> row.length > 2)).as("rows pack several documents").isTrue();
        }
    }

    /** One document as its own sequence (positions from 0, attention over it alone). */
    private static double alone(GPT model, int[] inputs, int[] targets) {
        try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, inputs.length);
             Tensor tg = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, inputs.length);
             Tape tape = Tape.inference(dev.tandem.nn.Hooks.NONE)) {
            for (int i = 0; i < inputs.length; i++) {
                ids.setInt(i, inputs[i]);
                tg.setInt(i, targets[i]);
            }
            return model.loss(new Ops(tape, Kernels.reference()), ids, tg, 1f);
        }
    }

    /** {@code tandem train --data.documents …} on two data-parallel rank processes: the one rank's losses (2e-5 relative). */
    @Test
    void dataParallelRankProcessesTrainAsOneRank() throws Exception {
        Map<String, String> one = cfg("dp1");
        Trainer.runSingle(TrainConfig.load(null, one), new PrintStream(OutputStream.nullOutputStream()), false);
        Map<String, String> two = cfg("dp2");
        two.put("parallel.plan", "dp=2 zero=2");
        String out = TinyRun.launch(2, two);
        assertThat(out).contains("documents: ").contains("attention and positions per document");
        List<Double> a = losses("dp1"), b = losses("dp2");
        assertThat(b).hasSize(a.size());
        for (int i = 0; i < a.size(); i++) assertThat(b.get(i)).as("%s vs %s", b, a).isCloseTo(a.get(i), Offset.offset(2e-5 * a.get(i)));
    }

    /** Trains {@code cfg} on thread ranks, as many as its plan has. */
    private static void onThreads(Map<String, String> cfg) throws Exception {
        TrainConfig c = TrainConfig.load(null, cfg);
        List<dev.tandem.comm.ProcessGroup> world = dev.tandem.comm.LocalWorld.create(c.parallel().worldSize(), dev.tandem.comm.CommOptions.defaults());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(world.size());
        try {
            List<java.util.concurrent.Future<Trainer.Result>> results = new ArrayList<>();
            for (dev.tandem.comm.ProcessGroup g : world) {
                results.add(pool.submit(() -> new Trainer(c, new PrintStream(OutputStream.nullOutputStream()), false, g).run()));
            }
            for (java.util.concurrent.Future<Trainer.Result> f : results) f.get();
        } finally {
            pool.shutdownNow();
            world.forEach(dev.tandem.comm.ProcessGroup::close);
        }
    }

    private Map<String, String> hybrid(String name, String plan) {
        Map<String, String> c = cfg(name);
        c.put("model.block_size", "128"); // the longest document (about 100 tokens) fits one sequence; with cp = 2 a rank holds 64
        c.put("parallel.plan", plan);
        return c;
    }

    /**
     * Hybrid data/context parallelism through the trainer: one rank (every document on it, packed),
     * then a pool of two rank processes (documents over 64 tokens on a ring of both, shorter ones on
     * one rank each) and a pool of four thread ranks with ZeRO 1 give the same losses and gradient
     * norms within 2e-5 relative: the same gradient of the mean loss over the step's tokens.
     */
    @Test
    void hybridPoolsTrainAsOneRank() throws Exception {
        onThreads(hybrid("hdp1", "dp=1 hdp=true"));
        String out = TinyRun.launch(2, hybrid("hdp2", "dp=1 cp=2 hdp=true"));
        assertThat(out).contains("hdp: 8 whole documents per step over a pool of 2 ranks");
        onThreads(hybrid("hdp4", "dp=2 cp=2 hdp=true zero=1"));
        List<Double> one = lossesAndNorms("hdp1");
        for (String name : List.of("hdp2", "hdp4")) {
            List<Double> other = lossesAndNorms(name);
            assertThat(other).hasSize(one.size());
            for (int i = 0; i < one.size(); i++) {
                assertThat(other.get(i)).as("%s: %s vs one rank %s", name, other, one).isCloseTo(one.get(i), Offset.offset(2e-5 * one.get(i)));
            }
        }
    }

    private static List<Double> lossesAndNorms(String name) throws Exception {
        List<Double> out = new ArrayList<>(losses(name));
        for (String line : Files.readAllLines(runs.resolve(name).resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("type").asText().equals("train")) out.add(n.get("grad_norm").asDouble());
        }
        return out;
    }

    @Test
    void badDocumentsAndPlansAreRefusedByName() throws Exception {
        // Documents of up to ~60 tokens cannot be one sequence of block_size 32 = cp × 16 tokens.
        Map<String, String> tooLong = cfg("too-long");
        tooLong.put("parallel.plan", "dp=1 cp=2 hdp=true");
        assertThatThrownBy(() -> TinyRun.launch(2, tooLong)).hasMessageContaining("longer than cp × context = 2 × 16")
                .hasMessageContaining("raise model.block_size");
        Map<String, String> noDocs = TinyRun.config(runs, "no-docs", 1);
        noDocs.put("parallel.plan", "dp=1 cp=2 hdp=true");
        assertThatThrownBy(() -> TrainConfig.load(null, noDocs)).hasMessageContaining("set data.documents");
        assertThatThrownBy(() -> TrainConfig.load(null, hybrid("z2", "dp=1 cp=2 hdp=true zero=2"))).hasMessageContaining("use zero = 0 or 1");

        Path bad = runs.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"a whole document\"}\n{\"text\": \"\"}\n");
        Map<String, String> c = cfg("bad");
        c.put("data.documents", bad.toString());
        assertThatThrownBy(() -> Trainer.runSingle(TrainConfig.load(null, c), new PrintStream(OutputStream.nullOutputStream()), false))
                .isInstanceOf(TandemException.class).hasMessageContaining("bad.jsonl");
        Map<String, String> cp = cfg("cp");
        cp.put("parallel.plan", "dp=1 cp=2");
        assertThatThrownBy(() -> TrainConfig.load(null, cp)).hasMessageContaining("set parallel.hdp = true");
    }
}
