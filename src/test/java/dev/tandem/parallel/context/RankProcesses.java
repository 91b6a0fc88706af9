package dev.tandem.parallel.context;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code n} rank JVMs of a test's main class with the launcher's rendezvous environment
 * (MASTER_ADDR/PORT, RANK, WORLD_SIZE, TANDEM_JOB_SECRET), so a test checks a parallel algorithm
 * on real processes talking over the real transports, then waits for all; a rank that fails or
 * hangs is an AssertionError showing every rank's output.
 */
final class RankProcesses {
    private RankProcesses() {}

    static void run(Class<?> main, int n, String... args) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> procs = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) {
                List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                        "-Xmx512m", "-cp", System.getProperty("java.class.path"), main.getName()));
                cmd.addAll(List.of(args));
                Path log = Files.createTempFile("rank" + r + "-", ".log");
                logs.add(log);
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
                pb.environment().put("MASTER_ADDR", "127.0.0.1");
                pb.environment().put("MASTER_PORT", Integer.toString(port));
                pb.environment().put("RANK", Integer.toString(r));
                pb.environment().put("WORLD_SIZE", Integer.toString(n));
                pb.environment().put("TANDEM_JOB_SECRET", "test-" + port);
                procs.add(pb.start());
            }
            StringBuilder failures = new StringBuilder();
            for (int r = 0; r < n; r++) {
                Process p = procs.get(r);
                if (!p.waitFor(180, TimeUnit.SECONDS)) failures.append("rank ").append(r).append(" did not finish in 180 s\n");
                else if (p.exitValue() != 0) failures.append("rank ").append(r).append(" exited with ").append(p.exitValue()).append('\n');
            }
            if (!failures.isEmpty()) {
                for (int r = 0; r < n; r++) failures.append("--- rank ").append(r).append(":\n").append(Files.readString(logs.get(r)));
                throw new AssertionError(failures.toString());
            }
        } finally {
            for (Process p : procs) p.destroyForcibly();
            for (Path log : logs) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }
}
