package dev.tandem.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Open MPI as the peer of {@code tandem bench comm}: compiles src/bench/mpi/comm_bench.c with mpicc
 * (when present) and runs it under mpirun with the same sizes. Absent MPI is reported, not fatal.
 */
final class MpiPeer {
    private final Path binary;

    private MpiPeer(Path binary) {
        this.binary = binary;
    }

    /** Builds the peer, or explains why there is none. */
    static Optional<MpiPeer> build(Path root, Path outDir, List<String> notes) {
        Path src = root.resolve("src/bench/mpi/comm_bench.c");
        if (!onPath("mpicc") || !onPath("mpirun")) {
            notes.add("Open MPI column skipped: mpicc/mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
            return Optional.empty();
        }
        if (!Files.exists(src)) {
            notes.add("Open MPI column skipped: " + src + " not found (run from the repository root)");
            return Optional.empty();
        }
        try {
            Files.createDirectories(outDir);
            Path bin = outDir.resolve("comm_bench");
            if (!Files.exists(bin) || Files.getLastModifiedTime(bin).compareTo(Files.getLastModifiedTime(src)) < 0) {
                Process p = new ProcessBuilder("mpicc", "-O2", "-o", bin.toString(), src.toString()).inheritIO().start();
                if (p.waitFor() != 0) {
                    notes.add("Open MPI column skipped: mpicc failed on " + src);
                    return Optional.empty();
                }
            }
            return Optional.of(new MpiPeer(bin));
        } catch (IOException | InterruptedException e) {
            notes.add("Open MPI column skipped: " + e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Runs the peer on {@code n} ranks over {@code ops}, with {@code turnArguments} ({@link
     * BenchTurns#peerArguments}, or none to run alone); returns its TRIAL and RESULT lines.
     */
    List<String> run(int n, List<String> ops, long minBytes, long maxBytes, List<String> turnArguments)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--oversubscribe", "--bind-to", "none", "-np", Integer.toString(n)));
        if ("root".equals(System.getProperty("user.name"))) cmd.add(1, "--allow-run-as-root");
        cmd.addAll(List.of(binary.toString(), Long.toString(minBytes), Long.toString(maxBytes), "--ops", String.join(",", ops)));
        cmd.addAll(turnArguments);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> results = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("RESULT ") || line.startsWith("TRIAL ")) results.add(line);
                else System.err.println("[mpi] " + line);
            }
        }
        if (p.waitFor() != 0) System.err.println("[mpi] mpirun exited with code " + p.exitValue());
        return results;
    }

    private static boolean onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(":")) if (Files.isExecutable(Path.of(dir, exe))) return true;
        return false;
    }
}
