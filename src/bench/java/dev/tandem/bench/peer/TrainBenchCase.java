package dev.tandem.bench.peer;

import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;

/**
 * One model and batch that {@code bench train} measures on both engines: a GPT-2 shape, the
 * rows per step and the sequence length (= block_size, so every position is trained).
 */
record TrainBenchCase(String name, GPTConfig model, int batch) {

    /** The default `./tandem train` model: n_layer 4, n_head 4, n_embd 192, T 128, batch 16. */
    static TrainBenchCase small() {
        return new TrainBenchCase("small", new GPTConfig(4, 4, 192, 2048, 128), 16);
    }

    /** GPT-2-small width, 4 layers, T 256, batch 8: the matmuls dominate as in real GPT-2. */
    static TrainBenchCase wide() {
        return new TrainBenchCase("wide", new GPTConfig(4, 12, 768, 2048, 256), 8);
    }

    /** A case by name: {@code small}, {@code wide}, or {@code LxHxC:T:B[:V]} (e.g. 4x12x768:256:8). */
    static TrainBenchCase parse(String spec) {
        switch (spec) {
            case "small": return small();
            case "wide": return wide();
            default: break;
        }
        String[] parts = spec.split(":");
        String[] lhc = parts[0].split("x");
        if (parts.length < 3 || parts.length > 4 || lhc.length != 3) {
            throw new TandemException("bench train: model '" + spec + "' is not small, wide or LxHxC:T:B[:V]"
                    + " (e.g. 4x12x768:256:8)");
        }
        try {
            int vocab = parts.length == 4 ? Integer.parseInt(parts[3]) : 2048;
            GPTConfig c = new GPTConfig(Integer.parseInt(lhc[0]), Integer.parseInt(lhc[1]), Integer.parseInt(lhc[2]),
                    vocab, Integer.parseInt(parts[1]));
            return new TrainBenchCase(spec, c, Integer.parseInt(parts[2]));
        } catch (NumberFormatException e) {
            throw new TandemException("bench train: model '" + spec + "' has a part that is not a number");
        }
    }

    int seqLen() {
        return model.blockSize();
    }

    long tokensPerStep() {
        return (long) batch * seqLen();
    }

    /** Model FLOPs of one training step (PaLM convention, see SPECS.md), the MFU numerator. */
    double flopsPerStep() {
        return model.trainingFlopsPerToken(seqLen()) * tokensPerStep();
    }

    String describe() {
        return String.format("n_layer %d, n_head %d, n_embd %d, vocab %d, T %d, batch %d",
                model.nLayer(), model.nHead(), model.nEmbd(), model.vocabSize(), seqLen(), batch);
    }

    /** The arguments that rebuild this case in the peer process. */
    String[] toArgs() {
        return new String[] {Integer.toString(model.nLayer()), Integer.toString(model.nHead()),
                Integer.toString(model.nEmbd()), Integer.toString(model.vocabSize()),
                Integer.toString(model.blockSize()), Integer.toString(batch)};
    }

    static TrainBenchCase fromArgs(String name, String[] a, int from) {
        GPTConfig c = new GPTConfig(Integer.parseInt(a[from]), Integer.parseInt(a[from + 1]), Integer.parseInt(a[from + 2]),
                Integer.parseInt(a[from + 3]), Integer.parseInt(a[from + 4]));
        return new TrainBenchCase(name, c, Integer.parseInt(a[from + 5]));
    }
}
