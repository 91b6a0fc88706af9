package dev.tandem.launch;

import dev.tandem.TandemException;
import dev.tandem.comm.BootstrapSpec;
import dev.tandem.comm.CommOptions;
import dev.tandem.comm.ProcessGroup;
import dev.tandem.comm.TcpRendezvous;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Joins the job described by environment variables in the torchrun convention, so any launcher
 * that sets them (Tandem's {@link Launcher}, torchrun-style scripts, Slurm srun, Kubernetes
 * PyTorchJob, mpirun wrappers) can start Tandem ranks:
 * <ul>
 *   <li>MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default 29500): where rank 0 listens;</li>
 *   <li>RANK, WORLD_SIZE (default 0 and 1), LOCAL_RANK, LOCAL_WORLD_SIZE;</li>
 *   <li>TANDEM_JOB_SECRET: per-job secret that authenticates every connection (required when
 *       WORLD_SIZE &gt; 1);</li>
 *   <li>TANDEM_BIND_ADDR: the interface to listen on (default: the one that reaches MASTER_ADDR);</li>
 *   <li>TANDEM_RENDEZVOUS_TIMEOUT (seconds, default 300) and the {@link CommOptions} variables;</li>
 *   <li>TANDEM_BIND_CORES: auto (default; see {@link #bindToCores}) or none.</li>
 * </ul>
 * Where those are missing, a scheduler's own variables stand in for them: Slurm's SLURM_PROCID,
 * SLURM_NTASKS, ... under {@code srun}, Kubernetes' JOB_COMPLETION_INDEX in an Indexed Job
 * ({@link SchedulerEnvironment}).
 */
public final class Rendezvous {
    public static final String DEFAULT_MASTER_ADDR = "127.0.0.1";
    public static final int DEFAULT_MASTER_PORT = 29500;

    private Rendezvous() {}

    /**
     * The world group of this process, from its environment {@code env} ({@link #spec}). A rank
     * whose launcher named itself ({@link LauncherWatch}) also ends when that launcher ends.
     */
    public static ProcessGroup fromEnvironment(Map<String, String> env) {
        LauncherWatch.start(env, System.err);
        return TcpRendezvous.connect(spec(env));
    }

    /**
     * True when this process was started as one rank of a job (RANK and WORLD_SIZE are set), so a
     * command given {@code --nproc N} knows whether to launch ranks or to be one.
     */
    public static boolean isRankProcess(Map<String, String> env) {
        env = SchedulerEnvironment.torchrunView(env);
        return env.get("RANK") != null && env.get("WORLD_SIZE") != null;
    }

    /**
     * Binds this rank process to its share of the allowed CPUs ({@link CoreBinding}) unless
     * TANDEM_BIND_CORES=none, and returns how many compute threads it should run: the CPUs it was
     * bound to, or its share of all CPUs when not bound. Call it first in a rank, before any
     * thread pool exists, so that their threads inherit the binding.
     */
    public static int bindToCores(Map<String, String> env) {
        RankInfo info = rankInfo(env);
        String mode = env.getOrDefault("TANDEM_BIND_CORES", "auto").trim();
        if (!mode.equals("auto") && !mode.equals("none")) {
            throw new TandemException("TANDEM_BIND_CORES=" + mode + " must be auto or none");
        }
        int all = Runtime.getRuntime().availableProcessors();
        if (mode.equals("none") || info.localWorldSize() <= 1) return Math.max(1, all / Math.max(1, info.localWorldSize()));
        CoreBinding.Result bound = CoreBinding.bind(info.localRank(), info.localWorldSize());
        if (bound.cpus().isEmpty()) {
            if (info.localRank() == 0) System.err.println("tandem: ranks not bound to CPUs (" + bound.whyNot() + ")"); // once per host
            return Math.max(1, all / info.localWorldSize());
        }
        return bound.cpus().size();
    }

    /** The rank and world this process was started as (from the environment; no connection). */
    public record RankInfo(int rank, int worldSize, int localRank, int localWorldSize) {}

    public static RankInfo rankInfo(Map<String, String> env) {
        env = SchedulerEnvironment.torchrunView(env);
        int world = intVar(env, "WORLD_SIZE", 1);
        int rank = intVar(env, "RANK", 0);
        return new RankInfo(rank, world, intVar(env, "LOCAL_RANK", rank), intVar(env, "LOCAL_WORLD_SIZE", world));
    }

    /** Parses and validates the environment; every message names the variable at fault. */
    public static BootstrapSpec spec(Map<String, String> env) {
        env = SchedulerEnvironment.torchrunView(env);
        RankInfo info = rankInfo(env);
        if (info.worldSize() < 1) throw new TandemException("WORLD_SIZE must be >= 1, not " + info.worldSize());
        if (info.rank() < 0 || info.rank() >= info.worldSize()) {
            throw new TandemException("RANK=" + info.rank() + " is outside WORLD_SIZE=" + info.worldSize());
        }
        String secret = env.get("TANDEM_JOB_SECRET");
        if ((secret == null || secret.isBlank()) && info.worldSize() > 1) {
            throw new TandemException("TANDEM_JOB_SECRET is not set: every rank of a job needs the same secret "
                    + "(the tandem launcher sets it; otherwise export TANDEM_JOB_SECRET=$(openssl rand -hex 32) for all ranks)");
        }
        int port = intVar(env, "MASTER_PORT", DEFAULT_MASTER_PORT);
        if (port < 1 || port > 65535) throw new TandemException("MASTER_PORT=" + port + " is not a TCP port");
        String bind = env.get("TANDEM_BIND_ADDR");
        double timeout = doubleVar(env, "TANDEM_RENDEZVOUS_TIMEOUT", 300);
        return new BootstrapSpec(env.getOrDefault("MASTER_ADDR", DEFAULT_MASTER_ADDR), port, info.rank(), info.worldSize(),
                (secret == null ? "" : secret).getBytes(StandardCharsets.UTF_8), bind == null || bind.isBlank() ? null : bind,
                Duration.ofMillis((long) (timeout * 1000)), CommOptions.fromEnvironment(env));
    }

    private static int intVar(Map<String, String> env, String key, int fallback) {
        String v = env.get(key);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new TandemException(key + "=" + v + " is not an integer");
        }
    }

    private static double doubleVar(Map<String, String> env, String key, double fallback) {
        String v = env.get(key);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new TandemException(key + "=" + v + " is not a number");
        }
    }
}
