package dev.tandem.ckpt;

import java.lang.foreign.MemorySegment;
import java.util.zip.CRC32C;

/** CRC32C of a tensor's bytes (hardware-accelerated in the JDK), written as 8 hex digits. */
final class Crc {
    private Crc() {}

    static String of(MemorySegment bytes) {
        CRC32C crc = new CRC32C();
        // asByteBuffer is limited to 2 GiB; feed larger tensors in chunks.
        long chunk = 1L << 30;
        for (long at = 0; at < bytes.byteSize(); at += chunk) {
            crc.update(bytes.asSlice(at, Math.min(chunk, bytes.byteSize() - at)).asByteBuffer());
        }
        return String.format("%08x", crc.getValue());
    }
}
