package dev.tandem.cli;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.ReduceOp;
import dev.tandem.comm.SelfTest;
import dev.tandem.launch.Launcher;
import dev.tandem.launch.Rendezvous;
import dev.tandem.launch.Settings;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem comm-selftest --nproc N}: starts N rank processes through the launcher and
 * checks every collective against a local reference. With fault options it injects a crash or a
 * mismatched collective so tests can watch the failure handling end to end. Hidden: a tool for
 * tests and for checking a new machine, not a user workflow.
 */
@Command(name = "comm-selftest", hidden = true,
        description = "Check every collective across N rank processes (and inject faults).")
final class CommSelfTestCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--nproc", description = "Ranks to launch (when not already started as a rank).", defaultValue = "2")
    int nproc;

    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--transport", description = "auto, shm or tcp.", defaultValue = "auto")
    String transport;

    @Option(names = "--timeout", description = "Communication timeout in seconds.", defaultValue = "60")
    double timeout;

    @Option(names = "--crash-rank", description = "This rank halts (exit code 41) --crash-after-ms into a loop of large all-reduces.",
            defaultValue = "-1")
    int crashRank;

    @Option(names = "--crash-after-ms", defaultValue = "1500")
    long crashAfterMs;

    @Option(names = "--others-compute", description = "With --crash-rank: the other ranks compute (sleep) instead of communicating,"
            + " so only the launcher can stop them.")
    boolean othersCompute;

    @Option(names = "--mismatch-rank", description = "This rank calls broadcast where the others call all_reduce.",
            defaultValue = "-1")
    int mismatchRank;

    @Override
    public void run() {
        if (!Rendezvous.isRankProcess(Settings.of(spec.root().userObject()).env())) {
            List<String> args = new ArrayList<>(List.of("comm-selftest", "--seed", Long.toString(seed),
                    "--crash-rank", Integer.toString(crashRank), "--crash-after-ms", Long.toString(crashAfterMs),
                    "--mismatch-rank", Integer.toString(mismatchRank)));
            if (othersCompute) args.add("--others-compute");
            Map<String, String> env = new HashMap<>();
            env.put("TANDEM_TRANSPORT", transport);
            env.put("TANDEM_COMM_TIMEOUT", Double.toString(timeout));
            env.put("TANDEM_RENDEZVOUS_TIMEOUT", Double.toString(Math.max(timeout, 60)));
            new Launcher(System.out, System.err, Duration.ofSeconds(2)).launch(nproc, args, env);
            System.out.println("comm-selftest: all " + nproc + " ranks passed");
            return;
        }
        int cpus = Rendezvous.bindToCores(Settings.of(spec.root().userObject()).env());
        try (ProcessGroup world = Rendezvous.fromEnvironment(Settings.of(spec.root().userObject()).env())) {
            int me = world.rank();
            String transports = IntStream.range(0, world.size()).mapToObj(world::transport).collect(Collectors.joining(","));
            if (crashRank >= 0 || mismatchRank >= 0) {
                faults(world);
                return;
            }
            int checks = SelfTest.run(world, seed);
            System.out.println("rank " + me + "/" + world.size() + ": " + checks + " checks passed (links: " + transports
                    + "; read in place: " + world.readsInPlace() + "; chosen in place: " + world.inPlaceChoices()[0] + " of "
                    + world.inPlaceChoices()[1] + "; board rounds: " + world.boardRounds() + "; compute threads: " + cpus
                    + "; oversubscribed: " + (world.oversubscribed() ? "yes" : "no") + ")");
        }
    }

    private void faults(ProcessGroup world) {
        long count = 4L << 20; // 16 MiB of f32: each all-reduce takes long enough to be killed in the middle
        try (OffHeap buf = OffHeap.allocate(DType.F32.bytes(count), MemoryCategory.COMMUNICATION)) {
            if (world.rank() == crashRank) {
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        Thread.sleep(crashAfterMs);
                    } catch (InterruptedException ignored) {
                        // halt anyway
                    }
                    System.out.println("rank " + crashRank + ": simulating a crash now");
                    System.out.flush();
                    Runtime.getRuntime().halt(41);
                });
            }
            if (othersCompute) {
                try {
                    Thread.sleep(600_000);
                } catch (InterruptedException ignored) {
                    // stopped
                }
                return;
            }
            for (int i = 0; i < 100_000; i++) {
                if (i == 3 && world.rank() == mismatchRank) world.broadcast(buf.segment(), DType.F32, 1024, 0);
                else world.allReduce(buf.segment(), DType.F32, i == 3 ? 1024 : count, ReduceOp.SUM);
                if (mismatchRank >= 0 && i == 3) break;
            }
        }
    }
}
