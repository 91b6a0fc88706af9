package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class IdlePriorityTest {
    @Test
    @EnabledOnOs(OS.LINUX)
    void lowersOnlyTheCallingThread() throws Exception {
        AtomicReference<String> why = new AtomicReference<>("not run");
        AtomicReference<Integer> niceInside = new AtomicReference<>();
        Thread t = new Thread(() -> {
            why.set(IdlePriority.lowerCurrentThread());
            niceInside.set(niceOfThisThread());
        });
        t.start();
        t.join();
        assertThat(why.get()).isNull();
        assertThat(niceInside.get()).isEqualTo(19);
        assertThat(niceOfThisThread()).isLessThan(19); // the caller's own thread is untouched
    }

    /** Field 19 of /proc/thread-self/stat; the command name (field 2) is in parentheses and may hold spaces. */
    private static int niceOfThisThread() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(rest[16]); // fields 3.. start at index 0, so field 19 is index 16
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
