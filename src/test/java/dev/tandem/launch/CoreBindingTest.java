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
            AtomicReference<List<Integer>> bound = new AtomicReference<>(), seen = new AtomicReference<>(), child = new AtomicReference<>();
            String[] why = new String[1];
            Thread t = new Thread(() -> {
                try {
                    bound.set(CoreBinding.bind(r, ranks, why));
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
                assertThat(bound.get()).isEmpty();
                assertThat(why[0]).contains("not binding");
                continue;
            }
            int per = all.size() / ranks;
            assertThat(bound.get()).isEqualTo(all.subList(r * per, (r + 1) * per));
            assertThat(seen.get()).isEqualTo(bound.get());
            assertThat(child.get()).isEqualTo(bound.get());
        }
        assertThat(allowedHere()).isEqualTo(all); // the test's own thread is untouched
    }

    @Test
    void moreRanksThanCpusBindsNothing() {
        String[] why = new String[1];
        assertThat(CoreBinding.bind(0, 4096, why)).isEmpty();
        assertThat(why[0]).contains("4096 ranks on this host").contains("not binding");
    }
}
