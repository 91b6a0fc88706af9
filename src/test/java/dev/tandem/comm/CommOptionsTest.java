package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommOptionsTest {
    private static final long RING = 2L << 20;

    @Test
    void singleCopyThresholdFromTheEnvironment() {
        assertThat(CommOptions.fromEnvironment(Map.of()).directMinBytes()).isEqualTo(CommOptions.AUTO);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", "auto")).directMinBytes()).isEqualTo(CommOptions.AUTO);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", "off")).directMinBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", "4096")).directMinBytes()).isEqualTo(4096);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", "Adaptive")).directMinBytes()).isEqualTo(CommOptions.ADAPTIVE);
        for (String bad : new String[] {"0", "-1", "lots"}) {
            assertThatThrownBy(() -> CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", bad)))
                    .isInstanceOf(TandemException.class).hasMessageContaining("TANDEM_DIRECT_MIN_BYTES=" + bad)
                    .hasMessageContaining("auto, adaptive or off");
        }
        assertThatThrownBy(() -> CommOptions.defaults().withDirectMinBytes(-2)).hasMessageContaining("AUTO or ADAPTIVE");
    }

    @Test
    void automaticThresholdReadsInPlaceWhatTheRingCannotHoldBetweenThreadsAndChoosesBetweenProcesses() {
        CommOptions auto = CommOptions.defaults();
        assertThat(auto.singleCopyFrom(RING, false)).isEqualTo(RING); // threads
        assertThat(auto.choosesPaths(false)).isFalse();
        assertThat(auto.choosesPaths(true)).isTrue(); // processes: neither way won everywhere, so groups time both
        assertThat(auto.singleCopyFrom(RING, true)).isEqualTo(PathChooser.MIN_PAYLOAD_BYTES);
        CommOptions adaptive = auto.withDirectMinBytes(CommOptions.ADAPTIVE);
        assertThat(adaptive.choosesPaths(false)).isTrue();
        assertThat(adaptive.singleCopyFrom(RING, false)).isEqualTo(PathChooser.MIN_PAYLOAD_BYTES);
        CommOptions fixed = auto.withDirectMinBytes(4096);
        assertThat(fixed.choosesPaths(true)).isFalse();
        assertThat(fixed.singleCopyFrom(RING, true)).isEqualTo(4096);
        assertThat(fixed.singleCopyFrom(RING, false)).isEqualTo(4096);
        assertThat(auto.withDirectMinBytes(Long.MAX_VALUE).choosesPaths(true)).isFalse();
    }

    @Test
    void automaticRingsGrowWhereRanksOutnumberCoresWithinTheHostBudget() {
        CommOptions auto = CommOptions.defaults();
        assertThat(auto.ringCapacity(2, false)).isEqualTo(RING);
        assertThat(auto.ringCapacity(8, true)).isEqualTo(8L << 20); // 56 rings of 8 MiB: 448 MiB
        assertThat(auto.ringCapacity(11, true)).isEqualTo(8L << 20); // 110 rings: 880 MiB
        assertThat(auto.ringCapacity(12, true)).isEqualTo(RING); // 132 rings of 8 MiB would exceed the 1 GiB budget
        assertThat(auto.withRingBytes(8192).ringCapacity(8, true)).isEqualTo(8192);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_RING_BYTES", "auto")).ringBytes()).isEqualTo(CommOptions.AUTO);
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_RING_BYTES", "65536")).ringBytes()).isEqualTo(65536);
        assertThatThrownBy(() -> CommOptions.fromEnvironment(Map.of("TANDEM_RING_BYTES", "5000")))
                .isInstanceOf(TandemException.class).hasMessageContaining("power of two");
    }

    @Test
    void boardBetweenProcessesAboveTheLatencyThresholdAndNeverBetweenThreadsUnlessSet() {
        CommOptions auto = CommOptions.fromEnvironment(Map.of());
        assertThat(auto.boardMinBytes()).isEqualTo(CommOptions.AUTO);
        assertThat(auto.boardFrom(true)).isEqualTo(64 * 1024 + 1); // larger outputs than Bruck's
        assertThat(auto.boardFrom(false)).isEqualTo(Long.MAX_VALUE); // threads read large payloads in place
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_BOARD_MIN_BYTES", "off")).boardFrom(true)).isEqualTo(Long.MAX_VALUE);
        CommOptions fixed = CommOptions.fromEnvironment(Map.of("TANDEM_BOARD_MIN_BYTES", "4096"));
        assertThat(fixed.boardFrom(true)).isEqualTo(4096);
        assertThat(fixed.boardFrom(false)).isEqualTo(4096);
        assertThatThrownBy(() -> CommOptions.fromEnvironment(Map.of("TANDEM_BOARD_MIN_BYTES", "0")))
                .isInstanceOf(TandemException.class).hasMessageContaining("TANDEM_BOARD_MIN_BYTES=0");
        assertThat(CommOptions.fromEnvironment(Map.of("TANDEM_SHM_DIR", "/mnt/big")).shmDirectory()).isEqualTo(java.nio.file.Path.of("/mnt/big"));
    }

    @Test
    void boardSlotsShrinkInLargeGroupsToStayWithin64MiB() {
        assertThat(Board.chunkFor(3, 8L << 20)).isEqualTo(8L << 20);
        assertThat(Board.chunkFor(4, 8L << 20)).isEqualTo((8L << 20) - 4096); // the counters and slot headers take a page
        assertThat(Board.chunkFor(8, 8L << 20)).isEqualTo((4L << 20) - 4096);
        assertThat(Board.chunkFor(100_000, 8L << 20)).isEqualTo(4096);
        assertThat(Board.chunkFor(4, 5000)).isEqualTo(4096); // whole pages
        for (int n = 3; n <= 128; n++) assertThat(Board.bytesFor(n, Board.chunkFor(n, 8L << 20))).as("n=%d", n).isLessThanOrEqualTo(64L << 20);
    }
}
