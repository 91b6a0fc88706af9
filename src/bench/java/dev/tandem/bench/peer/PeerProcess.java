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

    /**
     * The peer's libtorch uses OpenMP for its own ops and a pthreads OpenBLAS (built without
     * USE_OPENMP) for matmuls: two pools of `threads` workers each, both spinning when idle. On
     * this 2-core machine the spinning pool steals the cores from the working one; measured on the
     * small model, 2 threads: 5.1 s/step as shipped, 1.6 s/step with these two settings (and 0.75 s
     * with 1 thread). So the peer gets idle workers that sleep instead of spin. The user's own
     * values, if set, win.
     */
    static final Map<String, String> TUNING = tuning();

    private static Map<String, String> tuning() {
        Map<String, String> t = new java.util.LinkedHashMap<>();
        t.put("OMP_WAIT_POLICY", System.getenv().getOrDefault("OMP_WAIT_POLICY", "PASSIVE"));
        t.put("OPENBLAS_THREAD_TIMEOUT", System.getenv().getOrDefault("OPENBLAS_THREAD_TIMEOUT", "4"));
        return t;
    }

    private final Process process;
    private final BufferedReader from;
    private final PrintWriter to;
    final long parameters;
    final int threads;
    final String version;
    final List<String> unsetVars = new ArrayList<>();

    PeerProcess(TrainBenchCase c, int threads) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC",
                "-cp", System.getProperty("java.class.path"), TorchPeer.class.getName(), Integer.toString(threads)));
        cmd.addAll(List.of(c.toArgs()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        Map<String, String> env = pb.environment();
        for (String v : UNSET) if (env.remove(v) != null) unsetVars.add(v);
        // OpenMP (libtorch's intra-op pool) and OpenBLAS read these before set_num_threads runs.
        env.put("OMP_NUM_THREADS", Integer.toString(threads));
        env.put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        env.putAll(TUNING);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new TandemException("cannot start the PyTorch peer process: " + e.getMessage(), e);
        }
        from = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        to = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        String[] ready = expect("ready");
        parameters = Long.parseLong(ready[1]);
        this.threads = Integer.parseInt(ready[2]);
        this.version = ready[3];
    }

    /** Runs {@code steps} training steps in the peer; returns their seconds and losses. */
    StepLog run(int steps) {
        to.println("run " + steps);
        StepLog log = new StepLog();
        for (int i = 0; i < steps; i++) {
            String[] s = expect("step");
            log.add(StepTiming.fromWire(s, 1));
        }
        expect("ok");
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
        to.println("quit");
        try {
            if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
