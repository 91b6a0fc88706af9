package dev.tandem.launch;

import dev.tandem.TandemException;
import java.util.HashMap;
import java.util.Map;

/**
 * Translates what a cluster scheduler tells a process it started into the torchrun convention
 * that {@link Rendezvous} reads, so Tandem ranks start under Slurm and Kubernetes without a wrapper
 * script. Variables already in the torchrun form (RANK, WORLD_SIZE, ...) always win: a user who
 * sets them by hand, or a launcher that does, is obeyed.
 *
 * <ul>
 *   <li><b>Slurm</b>, one process per rank started by {@code srun} (SLURM_STEP_ID is set: a job's
 *       batch script alone is not a rank, so {@code ./tandem train} run there still launches its
 *       own ranks): RANK=SLURM_PROCID, WORLD_SIZE=SLURM_NTASKS, LOCAL_RANK=SLURM_LOCALID,
 *       LOCAL_WORLD_SIZE = this node's entry of SLURM_TASKS_PER_NODE (by SLURM_NODEID);
 *       MASTER_ADDR, unless set, is the first host of SLURM_JOB_NODELIST (where srun's block
 *       distribution puts task 0); MASTER_PORT, unless set, is 20000 + SLURM_JOB_ID mod 10000,
 *       the same in every task of the job and different for jobs sharing a node.</li>
 *   <li><b>Kubernetes</b> Indexed Job (or a JobSet of them), one rank per pod: RANK =
 *       JOB_COMPLETION_INDEX, LOCAL_RANK=0, LOCAL_WORLD_SIZE=1; WORLD_SIZE and MASTER_ADDR (the
 *       stable DNS name of pod 0 behind a headless Service) come from the Job's env.</li>
 * </ul>
 */
public final class SchedulerEnvironment {
    private SchedulerEnvironment() {}

    /** {@code env} with the torchrun variables filled in from the scheduler's, where it has them; else {@code env} itself. */
    public static Map<String, String> torchrunView(Map<String, String> env) {
        if (env.get("RANK") != null) return env;
        if (isSlurmTask(env)) return slurm(env);
        if (present(env, "JOB_COMPLETION_INDEX")) return kubernetes(env);
        return env;
    }

    private static boolean isSlurmTask(Map<String, String> env) {
        return present(env, "SLURM_PROCID") && present(env, "SLURM_NTASKS") && present(env, "SLURM_STEP_ID");
    }

    private static Map<String, String> slurm(Map<String, String> env) {
        Map<String, String> out = new HashMap<>(env);
        out.put("RANK", env.get("SLURM_PROCID").trim());
        out.putIfAbsent("WORLD_SIZE", env.get("SLURM_NTASKS").trim());
        if (present(env, "SLURM_LOCALID")) out.putIfAbsent("LOCAL_RANK", env.get("SLURM_LOCALID").trim());
        if (present(env, "SLURM_TASKS_PER_NODE")) {
            int node = present(env, "SLURM_NODEID") ? parseInt(env, "SLURM_NODEID") : 0;
            out.putIfAbsent("LOCAL_WORLD_SIZE", Integer.toString(tasksOnNode(env.get("SLURM_TASKS_PER_NODE"), node)));
        }
        if (!present(env, "MASTER_ADDR")) {
            String list = present(env, "SLURM_JOB_NODELIST") ? env.get("SLURM_JOB_NODELIST") : env.get("SLURM_NODELIST");
            if (list != null && !list.isBlank()) out.put("MASTER_ADDR", firstHost(list));
        }
        if (!present(env, "MASTER_PORT") && present(env, "SLURM_JOB_ID")) {
            out.put("MASTER_PORT", Integer.toString(20000 + (int) (parseLong(env, "SLURM_JOB_ID") % 10000)));
        }
        return out;
    }

    private static Map<String, String> kubernetes(Map<String, String> env) {
        Map<String, String> out = new HashMap<>(env);
        out.put("RANK", env.get("JOB_COMPLETION_INDEX").trim());
        out.putIfAbsent("LOCAL_RANK", "0");
        out.putIfAbsent("LOCAL_WORLD_SIZE", "1");
        if (!present(env, "WORLD_SIZE")) {
            throw new TandemException("JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but WORLD_SIZE is not: "
                    + "set WORLD_SIZE to the Job's completions in the pod's env (docs/CLUSTERS.md)");
        }
        return out;
    }

    /**
     * The first host of a Slurm host list: {@code node[03-05,9],gpu1} → {@code node03},
     * {@code rack[2-3]-n[1-4]} → {@code rack2-n1}. Only each bracket's first number matters, padded as written.
     */
    static String firstHost(String nodeList) {
        String list = nodeList.trim();
        int bracket = list.indexOf('[');
        int comma = list.indexOf(',');
        if (bracket < 0 || (comma >= 0 && comma < bracket)) return comma < 0 ? list : list.substring(0, comma);
        int close = list.indexOf(']', bracket);
        if (close < 0) throw new TandemException("SLURM_JOB_NODELIST=" + nodeList + " has an unclosed '['");
        String first = list.substring(bracket + 1, close).split(",")[0].split("-")[0];
        return list.substring(0, bracket) + first + firstHost(list.substring(close + 1));
    }

    /** Tasks on node {@code node} from SLURM_TASKS_PER_NODE's compressed form, e.g. {@code 2(x3),1}. */
    static int tasksOnNode(String tasksPerNode, int node) {
        int seen = 0;
        for (String part : tasksPerNode.trim().split(",")) {
            int paren = part.indexOf("(x");
            try {
                int count = Integer.parseInt(paren < 0 ? part : part.substring(0, paren));
                int repeat = paren < 0 ? 1 : Integer.parseInt(part.substring(paren + 2, part.length() - 1));
                if (node < seen + repeat) return count;
                seen += repeat;
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new TandemException("SLURM_TASKS_PER_NODE=" + tasksPerNode + " is not in Slurm's form (e.g. 2(x3),1)");
            }
        }
        throw new TandemException("SLURM_NODEID=" + node + " is beyond the nodes of SLURM_TASKS_PER_NODE=" + tasksPerNode);
    }

    private static boolean present(Map<String, String> env, String key) {
        String v = env.get(key);
        return v != null && !v.isBlank();
    }

    private static int parseInt(Map<String, String> env, String key) {
        return (int) parseLong(env, key);
    }

    private static long parseLong(Map<String, String> env, String key) {
        try {
            return Long.parseLong(env.get(key).trim());
        } catch (NumberFormatException e) {
            throw new TandemException(key + "=" + env.get(key) + " is not an integer");
        }
    }
}
