package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two runs with the same name: the second is refused before it writes anything into the first's directory. */
class RunLockTest {
    @TempDir Path runs;

    @Test
    void aSecondRunInTheSameDirectoryIsRefused() throws Exception {
        Path runDir = runs.resolve("busy");
        try (RunLock held = RunLock.acquire(runDir)) {
            assertThatThrownBy(() -> RunLock.acquire(runDir)).isInstanceOf(TandemException.class)
                    .hasMessageContaining("run directory " + runDir + " is in use by another run (pid " + ProcessHandle.current().pid())
                    .hasMessageEndingWith("wait for it to finish, or give this run another name (--run.name)");
            assertThatThrownBy(() -> RunLock.requireFree(runDir)).hasMessageContaining("is in use by another run");
            TrainConfig cfg = TrainConfig.load(null, TinyRun.config(runs, "busy", 2));
            assertThatThrownBy(() -> Trainer.runSingle(cfg, new PrintStream(new ByteArrayOutputStream()), false))
                    .hasMessageContaining("is in use by another run");
            assertThat(runDir.resolve("metrics.jsonl")).doesNotExist();
            assertThat(runDir.resolve("train-config.json")).doesNotExist();
        }
        RunLock.requireFree(runDir); // released with the run that held it
        RunLock.requireFree(runs.resolve("never-used"));
        assertThat(Files.exists(runs.resolve("never-used"))).isFalse();
    }
}
