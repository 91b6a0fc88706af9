package dev.tandem.spark;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A Tandem installation on a node: the directory of the {@code tandem} launcher script (a checkout
 * or an unpacked release), the same path on every node. Ranks are started through that script, so
 * they run on JDK 25 with exactly the JVM flags and class path that {@code ./tandem train} uses,
 * whatever Java runs Spark.
 *
 * @param home     the directory holding {@code tandem}
 * @param javaHome a JDK 25 to run the ranks on, or null to let the script find one
 */
record TandemInstallation(String home, String javaHome) implements Serializable { // Strings: a Path is not Serializable

    /** From {@code spark.tandem.home} (else TANDEM_HOME) and {@code spark.tandem.javaHome}; checks the script is there. */
    static TandemInstallation of(String home, String javaHome) {
        if (home == null || home.isBlank()) {
            throw new TandemSparkException("no Tandem installation named: pass --conf spark.tandem.home=/path/to/tandem "
                    + "(the directory with the `tandem` launcher, the same path on every node) or set TANDEM_HOME");
        }
        TandemInstallation t = new TandemInstallation(Path.of(home).toAbsolutePath().normalize().toString(),
                javaHome == null || javaHome.isBlank() ? null : javaHome);
        t.check();
        return t;
    }

    /** Throws naming the path when the launcher script is missing or not executable here. */
    void check() {
        Path script = script();
        if (!Files.isExecutable(script)) {
            throw new TandemSparkException(script + " is not an executable Tandem launcher on this node: install Tandem at the same "
                    + "path on every node (spark.tandem.home)");
        }
    }

    private Path script() {
        return Path.of(home, "tandem");
    }

    /** A process builder for {@code tandem <args>}, with JAVA_HOME set when a JDK was named. */
    ProcessBuilder command(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(script().toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        if (javaHome != null) env.put("JAVA_HOME", javaHome);
        return pb;
    }

    /**
     * The resolved config of {@code tandem <trainArgs> --print-config}, run here (on the driver);
     * a config the core refuses fails with the first line of the core's own message.
     */
    String printConfig(List<String> trainArgs) {
        List<String> args = new ArrayList<>(trainArgs);
        args.add("--print-config");
        try {
            Process p = command(args).start();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new TandemSparkException("`tandem " + String.join(" ", args) + "` did not finish in 10 minutes");
            }
            if (p.exitValue() != 0) {
                String why = new String(err.join(), StandardCharsets.UTF_8).strip().lines().findFirst().orElse("exit code " + p.exitValue());
                throw new TandemSparkException("Tandem refused the run's settings: " + why);
            }
            return out;
        } catch (IOException e) {
            throw new TandemSparkException("cannot run " + script() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemSparkException("interrupted while reading the run's config", e);
        }
    }

    private static byte[] readAll(java.io.InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
