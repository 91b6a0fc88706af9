package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clusters with nodes of different sizes and an oversubscribed core. */
class ClusterFileTest {
    @TempDir Path dir;

    @Test
    void nodesOfDifferentSizesKeepTensorParallelGroupsInsideEveryNode() throws Exception {
        Path p = dir.resolve("c.toml");
        Files.writeString(p, "device = \"H100\"\nnodes = [8, 8, 4]\n");
        ClusterSpec c = ClusterFileLoader.load(p);
        assertThat(c.devices()).isEqualTo(20);
        assertThat(c.devicesPerNode()).isEqualTo(4); // the largest group that tiles 8, 8 and 4
        SearchResult r = PlanSearch.search(new CostModel(ModelCatalog.get("gpt3-1.3b"), c, 80), 20);
        assertThat(r.ranked()).isNotEmpty().allMatch(x -> x.plan().tp() <= 4);
    }

    @Test
    void theOversubscribedCoreSlowsOnlyGroupsThatCrossLeaves() {
        // 4 nodes of 8 per leaf, 2:1 core: a data-parallel group of 64 GPUs crosses leaves, one of 32 does not.
        ClusterSpec c = new ClusterSpec(64, HardwareCatalog.get("A100-80GB"), List.of(), 4, 2.0);
        CommModel comm = new CommModel(c);
        double inter = 25e9 * 0.90;
        assertThat(comm.bandwidth(CommModel.Link.INTER_NODE)).isEqualTo(inter);
        assertThat(comm.bandwidth(CommModel.Link.CROSS_LEAF)).isEqualTo(inter / 2);
        Plan base = PlanSearch.Space.of(c).base();
        assertThat(comm.dataParallelLink(Plan.parse("dp=64", base))).isEqualTo(CommModel.Link.CROSS_LEAF);
        assertThat(comm.dataParallelLink(Plan.parse("dp=32 pp=2", base))).isEqualTo(CommModel.Link.INTER_NODE);
        // By hand: a ring all-reduce of 1 GB over 64 ranks at half the NIC bandwidth.
        assertThat(comm.allReduce(1e9, 64, CommModel.Link.CROSS_LEAF)).isCloseTo(2.0 * 63 / 64 * 1e9 / (inter / 2) + 2.0 * 63 * 6e-6,
                within(1e-12));
        ModelSpec m = ModelCatalog.get("gpt3-1.3b");
        ClusterSpec full = new ClusterSpec(64, HardwareCatalog.get("A100-80GB"));
        Plan p = Plan.parse("dp=64 micro_batches=1 zero=3", base);
        assertThat(new CostModel(m, c, 64).predict(p).stepSeconds()).isGreaterThan(new CostModel(m, full, 64).predict(p).stepSeconds());
    }

    @Test
    void badClusterFilesNameTheProblem() throws Exception {
        Path bad = dir.resolve("bad.toml");
        Files.writeString(bad, "device = \"H100\"\ncount = 16\nspine = 2\n");
        assertThatThrownBy(() -> ClusterFileLoader.load(bad)).isInstanceOf(PlanInputException.class).hasMessageContaining("unknown key 'spine'");
        Path over = dir.resolve("over.toml");
        Files.writeString(over, "device = \"H100\"\ncount = 16\noversubscription = 0.5\n");
        assertThatThrownBy(() -> ClusterFileLoader.load(over)).hasMessageContaining("oversubscription must be >= 1");
        assertThatThrownBy(() -> new ClusterSpec(10, HardwareCatalog.get("H100"), List.of(8, 4), 1, 1)).hasMessageContaining("hold 12 devices");
    }
}
