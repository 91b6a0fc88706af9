package dev.tandem.offload;

import java.util.Locale;

/**
 * What a memory tier offers, the numbers placement and the interleaving stride are decided from:
 * how much it holds, how fast bytes move in and out, and what each access costs on top.
 *
 * @param name           what the reports call it ({@code ram}, {@code file}, {@code cxl})
 * @param capacityBytes  bytes it can hold
 * @param readBytesPerS  sustained bandwidth from the tier into fast memory
 * @param writeBytesPerS sustained bandwidth from fast memory into the tier
 * @param latencyNanos   fixed cost of one access (one transfer call), before the bytes flow
 */
public record TierSpec(String name, long capacityBytes, double readBytesPerS, double writeBytesPerS, long latencyNanos) {
    public TierSpec {
        if (capacityBytes < 0 || !(readBytesPerS > 0) || !(writeBytesPerS > 0) || latencyNanos < 0) {
            throw new IllegalArgumentException("tier " + name + ": capacity, bandwidths and latency must be positive");
        }
    }

    /** Nanoseconds to read {@code bytes} in one access. */
    public long readNanos(long bytes) {
        return latencyNanos + (long) (bytes * 1e9 / readBytesPerS);
    }

    /** Nanoseconds to write {@code bytes} in one access. */
    public long writeNanos(long bytes) {
        return latencyNanos + (long) (bytes * 1e9 / writeBytesPerS);
    }

    /** "cxl-like (4.0 GB/s read, 4.0 GB/s write, 2.0 µs per access)". */
    public String describe() {
        return String.format(Locale.ROOT, "%s (%.1f GB/s read, %.1f GB/s write, %.1f µs per access)", name, readBytesPerS / 1e9,
                writeBytesPerS / 1e9, latencyNanos / 1e3);
    }
}
