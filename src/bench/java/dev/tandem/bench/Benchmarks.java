package dev.tandem.bench;

import dev.tandem.TandemException;
import java.util.List;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The benchmarks of {@code tandem bench}: the CLI's {@code bench} command finds this class by
 * name (the one entry from the core into the bench source set) and hands itself to
 * {@link #accept}, which adds every benchmark as a subcommand.
 *
 * <p>The benchmarks without a peer library (comm, optim, ckpt, offload) are compiled in every build. Those
 * that link one (gemm: OpenBLAS; train: libtorch) live in {@code dev.tandem.bench.peer}, which only
 * the Maven {@code bench} profile compiles ({@code ./tandem bench gemm|train} builds it); they are
 * looked up by class name, and where a build lacks them a stand-in says how to get them.
 */
public final class Benchmarks implements Consumer<CommandLine> {
    /** Descriptions of the peer benchmarks: their commands use them, and so do their stand-ins. */
    public static final String GEMM_DESCRIPTION =
            "GEMM GFLOPS: Tandem vs OpenBLAS vs the measured FMA peak (square and GPT-2 training shapes).";
    public static final String TRAIN_DESCRIPTION =
            "Training-step tokens/s and MFU, Tandem beside PyTorch (libtorch CPU), interleaved in one run.";

    private record PeerBenchmark(String name, String className, String description) {}

    private static final List<PeerBenchmark> PEER_BENCHMARKS = List.of(
            new PeerBenchmark("gemm", "dev.tandem.bench.peer.GemmBenchCommand", GEMM_DESCRIPTION),
            new PeerBenchmark("train", "dev.tandem.bench.peer.BenchTrainCommand", TRAIN_DESCRIPTION));

    @Override
    public void accept(CommandLine bench) {
        bench.addSubcommand(new CommBenchCommand());
        bench.addSubcommand(new OptimBenchCommand());
        bench.addSubcommand(new CkptBenchCommand());
        bench.addSubcommand(new FinetuneBenchCommand());
        bench.addSubcommand(new ParScaleBenchCommand());
        bench.addSubcommand(new OffloadBenchCommand());
        bench.addSubcommand(new LowcommBenchCommand());
        bench.addSubcommand(new MoeBenchCommand());
        bench.addSubcommand(new LongctxBenchCommand());
        for (PeerBenchmark p : PEER_BENCHMARKS) bench.addSubcommand(p.name(), peerOrStandIn(p));
    }

    /** The peer benchmark's command if this build has it, else a stand-in that says how to get it. */
    private static Object peerOrStandIn(PeerBenchmark p) {
        try {
            return Class.forName(p.className()).getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            CommandSpec missing = CommandSpec.wrapWithoutInspection((Runnable) () -> {
                throw new TandemException("this build has no 'bench " + p.name() + "': run ./tandem bench " + p.name()
                        + " (built with the bench profile)");
            });
            missing.usageMessage().description(p.description());
            return new CommandLine(missing);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create benchmark " + p.className(), e);
        }
    }
}
