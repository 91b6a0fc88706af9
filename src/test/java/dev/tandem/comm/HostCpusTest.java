package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** CPU lists in the kernel's format, and how many CPUs a host's ranks share. */
class HostCpusTest {
    @Test
    void parsesRangesAndSingles() {
        assertThat(HostCpus.parse("0-3,8,10-11").stream().boxed().toList()).containsExactly(0, 1, 2, 3, 8, 10, 11);
        assertThat(HostCpus.parse("5").cardinality()).isEqualTo(1);
    }

    @Test
    void ranksBoundToOneCoreEachShareTheirUnion() {
        assertThat(HostCpus.union(List.of("0", "1"))).isEqualTo(2); // two bound ranks: not oversubscribed
        assertThat(HostCpus.union(List.of("0-1", "0-1", "0-1"))).isEqualTo(2); // three unbound ranks on two CPUs
        assertThat(HostCpus.union(List.of("0-3", "2-5"))).isEqualTo(6);
        assertThat(HostCpus.outnumbered(2, List.of("0", "1"))).isFalse();
        assertThat(HostCpus.outnumbered(3, List.of("0-1", "0-1", "0-1"))).isTrue();
        assertThat(HostCpus.outnumbered(2, List.of("0-1", "0-1"))).isFalse();
    }

    @Test
    void theCallingThreadsListCoversItsAvailableProcessors() {
        assertThat(HostCpus.parse(HostCpus.allowedList()).cardinality()).isEqualTo(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void garbageIsNamed() {
        assertThatThrownBy(() -> HostCpus.parse("0-x")).hasMessageContaining("'0-x'");
        assertThatThrownBy(() -> HostCpus.parse("3-1")).hasMessageContaining("not a CPU list");
    }
}
