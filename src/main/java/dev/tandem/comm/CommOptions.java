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
 * @param transport "auto" (shared memory to peers on this host, TCP otherwise), "tcp" or "shm"
 */
public record CommOptions(
        Duration timeout,
        Duration heartbeatInterval,
        Duration heartbeatTimeout,
        long ringBytes,
        long treeThresholdBytes,
        long chunkBytes,
        String transport) {

    public CommOptions {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
        if (Long.bitCount(ringBytes) != 1 || ringBytes < 4096) {
            throw new IllegalArgumentException("ringBytes must be a power of two >= 4096: " + ringBytes);
        }
        if (chunkBytes < 4096) throw new IllegalArgumentException("chunkBytes must be >= 4096: " + chunkBytes);
        if (!transport.equals("auto") && !transport.equals("tcp") && !transport.equals("shm")) {
            throw new IllegalArgumentException("transport must be auto, tcp or shm: " + transport);
        }
    }

    public static CommOptions defaults() {
        return new CommOptions(Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofSeconds(30),
                1L << 21, 64 * 1024, 8L << 20, "auto");
    }

    public CommOptions withTimeout(Duration t) {
        return new CommOptions(t, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, transport);
    }

    public CommOptions withTransport(String t) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, chunkBytes, t);
    }

    public CommOptions withRingBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, b, treeThresholdBytes, chunkBytes, transport);
    }

    public CommOptions withTreeThresholdBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, b, chunkBytes, transport);
    }

    public CommOptions withChunkBytes(long b) {
        return new CommOptions(timeout, heartbeatInterval, heartbeatTimeout, ringBytes, treeThresholdBytes, b, transport);
    }

    /**
     * Defaults overridden by environment variables: TANDEM_COMM_TIMEOUT and
     * TANDEM_HEARTBEAT_TIMEOUT (seconds, decimals allowed), TANDEM_TRANSPORT (auto|tcp|shm),
     * TANDEM_RING_BYTES, TANDEM_TREE_THRESHOLD_BYTES, TANDEM_CHUNK_BYTES.
     */
    public static CommOptions fromEnvironment(Map<String, String> env) {
        CommOptions d = defaults();
        try {
            return new CommOptions(
                    seconds(env, "TANDEM_COMM_TIMEOUT", d.timeout),
                    d.heartbeatInterval,
                    seconds(env, "TANDEM_HEARTBEAT_TIMEOUT", d.heartbeatTimeout),
                    longValue(env, "TANDEM_RING_BYTES", d.ringBytes),
                    longValue(env, "TANDEM_TREE_THRESHOLD_BYTES", d.treeThresholdBytes),
                    longValue(env, "TANDEM_CHUNK_BYTES", d.chunkBytes),
                    env.getOrDefault("TANDEM_TRANSPORT", d.transport));
        } catch (IllegalArgumentException e) {
            throw new TandemException("bad communication setting in the environment: " + e.getMessage());
        }
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
