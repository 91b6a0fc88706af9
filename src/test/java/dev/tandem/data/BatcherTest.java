package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.TandemException;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batching and splits over the first 100 KB of the bundled corpus. */
class BatcherTest {
    @TempDir
    static Path dir;
    static TokenDataset data;
    static Tokenizer tok = TokenizerTest.SHAKESPEARE;

    @BeforeAll
    static void open() throws IOException {
        String text = Files.readString(Path.of("data/tinyshakespeare.txt")).substring(0, 100_000);
        Path corpus = dir.resolve("shakespeare-100k.txt");
        Files.writeString(corpus, text);
        data = TokenDataset.open(corpus, tok, dir.resolve("cache"), 0.1, s -> {});
    }

    @AfterAll
    static void close() {
        data.close();
    }

    @Test
    void validationIsTheLastTenthOfTokens() {
        long n = data.file().size();
        assertThat(data.validation().size()).isEqualTo(Math.round(n * 0.1));
        assertThat(data.train().size() + data.validation().size()).isEqualTo(n);
        assertThat(data.validation().get(0)).isEqualTo(data.file().get(data.train().size()));
        // bytes of both splits add up to the corpus; bytes/token is plausible for a 2k BPE on English.
        assertThat(data.train().utf8Bytes() + data.validation().utf8Bytes()).isEqualTo(100_000);
        assertThat(data.validation().bytesPerToken()).isBetween(2.0, 5.0);
    }

    @Test
    void targetsAreInputsShiftedByOne() {
        Batcher b = new Batcher(data.train(), 4, 16, 42);
        Batch batch = b.next();
        assertThat(batch.rows()).isEqualTo(4);
        for (int r = 0; r < 4; r++) {
            long start = b.windowStart(0, r);
            for (int t = 0; t < 16; t++) {
                assertThat(batch.inputs()[r * 16 + t]).isEqualTo(data.train().get(start + t));
                assertThat(batch.targets()[r * 16 + t]).isEqualTo(data.train().get(start + t + 1));
            }
        }
        long bytes = 0;
        for (int id : batch.targets()) bytes += tok.tokenByteLength(id);
        assertThat(batch.targetBytes()).isEqualTo(bytes);
    }

    @Test
    void sameSeedSameBatchesAndResumeContinuesExactly() throws IOException {
        Batcher a = new Batcher(data.train(), 3, 8, 7);
        List<int[]> straight = new ArrayList<>();
        for (int i = 0; i < 10; i++) straight.add(a.next().inputs());

        Batcher b = new Batcher(data.train(), 3, 8, 7);
        for (int i = 0; i < 4; i++) assertThat(b.next().inputs()).isEqualTo(straight.get(i));
        // Save the position as a checkpoint would (JSON), restore into a fresh batcher.
        ObjectMapper json = new ObjectMapper();
        String saved = json.writeValueAsString(b.position());
        assertThat(saved).isEqualTo("{\"seed\":7,\"step\":4}");
        Batcher resumed = new Batcher(data.train(), 3, 8, 0);
        resumed.seek(json.readValue(saved, DataPosition.class));
        for (int i = 4; i < 10; i++) assertThat(resumed.next().inputs()).isEqualTo(straight.get(i));

        Batcher otherSeed = new Batcher(data.train(), 3, 8, 8);
        assertThat(otherSeed.next().inputs()).isNotEqualTo(straight.get(0));
    }

    @Test
    void rowSubsetsAssembleTheGlobalBatch() {
        // Two "ranks" each filling half the rows see exactly the single-process batch.
        Batcher b = new Batcher(data.train(), 8, 12, 3);
        Batch whole = b.batch(5, 0, 8);
        Batch first = b.batch(5, 0, 4);
        Batch second = b.batch(5, 4, 4);
        int[] joined = Arrays.copyOf(first.inputs(), 96);
        System.arraycopy(second.inputs(), 0, joined, 48, 48);
        assertThat(joined).isEqualTo(whole.inputs());
        assertThat(first.targetBytes() + second.targetBytes()).isEqualTo(whole.targetBytes());
    }

    @Test
    void windowsCoverTheWholeSplitUniformly() {
        Batcher b = new Batcher(data.train(), 1, 32, 1);
        long limit = data.train().size() - 32;
        long min = Long.MAX_VALUE;
        long max = -1;
        for (int s = 0; s < 20_000; s++) {
            long start = b.windowStart(s, 0);
            assertThat(start).isBetween(0L, limit - 1);
            min = Math.min(min, start);
            max = Math.max(max, start);
        }
        assertThat(min).isLessThan(limit / 100);
        assertThat(max).isGreaterThan(limit - limit / 100);
    }

    @Test
    void copiesIntoI32Tensors() {
        Batch batch = new Batcher(data.train(), 2, 5, 9).next();
        try (Tensor in = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, 2, 5);
             Tensor out = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, 2, 5)) {
            batch.copyTo(in, out);
            for (int i = 0; i < 10; i++) {
                assertThat(in.getInt(i)).isEqualTo(batch.inputs()[i]);
                assertThat(out.getInt(i)).isEqualTo(batch.targets()[i]);
            }
        }
    }

    @Test
    void evalWindowsAreFixedAndInOrder() {
        EvalBatches eval = new EvalBatches(data.validation(), 4, 64, 0);
        long n = data.validation().size();
        assertThat(eval.windowCount()).isEqualTo((int) ((n - 1) / 64));
        int window = 0;
        long bytes = 0;
        for (Batch b : eval) {
            for (int r = 0; r < b.rows(); r++, window++) {
                assertThat(b.inputs()[r * 64]).isEqualTo(data.validation().get((long) window * 64));
                assertThat(b.targets()[r * 64 + 63]).isEqualTo(data.validation().get((long) window * 64 + 64));
            }
            bytes += b.targetBytes();
        }
        assertThat(window).isEqualTo(eval.windowCount());
        long expected = 0;
        for (long i = 1; i <= (long) window * 64; i++) expected += tok.tokenByteLength(data.validation().get(i));
        assertThat(bytes).isEqualTo(expected);
        assertThat(new EvalBatches(data.validation(), 4, 64, 5).windowCount()).isEqualTo(5);
        // A loss of ln 2 nats on every token of 2 bytes is half a bit per byte.
        assertThat(EvalBatches.bitsPerByte(Math.log(2) * 10, 20)).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(new EvalBatches(data.validation(), 4, 64, 5).batch(1).rows()).isEqualTo(1);
    }

    @Test
    void splitsTooSmallForTheBlockAreOneClearError() {
        assertThatThrownBy(() -> new Batcher(data.validation(), 1, 1_000_000, 1)).isInstanceOf(TandemException.class)
                .hasMessageContaining("validation split has").hasMessageContaining("block_size");
        assertThatThrownBy(() -> new EvalBatches(data.validation(), 1, 1_000_000, 0)).isInstanceOf(TandemException.class);
        assertThatThrownBy(() -> TokenDataset.open(Path.of("x"), tok, dir, 1.0, s -> {})).isInstanceOf(TandemException.class)
                .hasMessageContaining("validation fraction");
    }
}
