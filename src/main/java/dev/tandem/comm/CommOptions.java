package dev.tandem.comm;

import dev.tandem.TandemException;
import java.time.Duration;
import java.util.Map;

/**
 * Tunables of a process group. Every blocking operation gives up after {@link #timeout()}; a peer
 * silent for {@link #heartbeatTimeout()} is declared dead. Messages up to
 * {@link #treeThresholdBytes()} use latency-optimal algorithms (recursive doubling, binomial
 * trees); larger ones use bandwidth-optimal rings, processed in chunks of {@link #chunkBytes()}.
 *
 * @param ringBytes      capacity of each shared-memory ring, or {@link #AUTO} ({@link #ringCapacity})
 * @param transport      "auto" (shared memory to peers on this host, TCP otherwise), "tcp" or "shm"
 * @param directMinBytes payloads this large and larger are read in place by the receiver over
 *                       shared-memory and in-process links ({@link DirectPath}: one copy instead
 *                       of two); {@link Long#MAX_VALUE} turns that off, {@link #ADAPTIVE} lets each
 *                       group choose per operation by timing both ways ({@link PathChooser}),
 *                       {@link #AUTO} decides per link ({@link #singleCopyFrom})
 * @param boardMinBytes  all-gathers with outputs this large and larger (and the all-gather half of
 *                       all-reduces of chunks this large), in groups of three or more ranks that all
 *                       share this host, go through a shared board ({@link Board});
 *                       {@link Long#MAX_VALUE} turns that off, {@link #AUTO} decides ({@link #boardFrom})
 * @param shmDir         the folder for shared-memory rings and boards; "" = /dev/shm ({@link #shmDirectory})
 * @param logPaths       whether rank 0 of each group that chooses between the rings and reading in
 *                       place prints its choices ({@link PathChooser})
 */
public record CommOptions(
        Duration timeout,
        Duration heartbeatInterval,
        Duration heartbeatTimeout,
        long ringBytes,
        long treeThresholdBytes,
        long chunkBytes,
        String transport,
        long directMinBytes,
        long boardMinBytes,
        String shmDir,
        boolean logPaths) {

    /** {@code ringBytes} and {@code directMinBytes}: let {@link #ringCapacity} and {@link #singleCopyFrom} decide. */
    public static final long AUTO = 0;
    /** {@code directMinBytes}: each group times the rings and reading in place, and takes the faster ({@link PathChooser}). */
    public static final long ADAPTIVE = -1;
    private static final long RING_BYTES = 2L << 20, OVERSUBSCRIBED_RING_BYTES = 8L << 20;
    /** The most memory the automatic ring size lets one host's rings take (two rings per pair of ranks). */
    private static final long HOST_RING_BUDGET = 1L << 30;

    public CommOptions {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        if (ringBytes != AUTO && (Long.bitCount(ringBytes) != 1 || ringBytes < 4096)) {
            throw new IllegalArgumentException("ringBytes must be a power of two >= 4096, or AUTO: " + ringBytes);
        }
        if (chunkBytes < 4096) throw new IllegalArgumentException("chunkBytes must be >= 4096: " + chunkBytes);
        if (directMinBytes < ADAPTIVE) {
            throw new IllegalArgumentException("directMinBytes must be >= 1, AUTO or ADAPTIVE: " + directMinBytes);
        }
        if (boardMinBytes < 0) throw new IllegalArgumentException("boardMinBytes must be >= 1, or AUTO: " + boardMinBytes);
        if (shmDir == null) throw new IllegalArgumentException("shmDir must be a folder, or \"\" for the default");
        if (!transport.equals("auto") && !transport.equals("tcp") && !transport.equals("shm")) {
            throw new IllegalArgumentException("transport must be auto, tcp or shm: " + transport);
        }
    }

    public static CommOptions defaults() {
        return new CommOptions(Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofSeconds(30),
                AUTO, 64 * 1024, 8L << 20, "auto", AUTO, AUTO, "", false);
    }

    public CommOptions withTimeout(Duration t) {
        return new CommOptions(t, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport, directMinBytes,
                boardMinBytes, shmDir, logPaths);
    }

    public CommOptions withTransport(String t) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, t, directMinBytes,
                boardMinBytes, shmDir, logPaths);
    }

    public CommOptions withRingBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, b, treeThresholdBytes, chunkBytes, transport, directMinBytes,
                boardMinBytes, shmDir, logPaths);
    }

    public CommOptions withTreeThresholdBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, b, chunkBytes, transport, directMinBytes,
                boardMinBytes, shmDir, logPaths);
    }

    public CommOptions withChunkBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, b, transport, directMinBytes,
                boardMinBytes, shmDir, logPaths);
    }

    /**
     * The capacity of each ring between this job's {@code localRanks} ranks on one host: {@link
     * #ringBytes} if set, else 2 MiB, or 8 MiB where the ranks outnumber the CPUs they share and
     * the host's rings stay within {@link #HOST_RING_BUDGET} (up to 11 ranks). A rank sharing a
     * core moves data only while it is scheduled, and a transfer stops when the ring is full or
     * empty until the peer gets its turn, so a larger ring moves more per turn: with 8 ranks on 2
     * cores, 8 MiB rings made a 256 MiB all-gather take 222–253 ms against 391–395 ms with 2 MiB
     * rings (docs/notes/benchmarks-history.md, "Round 4").
     */
    long ringCapacity(int localRanks, boolean oversubscribed) {
        if (ringBytes != AUTO) return ringBytes;
        long rings = (long) localRanks * (localRanks - 1);
        return oversubscribed && rings * OVERSUBSCRIBED_RING_BYTES <= HOST_RING_BUDGET ? OVERSUBSCRIBED_RING_BYTES : RING_BYTES;
    }

    /**
     * From which payload size a link with rings of {@code ringCapacity} bytes may read payloads in
     * place. The automatic choice follows measurements on a 2-core VM
     * (docs/notes/benchmarks-history.md, "Round 3" and "Round 5"): between threads, payloads larger
     * than the ring (which cannot buffer them anyway; smaller ones are better buffered, so the
     * sender goes on before the receiver runs): one
     * copy instead of two made 2-thread all-gathers of 16–64 MiB about twice as fast. Between
     * processes neither way won everywhere (the rings by a quarter in one mode of the VM, reading in
     * place by four times in the other), so there each group chooses by timing both
     * ({@link #choosesPaths}) for payloads from {@link PathChooser#MIN_PAYLOAD_BYTES} on.
     */
    long singleCopyFrom(long ringCapacity, boolean crossProcess) {
        if (choosesPaths(crossProcess)) return PathChooser.MIN_PAYLOAD_BYTES;
        if (directMinBytes != AUTO) return directMinBytes;
        return ringCapacity;
    }

    /** Whether groups over such links choose per operation between the rings and reading in place ({@link PathChooser}). */
    boolean choosesPaths(boolean crossProcess) {
        return directMinBytes == ADAPTIVE || directMinBytes == AUTO && crossProcess;
    }

    public CommOptions withDirectMinBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport, b,
                boardMinBytes, shmDir, logPaths);
    }

    public CommOptions withBoardMinBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport,
                directMinBytes, b, shmDir, logPaths);
    }

    public CommOptions withLogPaths(boolean on) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport,
                directMinBytes, boardMinBytes, shmDir, on);
    }

    public CommOptions withShmDir(String dir) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport,
                directMinBytes, boardMinBytes, dir, logPaths);
    }

    /** {@code shmDir}, or by default /dev/shm (RAM-backed) where it is writable, else the temp folder. */
    java.nio.file.Path shmDirectory() {
        if (!shmDir.isBlank()) return java.nio.file.Path.of(shmDir);
        java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
        return java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm) ? shm
                : java.nio.file.Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * From which output size an all-gather of a group whose ranks all share this host goes through
     * a shared board instead of the ring: each rank copies its block into the board once and every
     * rank copies the others' blocks out, n copies of a block in all against the ring's 2(n−1).
     * Automatic: between processes, above the latency algorithms' threshold (smaller outputs take
     * Bruck's log2 n rounds); between threads, never, since they already read a large payload in
     * place ({@link #singleCopyFrom}), (n−1) copies.
     */
    long boardFrom(boolean crossProcess) {
        if (boardMinBytes != AUTO) return boardMinBytes;
        return crossProcess ? treeThresholdBytes + 1 : Long.MAX_VALUE;
    }

    /**
     * The settings every rank of a job must share, one {@code VARIABLE=value} line each, named by
     * the environment variables that set them ({@link #fromEnvironment}). Ranks that differ in one
     * choose different algorithms, chunks, rings, paths or folders for the same operation, and then
     * hang or fail with a mismatch far from the cause, so the rendezvous compares them first
     * ({@link TcpRendezvous}). Timeouts may differ between ranks.
     */
    String sharedSettings() {
        return String.join("\n",
                "TANDEM_TRANSPORT=" + transport,
                "TANDEM_RING_BYTES=" + bytesSetting(ringBytes),
                "TANDEM_TREE_THRESHOLD_BYTES=" + treeThresholdBytes,
                "TANDEM_CHUNK_BYTES=" + chunkBytes,
                "TANDEM_DIRECT_MIN_BYTES=" + bytesSetting(directMinBytes),
                "TANDEM_BOARD_MIN_BYTES=" + bytesSetting(boardMinBytes),
                "TANDEM_SHM_DIR=" + shmDirectory()); // the folder it resolves to: unset and /dev/shm agree
    }

    private static String bytesSetting(long b) {
        if (b == AUTO) return "auto";
        if (b == ADAPTIVE) return "adaptive";
        return b == Long.MAX_VALUE ? "off" : Long.toString(b);
    }

    /**
     * Defaults overridden by environment variables: TANDEM_COMM_TIMEOUT and
     * TANDEM_HEARTBEAT_TIMEOUT (seconds, decimals allowed), TANDEM_TRANSPORT (auto|tcp|shm),
     * TANDEM_RING_BYTES (bytes or "auto"), TANDEM_TREE_THRESHOLD_BYTES, TANDEM_CHUNK_BYTES, TANDEM_DIRECT_MIN_BYTES
     * (bytes, "auto", "adaptive" or "off") and TANDEM_BOARD_MIN_BYTES (bytes, "auto" or "off"),
     * TANDEM_SHM_DIR (a folder), TANDEM_LOG_PATHS ("1" prints the path choices). This is the one
     * place those variables are read; errors name the variable.
     */
    public static CommOptions fromEnvironment(Map<String, String> env) {
        CommOptions d = defaults();
        try {
            return new CommOptions(
                    seconds(env, "TANDEM_COMM_TIMEOUT", d.timeout),
                    d.heartbeatInterval,
                    seconds(env, "TANDEM_HEARTBEAT_TIMEOUT", d.heartbeatTimeout),
                    "auto".equalsIgnoreCase(env.getOrDefault("TANDEM_RING_BYTES", "").trim()) ? AUTO
                            : longValue(env, "TANDEM_RING_BYTES", d.ringBytes),
                    longValue(env, "TANDEM_TREE_THRESHOLD_BYTES", d.treeThresholdBytes),
                    longValue(env, "TANDEM_CHUNK_BYTES", d.chunkBytes),
                    env.getOrDefault("TANDEM_TRANSPORT", d.transport),
                    directMinBytes(env.getOrDefault("TANDEM_DIRECT_MIN_BYTES", "auto").trim()),
                    minBytes("TANDEM_BOARD_MIN_BYTES", env.getOrDefault("TANDEM_BOARD_MIN_BYTES", "auto").trim()),
                    env.getOrDefault("TANDEM_SHM_DIR", "").trim(),
                    "1".equals(env.getOrDefault("TANDEM_LOG_PATHS", "").trim()));
        } catch (IllegalArgumentException e) {
            throw new TandemException("bad communication setting in the environment: " + e.getMessage());
        }
    }

    private static long directMinBytes(String v) {
        if (v.equalsIgnoreCase("adaptive")) return ADAPTIVE;
        try {
            return minBytes("TANDEM_DIRECT_MIN_BYTES", v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("TANDEM_DIRECT_MIN_BYTES=" + v + " must be a number of bytes >= 1, auto, adaptive or off");
        }
    }

    private static long minBytes(String key, String v) {
        if (v.isEmpty() || v.equalsIgnoreCase("auto")) return AUTO;
        if (v.equalsIgnoreCase("off")) return Long.MAX_VALUE;
        try {
            long b = Long.parseLong(v);
            if (b >= 1) return b;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(key + "=" + v + " must be a number of bytes >= 1, auto or off");
    }

    private static Duration seconds(Map<String, String> env, String key, Duration fallback) {
        String v = env.get(key);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Duration.ofNanos((long) (Double.parseDouble(v.trim()) * 1e9));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + "=" + v + " is not a number of seconds");
        }
    }

    private static long longValue(Map<String, String> env, String key, long fallback) {
        String v = env.get(key);
        if (v == null || v.isBlank()) return fallback;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + "=" + v + " is not an integer");
        }
    }
}
