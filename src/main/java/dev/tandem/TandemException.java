package dev.tandem;

/**
 * An error the user can fix: bad input, a missing file, an impossible configuration. The CLI
 * prints its message as one line (no stack trace) and exits with {@link #exitCode()}. The message
 * names the problem and, where possible, the fix.
 */
public class TandemException extends RuntimeException {
    private final int exitCode;

    public TandemException(String message) {
        this(message, null, 2);
    }

    public TandemException(String message, Throwable cause) {
        this(message, cause, 2);
    }

    public TandemException(String message, Throwable cause, int exitCode) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
