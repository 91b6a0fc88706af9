package dev.tandem.comm;

import java.time.Duration;

/**
 * What a rank needs to join a job over TCP: where rank 0 listens, its own rank, the world size,
 * the per-job secret, and the interface to listen on (null: the one that routes to the master,
 * which is loopback for single-host jobs).
 */
public record BootstrapSpec(String masterAddr, int masterPort, int rank, int worldSize, byte[] secret,
                            String bindAddress, Duration rendezvousTimeout, CommOptions options) {
    public BootstrapSpec {
        if (worldSize < 1) throw new IllegalArgumentException("world size must be >= 1: " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " outside world of " + worldSize);
        if (masterPort < 0 || masterPort > 65535) throw new IllegalArgumentException("bad master port " + masterPort);
        secret = secret.clone();
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }
}
