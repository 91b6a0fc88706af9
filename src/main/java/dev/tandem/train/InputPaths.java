package dev.tandem.train;

import dev.tandem.TandemException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves relative paths of inputs: first against the working directory, then against the
 * Tandem checkout where one is given ({@code TANDEM_HOME}, which the launcher script sets and the
 * command line passes on), so the bundled defaults work from any directory.
 */
final class InputPaths {
    private InputPaths() {}

    /** @param home Tandem's checkout, or null */
    static Path resolve(String path, String what, Path home) {
        Path p = Path.of(path);
        if (Files.exists(p) || p.isAbsolute()) {
            if (!Files.exists(p)) throw new TandemException(what + " " + p + " does not exist");
            return p;
        }
        if (home != null && Files.exists(home.resolve(p))) return home.resolve(p);
        throw new TandemException(what + " " + p + " does not exist (relative to " + Path.of("").toAbsolutePath()
                + (home == null ? "" : " or " + home) + ")");
    }

    /** For files that may not exist yet: an existing one wherever it is found, else under the working directory. */
    static Path resolveOutput(String path, Path home) {
        Path p = Path.of(path);
        if (Files.exists(p) || p.isAbsolute()) return p;
        if (home != null && Files.exists(home.resolve(p))) return home.resolve(p);
        return p;
    }
}
