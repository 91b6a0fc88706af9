package dev.tandem.launch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

@EnabledOnOs(OS.LINUX)
class CoreBindingTest {
    /** Cpus_allowed_list of the calling thread, expanded ("0-2,5" → [0, 1, 2, 5]). */
    private static List<Integer> allowedHere() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (!line.startsWith("Cpus_allowed_list:")) continue;
            List<Integer> cpus = new ArrayList<>();
            for (String part : line.substring(line.indexOf(':') + 1).trim().split(",")) {
                String[] r = part.split("-");
                for (int c = Integer.parseInt(r[0]); c <= Integer.parseInt(r[r.length - 1]); c++) cpus.add(c);
            }
            return cpus;
        }
        throw new IllegalStateException("no Cpus_allowed_list");
    }

    @Test
    void eachLocalRankGetsItsSliceAndThreadsItStartsInheritIt() throws Exception {
        List<Integer> all = allowedHere();
        int ranks = 2;
        for (int rank = 0; rank < ranks; rank++) {
            int r = rank;
            AtomicReference<CoreBinding.Result> bound = new AtomicReference<>();
            AtomicReference<List<Integer>> seen = new AtomicReference<>(), child = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    bound.set(CoreBinding.bind(r, ranks));
                    seen.set(allowedHere());
                    Thread c = new Thread(() -> {
                        try {
                            child.set(allowedHere());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    c.start();
                    c.join();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            t.join();
            if (all.size() < ranks) {
                assertThat(bound.get().cpus()).isEmpty();
                assertThat(bound.get().whyNot()).contains("not binding");
                continue;
            }
            int per = all.size() / ranks;
            assertThat(bound.get().cpus()).isEqualTo(all.subList(r * per, (r + 1) * per));
            assertThat(seen.get()).isEqualTo(bound.get().cpus());
            assertThat(child.get()).isEqualTo(bound.get().cpus());
        }
        assertThat(allowedHere()).isEqualTo(all); // the test's own thread is untouched
    }

    @Test
    void moreRanksThanCpusBindsNothing() {
        CoreBinding.Result r = CoreBinding.bind(0, 4096);
        assertThat(r.cpus()).isEmpty();
        assertThat(r.whyNot()).contains("4096 ranks on this host").contains("not binding");
    }
}
