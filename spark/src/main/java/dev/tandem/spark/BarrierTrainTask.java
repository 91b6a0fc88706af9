package dev.tandem.spark;

import java.io.IOException;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One barrier task of the training stage: starts ranks {@code [task·k, task·k + k)} of the job as
 * child JVMs on this node ({@code k} = ranks per task) and returns when they have all finished.
 *
 * <p>Before any rank starts, the tasks agree through {@link BarrierTaskContext#allGather}: task 0
 * names the rendezvous (its executor's address, a port free there, a fresh secret), and every task
 * says whether it sees the driver's checkpoint directory ({@link CheckpointProbe}). If any task
 * found a problem, no task starts ranks: each returns the problems, and the driver reports them
 * (a setting to fix, not a fault for Spark to retry). Otherwise each task returns {@code ok}, or
 * fails when one of its ranks failed, which fails the barrier stage; Spark then retries the whole
 * stage, and on a retry ({@code stageAttemptNumber > 0}) the ranks resume from the newest
 * checkpoint ({@code --checkpoint.resume latest}).
 */
final class BarrierTrainTask extends AbstractFunction1<Iterator<Integer>, Iterator<String>> implements Serializable {
    static final String OK = "ok";
    private final TandemInstallation tandem;
    private final List<String> trainArgs;
    private final int ranks;
    private final int ranksPerTask;
    private final CheckpointProbe probe;

    BarrierTrainTask(TandemInstallation tandem, List<String> trainArgs, int ranks, int ranksPerTask, CheckpointProbe probe) {
        this.tandem = tandem;
        this.trainArgs = List.copyOf(trainArgs);
        this.ranks = ranks;
        this.ranksPerTask = ranksPerTask;
        this.probe = probe;
    }

    @Override
    public Iterator<String> apply(Iterator<Integer> partition) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int task = ctx.partitionId();
        BarrierTaskInfo[] tasks = ctx.getTaskInfos();
        String host = host(tasks[task].address());

        String problem = probe.problemOn(host);
        if (problem == null) {
            try {
                tandem.check();
            } catch (TandemSparkException e) {
                problem = e.getMessage();
            }
        }
        String proposal = "";
        if (task == 0 && problem == null) {
            try {
                proposal = host + " " + freePort(host) + " " + secret();
            } catch (TandemSparkException e) {
                problem = e.getMessage(); // told to the others through allGather, which every task must reach
            }
        }
        String[] all = ctx.allGather(proposal + "\n" + (problem == null ? "" : problem));
        List<String> problems = new ArrayList<>();
        for (String m : all) {
            String p = m.substring(m.indexOf('\n') + 1);
            if (!p.isEmpty()) problems.add(p);
        }
        if (!problems.isEmpty()) return single(String.join("\n", problems));

        String[] rendezvous = all[0].substring(0, all[0].indexOf('\n')).split(" ");
        int localIndex = 0, localTasks = 0; // where this task stands among the tasks on its node
        for (int t = 0; t < tasks.length; t++) {
            if (!host(tasks[t].address()).equals(host)) continue;
            if (t < task) localIndex++;
            localTasks++;
        }
        List<String> args = ctx.stageAttemptNumber() > 0 ? withResumeLatest(trainArgs) : trainArgs;
        if (ctx.stageAttemptNumber() > 0) {
            System.out.println("tandem-spark: stage attempt " + ctx.stageAttemptNumber() + ": ranks resume from the newest checkpoint");
        }
        try (RankProcesses procs = new RankProcesses()) {
            ctx.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) c -> procs.close()); // however the task ends, no rank outlives it
            for (int j = 0; j < ranksPerTask; j++) {
                int rank = task * ranksPerTask + j;
                procs.start(rank, tandem.command(args), Map.of(
                        "MASTER_ADDR", rendezvous[0],
                        "MASTER_PORT", rendezvous[1],
                        "TANDEM_JOB_SECRET", rendezvous[2],
                        "RANK", Integer.toString(rank),
                        "WORLD_SIZE", Integer.toString(ranks),
                        "LOCAL_RANK", Integer.toString(localIndex * ranksPerTask + j),
                        "LOCAL_WORLD_SIZE", Integer.toString(localTasks * ranksPerTask)), System.out, System.err);
            }
            procs.await(ctx::isInterrupted, host);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemSparkException("interrupted; stopped this task's ranks", e);
        }
        return single(OK);
    }

    /** The host of an executor's {@code host:port} address ({@code [v6]:port} too). */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        String h = colon > 0 && address.substring(colon + 1).chars().allMatch(Character::isDigit) ? address.substring(0, colon) : address;
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    /** {@code args} with {@code --checkpoint.resume latest} in place of any resume they named. */
    static List<String> withResumeLatest(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String key = args.get(i).replace('-', '_');
            if (key.equals("__checkpoint.resume")) {
                i++; // and its value
                continue;
            }
            if (key.startsWith("__checkpoint.resume=")) continue;
            out.add(args.get(i));
        }
        out.addAll(List.of("--checkpoint.resume", "latest"));
        return out;
    }

    private static Iterator<String> single(String s) {
        return CollectionConverters.asScala(List.of(s).iterator());
    }

    /** A port free a moment ago on {@code host}'s interface (rank 0 binds it soon after). */
    private static int freePort(String host) {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new TandemSparkException("no free port on " + host + " for the rendezvous: " + e.getMessage(), e);
        }
    }

    private static String secret() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
