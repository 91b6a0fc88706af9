package dev.tandem.bench.peer;

import dev.tandem.TandemException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parent's handle on a {@link TorchPeer} process: same JVM binary and class path, and an
 * environment without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set for their
 * own reasons and which would pin libtorch's OpenBLAS to a kernel not chosen for this CPU.
 */
final class PeerProcess implements AutoCloseable {
    /** Environment variables removed for the peer, so it picks its own best kernels. */
    static final List<String> UNSET = List.of("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE");

    private final Process process;
    private final BufferedReader from;
    private final PrintWriter to;
    final PeerConfig config;
    final long parameters;
    /** The pools' sizes as libtorch (OpenMP) and OpenBLAS report them. */
    final int ompThreads, blasThreads;
    final String version;
    /** Threads that computed during the last {@link #run}, counted by the OS. */
    int busyThreads = -1;
    final List<String> unsetVars = new ArrayList<>();

    PeerProcess(TrainBenchCase c, PeerConfig config) {
        this.config = config;
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-XX:+UseParallelGC",
                "-cp", System.getProperty("java.class.path"), TorchPeer.class.getName(),
                Integer.toString(config.intraOp()), Integer.toString(config.blasThreads())));
        cmd.addAll(List.of(c.toArgs()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        Map<String, String> env = pb.environment();
        for (String v : UNSET) if (env.remove(v) != null) unsetVars.add(v);
        PeerConfig.controlled().forEach(env::remove);
        env.putAll(config.environment());
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new TandemException("cannot start the PyTorch peer process: " + e.getMessage(), e);
        }
        from = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        to = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        String[] ready = expect("ready");
        parameters = Long.parseLong(ready[1]);
        ompThreads = Integer.parseInt(ready[2]);
        blasThreads = Integer.parseInt(ready[3]);
        version = ready[4];
    }

    /** What the pools hold, as the libraries and the OS report it. */
    String threadReport() {
        return String.format("OpenMP %d, OpenBLAS %d; %s threads busy in the last steps", ompThreads, blasThreads,
                busyThreads < 0 ? "?" : Integer.toString(busyThreads));
    }

    /**
     * Stops the peer process (SIGSTOP) until its next {@link #run}: idle workers of a spinning
     * configuration would otherwise keep computing on the cores while Tandem's steps are timed.
     */
    void pause() {
        signal("STOP");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) throw new TandemException("could not send SIG" + name + " to the PyTorch peer");
        } catch (IOException e) {
            throw new TandemException("could not send SIG" + name + " to the PyTorch peer: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemException("interrupted while signalling the PyTorch peer", e);
        }
    }

    /** Runs {@code steps} training steps in the peer (resuming it if paused); returns their seconds and losses. */
    StepLog run(int steps) {
        signal("CONT");
        to.println("run " + steps);
        StepLog log = new StepLog();
        for (int i = 0; i < steps; i++) {
            String[] s = expect("step");
            log.add(StepTiming.fromWire(s, 1));
        }
        busyThreads = Integer.parseInt(expect("ok")[1]);
        return log;
    }

    private String[] expect(String word) {
        String line;
        try {
            line = from.readLine();
        } catch (IOException e) {
            throw new TandemException("PyTorch peer: " + e.getMessage(), e);
        }
        if (line == null) {
            throw new TandemException("the PyTorch peer process ended unexpectedly (exit code "
                    + waitExit() + "); its error output is above");
        }
        String[] parts = line.trim().split(" ");
        if (!parts[0].equals(word)) throw new TandemException("PyTorch peer: expected '" + word + "', got: " + line);
        return parts;
    }

    private int waitExit() {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Override
    public void close() {
        signal("CONT");
        to.println("quit");
        try {
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
