package dev.tandem.parallel.context;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.launch.Rendezvous;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Hooks;
import dev.tandem.nn.Ops;
import dev.tandem.nn.Parameter;
import dev.tandem.nn.Tape;
import dev.tandem.plan.RecomputePolicy;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.WorkerPool;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One rank process of {@link HybridStepProcessTest}: a step of mixed-length sequences run three
 * ways over the world (hybrid data/context parallelism, static context parallelism in two rings
 * of two ranks, data parallelism with two padded rows per micro-batch) must give the loss and gradients that one rank computes by running
 * every sequence alone with its share of the tokens (which this rank computes itself).
 * Tolerance: 3e-5 of the largest gradient element per parameter (float reordering).
 */
public final class HybridRank {
    static final GPTConfig MODEL = new GPTConfig(2, 2, 16, 40, 64);
    /** Tokens per rank: the 41- and 33-token sequences need 3 ranks, the 20-token one 2, the rest 1. */
    static final int CAPACITY = 16;
    static final int[] LENGTHS = {41, 5, 20, 7, 33, 3, 12, 9, 16, 2};

    private HybridRank() {}

    public static void main(String[] args) {
        try (ProcessGroup world = Rendezvous.fromEnvironment(System.getenv()); WorkerPool threads = new WorkerPool(1)) {
            Kernels kernels = Kernels.fast(threads);
            List<TokenSequence> sequences = sequences(LENGTHS);
            int[] lengths = sequences.stream().mapToInt(TokenSequence::length).toArray();
            Map<String, float[]> expected = new LinkedHashMap<>();
            double expectedLoss;
            try (GPT model = GPT.initialized(MODEL, 5)) {
                expectedLoss = alone(model, kernels, sequences);
                for (Parameter p : model.parameters()) expected.put(p.name(), p.grad().toFloatArray());
            }
            List<TokenSequence> longOnes = sequences.stream().filter(s -> s.length() >= 4).toList();
            double longLoss;
            Map<String, float[]> longExpected = new LinkedHashMap<>();
            try (GPT model = GPT.initialized(MODEL, 5)) {
                longLoss = alone(model, kernels, longOnes);
                for (Parameter p : model.parameters()) longExpected.put(p.name(), p.grad().toFloatArray());
            }
            int[] longLengths = longOnes.stream().mapToInt(TokenSequence::length).toArray();
            try (HybridStep step = new HybridStep(world, kernels, RecomputePolicy.SELECTIVE)) {
                check("hybrid", step, sequences, BalanceScheduler.hybrid(lengths, world.size(), CAPACITY, SequenceCost.of(MODEL)), expectedLoss, expected);
                check("padded data parallel", step, sequences, BalanceScheduler.padded(lengths, world.size(), 2), expectedLoss, expected);
                check("static context parallel", step, longOnes, BalanceScheduler.staticContext(longLengths, world.size(), 2, 2 * CAPACITY), longLoss,
                        longExpected);
            }
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    static List<TokenSequence> sequences(int[] lengths) {
        SplittableRandom rng = new SplittableRandom(11);
        List<TokenSequence> out = new ArrayList<>();
        for (int n : lengths) {
            int[] doc = new int[n + 1];
            for (int i = 0; i < doc.length; i++) doc[i] = rng.nextInt(MODEL.vocabSize());
            out.add(TokenSequence.of(doc));
        }
        return out;
    }

    /** One rank, each sequence alone, weighted by its share of the counted targets: the reference. */
    static double alone(GPT model, Kernels kernels, List<TokenSequence> sequences) {
        long total = sequences.stream().mapToLong(TokenSequence::counted).sum();
        double loss = 0;
        for (TokenSequence s : sequences) {
            float share = (float) ((double) s.counted() / total);
            try (Tensor ids = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, s.length());
                 Tensor targets = Tensor.allocate(DType.I32, MemoryCategory.OTHER, 1, s.length());
                 Tape tape = new Tape(Hooks.NONE)) {
                for (int i = 0; i < s.length(); i++) {
                    ids.setInt(i, s.inputs()[i]);
                    targets.setInt(i, s.targets()[i]);
                }
                loss += model.loss(new Ops(tape, kernels), ids, targets, share) * share;
                tape.backward();
            }
        }
        return loss;
    }

    private static void check(String name, HybridStep step, List<TokenSequence> sequences, StepSchedule schedule, double expectedLoss,
                              Map<String, float[]> expected) {
        try (GPT model = GPT.initialized(MODEL, 5)) {
            double loss = step.run(model, sequences, schedule);
            if (Math.abs(loss - expectedLoss) > 1e-5 * Math.abs(expectedLoss)) {
                throw new AssertionError(name + ": loss " + loss + ", one rank " + expectedLoss);
            }
            for (Parameter p : model.parameters()) {
                float[] want = expected.get(p.name()), got = p.grad().toFloatArray();
                float scale = 1e-4f;
                for (float v : want) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < want.length; i++) {
                    if (Math.abs(want[i] - got[i]) > 3e-5f * scale) {
                        throw new AssertionError(name + ": " + p.name() + "[" + i + "] = " + got[i] + ", one rank " + want[i] + " (schedule "
                                + schedule.placements() + ")");
                    }
                }
            }
            System.out.println(name + ": loss " + loss + " matches one rank; " + schedule.of(0).size() + " micro-batches on rank 0");
        }
    }
}
