package dev.tandem.ckpt;

import dev.tandem.TandemException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The checksum file of a model directory ({@link ModelFiles#CHECKSUMS}): one line per file, the
 * SHA-256 in hex, two spaces and the file name, as sha256sum writes and checks it. SHA-256 rather
 * than the CRC32C of checkpoints because that is what a user can check with a standard tool.
 */
final class ModelChecksums {
    private ModelChecksums() {}

    static void write(Path dir, List<String> files) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String f : files) lines.add(sha256(dir.resolve(f)) + "  " + f);
        dev.tandem.io.AtomicFiles.write(dir.resolve(ModelFiles.CHECKSUMS), tmp -> Files.write(tmp, lines));
    }

    /** Checks every file the checksum file of {@code dir} lists; nothing to check when there is no such file. */
    static void verify(Path dir) throws IOException {
        Path sums = dir.resolve(ModelFiles.CHECKSUMS);
        if (!Files.isRegularFile(sums)) return;
        for (String line : Files.readAllLines(sums)) {
            if (line.isBlank()) continue;
            int gap = line.indexOf("  ");
            if (gap != 64) throw new TandemException(sums + ": '" + line + "' is not a sha256sum line (64 hex digits, two spaces, a name)");
            String want = line.substring(0, gap), name = line.substring(gap + 2);
            Path file = dir.resolve(name);
            if (!Files.isRegularFile(file)) throw new TandemException(sums + " lists " + name + ", which is missing from " + dir);
            if (!sha256(file).equalsIgnoreCase(want)) {
                throw new TandemException(file + " does not match its SHA-256 in " + sums + ": the file is damaged or was changed after "
                        + "it was written; export or train it again (or delete " + ModelFiles.CHECKSUMS + " to load it as it is)");
            }
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
