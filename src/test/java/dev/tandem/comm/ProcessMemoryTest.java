package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The cross-process single-copy path, read from this process itself (which Linux allows as from any sibling). */
@EnabledOnOs(OS.LINUX)
class ProcessMemoryTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void readsAnyRangeOfAnExposedPayload() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(3 * 4096 + 13);
            for (long i = 0; i < src.byteSize(); i++) src.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 1));
            ProcessMemory path = new ProcessMemory(SELF, 0);
            long word = path.expose(src);
            assertThat(word).isEqualTo(src.address());
            MemorySegment dst = a.allocate(5000);
            path.read(word, 4000, dst);
            assertThat(dst.mismatch(src.asSlice(4000, 5000))).isEqualTo(-1);
        }
    }

    @Test
    void heapPayloadsTakeTheRing() {
        assertThat(new ProcessMemory(SELF, 0).expose(MemorySegment.ofArray(new byte[64]))).isZero();
    }

    @Test
    void probeFindsTheMagicWordOrSaysWhatItFound() {
        assertThat(ProcessMemory.unavailable()).isNull();
        assertThat(ProcessMemory.probe(SELF, ProcessMemory.probeWord())).isNull();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment other = a.allocate(8, 8);
            assertThat(ProcessMemory.probe(SELF, other.address())).contains("instead of the probe word");
        }
    }

    @Test
    void aProcessThatHasExitedIsAClosedLink() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> new ProcessMemory(p.pid(), 3).read(ProcessMemory.probeWord(), 0, a.allocate(8)))
                    .isInstanceOf(LinkClosedException.class).hasMessageContaining("rank 3");
        }
    }

    @Test
    void anAddressOutsideThePeerIsAClearError() {
        try (Arena a = Arena.ofConfined()) {
            assertThatThrownBy(() -> new ProcessMemory(SELF, 1).read(8, 0, a.allocate(8)))
                    .isInstanceOf(CommException.class).hasMessageContaining("process_vm_readv").hasMessageContaining("TANDEM_DIRECT_MIN_BYTES=off");
        }
    }
}
