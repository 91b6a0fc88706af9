package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.comm.BootstrapSpec;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The environment that {@code srun} and a Kubernetes Indexed Job give a process, read as the
 * torchrun variables: each case is the variables those schedulers set (Slurm's documented names,
 * Kubernetes' JOB_COMPLETION_INDEX) and what rank, world and rendezvous follow.
 */
class SchedulerEnvironmentTest {

    /** What srun sets for task {@code procid} of a 2-node, 4-task job (2 per node). */
    static Map<String, String> srunTask(int procid) {
        Map<String, String> env = new HashMap<>();
        env.put("SLURM_JOB_ID", "123456");
        env.put("SLURM_STEP_ID", "0");
        env.put("SLURM_PROCID", Integer.toString(procid));
        env.put("SLURM_NTASKS", "4");
        env.put("SLURM_LOCALID", Integer.toString(procid % 2));
        env.put("SLURM_NODEID", Integer.toString(procid / 2));
        env.put("SLURM_TASKS_PER_NODE", "2(x2)");
        env.put("SLURM_JOB_NODELIST", "gpu[07-08]");
        env.put("TANDEM_JOB_SECRET", "s3cret");
        return env;
    }

    @Test
    void srunTasksBecomeRanksWithTheFirstNodeAsMaster() {
        for (int p = 0; p < 4; p++) {
            Map<String, String> env = srunTask(p);
            assertThat(Rendezvous.isRankProcess(env)).isTrue();
            assertThat(Rendezvous.rankInfo(env)).isEqualTo(new Rendezvous.RankInfo(p, 4, p % 2, 2));
            BootstrapSpec spec = Rendezvous.spec(env);
            assertThat(spec.masterAddr()).isEqualTo("gpu07");
            assertThat(spec.masterPort()).isEqualTo(20000 + 123456 % 10000);
        }
    }

    @Test
    void explicitTorchrunVariablesWinOverSlurms() {
        Map<String, String> env = srunTask(3);
        env.put("MASTER_ADDR", "10.0.0.5");
        env.put("MASTER_PORT", "29400");
        BootstrapSpec spec = Rendezvous.spec(env);
        assertThat(spec.masterAddr()).isEqualTo("10.0.0.5");
        assertThat(spec.masterPort()).isEqualTo(29400);
        env.put("RANK", "1");
        env.put("WORLD_SIZE", "2");
        assertThat(Rendezvous.rankInfo(env).rank()).isEqualTo(1);
        assertThat(Rendezvous.rankInfo(env).worldSize()).isEqualTo(2);
    }

    @Test
    void aBatchScriptWithoutSrunIsNotARank() {
        Map<String, String> env = srunTask(0);
        env.remove("SLURM_STEP_ID");
        assertThat(Rendezvous.isRankProcess(env)).isFalse();
    }

    @Test
    void unevenTasksPerNodeAndHostLists() {
        assertThat(SchedulerEnvironment.tasksOnNode("2(x3),1", 0)).isEqualTo(2);
        assertThat(SchedulerEnvironment.tasksOnNode("2(x3),1", 2)).isEqualTo(2);
        assertThat(SchedulerEnvironment.tasksOnNode("2(x3),1", 3)).isEqualTo(1);
        assertThat(SchedulerEnvironment.firstHost("node[03-05,9],gpu1")).isEqualTo("node03");
        assertThat(SchedulerEnvironment.firstHost("login1,node[1-2]")).isEqualTo("login1");
        assertThat(SchedulerEnvironment.firstHost("rack[2-3]-n[1-4]")).isEqualTo("rack2-n1");
        assertThatThrownBy(() -> SchedulerEnvironment.tasksOnNode("2(x3),1", 4)).isInstanceOf(TandemException.class)
                .hasMessageContaining("SLURM_NODEID=4");
        assertThatThrownBy(() -> SchedulerEnvironment.tasksOnNode("two", 0)).isInstanceOf(TandemException.class)
                .hasMessageContaining("SLURM_TASKS_PER_NODE=two");
    }

    @Test
    void kubernetesIndexedJobPodsBecomeRanks() {
        Map<String, String> env = new HashMap<>(Map.of("JOB_COMPLETION_INDEX", "2", "WORLD_SIZE", "3",
                "MASTER_ADDR", "train-0.train", "MASTER_PORT", "29500", "TANDEM_JOB_SECRET", "s3cret"));
        assertThat(Rendezvous.isRankProcess(env)).isTrue();
        assertThat(Rendezvous.rankInfo(env)).isEqualTo(new Rendezvous.RankInfo(2, 3, 0, 1));
        assertThat(Rendezvous.spec(env).masterAddr()).isEqualTo("train-0.train");
        env.remove("WORLD_SIZE");
        assertThatThrownBy(() -> Rendezvous.rankInfo(env)).isInstanceOf(TandemException.class)
                .hasMessageContaining("WORLD_SIZE").hasMessageContaining("completions");
    }
}
