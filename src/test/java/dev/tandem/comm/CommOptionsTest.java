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
        for (String bad : new String[] {"0", "-1", "lots"}) {
            assertThatThrownBy(() -> CommOptions.fromEnvironment(Map.of("TANDEM_DIRECT_MIN_BYTES", bad)))
                    .isInstanceOf(TandemException.class).hasMessageContaining("TANDEM_DIRECT_MIN_BYTES=" + bad).hasMessageContaining("auto or off");
        }
    }

    @Test
    void automaticThresholdReadsInPlaceWhatTheRingCannotHoldBetweenThreadsOnly() {
        CommOptions auto = CommOptions.defaults();
        assertThat(auto.singleCopyFrom(RING, false)).isEqualTo(RING); // threads
        assertThat(auto.singleCopyFrom(RING, true)).isEqualTo(Long.MAX_VALUE); // processes: the ring measured as fast or faster
        CommOptions fixed = auto.withDirectMinBytes(4096);
        assertThat(fixed.singleCopyFrom(RING, true)).isEqualTo(4096);
        assertThat(fixed.singleCopyFrom(RING, false)).isEqualTo(4096);
    }
}
