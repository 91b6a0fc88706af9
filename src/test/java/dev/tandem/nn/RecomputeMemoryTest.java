package dev.tandem.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.plan.Recompute;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Activation bytes per layer in each recompute mode, measured two ways and compared with the
 * exact float32 formula of {@link BlockActivations}: the peak of live ACTIVATIONS over a training
 * step, whose growth from n_layer to n_layer + 1 is what one more layer keeps (everything else in
 * the step — embeddings, logits, the gradients in flight, one layer's replayed forward under full
 * recompute — is the same for every n_layer); and the tape's own per-module record.
 */
class RecomputeMemoryTest {
    private static final int BATCH = 2, TIME = 20, HEADS = 2, EMBD = 32, VOCAB = 64;

    @AfterEach
    void nothingLeaks() {
        assertThat(MemoryAccounting.current().live(MemoryCategory.ACTIVATIONS)).isZero();
    }

    @ParameterizedTest
    @EnumSource(Recompute.class)
    void bytesPerLayerMatchTheFormula(Recompute mode) {
        long expected = BlockActivations.bytes(mode, config(1), BATCH, TIME);
        long[] peaks = new long[4];
        for (int layers = 1; layers <= 3; layers++) peaks[layers] = peakOfOneStep(config(layers), mode);
        assertThat(peaks[2] - peaks[1]).as("peak growth 1 → 2 layers").isEqualTo(expected);
        assertThat(peaks[3] - peaks[2]).as("peak growth 2 → 3 layers").isEqualTo(expected);
    }

    /**
     * Full recompute replays one block at a time, so its peak is selective's one-layer peak (one
     * layer's activations live at once, the same fixed part) plus the outputs the blocks keep.
     */
    @Test
    void fullRecomputePaysForOneReplayedLayer() {
        long oneSelectiveLayer = peakOfOneStep(config(1), Recompute.SELECTIVE);
        for (int layers = 1; layers <= 3; layers++) {
            assertThat(peakOfOneStep(config(layers), Recompute.FULL)).as("%d layers", layers)
                    .isEqualTo(oneSelectiveLayer + layers * BlockActivations.bytes(Recompute.FULL, config(1), BATCH, TIME));
        }
    }

    /**
     * Per-layer lists: backward reaches the first blocks last, after the later blocks freed
     * theirs, so a full block placed first replays at no cost to the peak, and one placed last
     * replays while every earlier block still holds its activations.
     */
    @Test
    void whereFullBlocksGoDecidesWhetherTheirReplayCountsAtThePeak() {
        GPTConfig cfg = config(3);
        long selective = BlockActivations.bytes(Recompute.SELECTIVE, cfg, BATCH, TIME);
        long full = BlockActivations.bytes(Recompute.FULL, cfg, BATCH, TIME);
        long allSelective = peakOfOneStep(cfg, RecomputePolicy.SELECTIVE);
        assertThat(peakOfOneStep(cfg, RecomputePolicy.parse("full,selective,selective", 3))).isEqualTo(allSelective - selective + full);
        assertThat(peakOfOneStep(cfg, RecomputePolicy.parse("selective,selective,full", 3))).isEqualTo(allSelective + full);
    }

    @ParameterizedTest
    @EnumSource(Recompute.class)
    void theTapeRecordsWhatEachBlockKeeps(Recompute mode) {
        GPTConfig cfg = config(3);
        try (GPT model = GPT.initialized(cfg, 1);
             Tensor ids = tokens(cfg, 0);
             Tensor targets = tokens(cfg, 1);
             Tape tape = new Tape(Hooks.NONE)) {
            model.loss(new Ops(tape, TestKernels.FAST).withRecompute(RecomputePolicy.every(mode)), ids, targets, 1f);
            for (int i = 0; i < 3; i++) {
                assertThat(tape.activationBytesByModule().get("h." + i)).as("h.%d", i)
                        .isEqualTo(BlockActivations.bytes(mode, cfg, BATCH, TIME));
            }
            tape.backward();
        }
    }

    /**
     * An evaluation (a tape that does not record) under full recompute frees each block's inner
     * activations at its end: one more layer costs only its kept output, as in training, where
     * without recompute it costs the whole block; the loss is the same to the bit.
     */
    @Test
    void anEvaluationUnderFullRecomputeHoldsOneBlockAtATime() {
        double[] loss = new double[2];
        long[] fullPeaks = new long[4], nonePeaks = new long[4];
        for (int layers = 1; layers <= 3; layers++) {
            fullPeaks[layers] = peakOfOneEvaluation(config(layers), Recompute.FULL, loss, 0);
            nonePeaks[layers] = peakOfOneEvaluation(config(layers), Recompute.NONE, loss, 1);
            assertThat(loss[0]).as("%d layers", layers).isEqualTo(loss[1]);
        }
        long kept = BlockActivations.bytes(Recompute.FULL, config(1), BATCH, TIME);
        assertThat(fullPeaks[3] - fullPeaks[2]).isEqualTo(kept);
        assertThat(fullPeaks[2] - fullPeaks[1]).isEqualTo(kept);
        assertThat(nonePeaks[3] - nonePeaks[2]).isGreaterThan(kept);
    }

    private static long peakOfOneEvaluation(GPTConfig cfg, Recompute mode, double[] loss, int slot) {
        try (GPT model = GPT.initialized(cfg, 1);
             Tensor ids = tokens(cfg, 0);
             Tensor targets = tokens(cfg, 1)) {
            MemoryAccounting.current().resetPeaks();
            try (Tape tape = Tape.inference()) {
                loss[slot] = model.loss(new Ops(tape, TestKernels.FAST).withRecompute(RecomputePolicy.every(mode)), ids, targets, 1f);
            }
            return MemoryAccounting.current().peak(MemoryCategory.ACTIVATIONS);
        }
    }

    /** The difference between the modes is what the paper says it is: the attention core. */
    @Test
    void modesDifferByTheAttentionCoreAndTheLayerBody() {
        GPTConfig cfg = config(1);
        long n = (long) BATCH * TIME;
        long none = BlockActivations.bytes(Recompute.NONE, cfg, BATCH, TIME);
        long selective = BlockActivations.bytes(Recompute.SELECTIVE, cfg, BATCH, TIME);
        long full = BlockActivations.bytes(Recompute.FULL, cfg, BATCH, TIME);
        assertThat(none - selective).isEqualTo(4 * n * HEADS * (TIME - 1)); // T×T probabilities instead of one lse per query
        assertThat(full).isEqualTo(4 * n * EMBD);                           // the layer input, float32
    }

    private static long peakOfOneStep(GPTConfig cfg, Recompute mode) {
        return peakOfOneStep(cfg, RecomputePolicy.every(mode));
    }

    private static long peakOfOneStep(GPTConfig cfg, RecomputePolicy policy) {
        try (GPT model = GPT.initialized(cfg, 1);
             Tensor ids = tokens(cfg, 0);
             Tensor targets = tokens(cfg, 1)) {
            MemoryAccounting.current().resetPeaks();
            try (Tape tape = new Tape(Hooks.NONE)) {
                model.loss(new Ops(tape, TestKernels.FAST).withRecompute(policy), ids, targets, 1f);
                tape.backward();
            }
            return MemoryAccounting.current().peak(MemoryCategory.ACTIVATIONS);
        }
    }

    private static GPTConfig config(int layers) {
        return new GPTConfig(layers, HEADS, EMBD, VOCAB, 32);
    }

    private static Tensor tokens(GPTConfig cfg, int salt) {
        Tensor t = Tensor.allocate(DType.I32, MemoryCategory.ACTIVATIONS, BATCH, TIME);
        for (int i = 0; i < BATCH * TIME; i++) t.setInt(i, (i * 7 + salt * 3) % cfg.vocabSize());
        return t;
    }
}
