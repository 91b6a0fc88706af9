package dev.tandem.spark;

/** A problem the user can fix (a setting, a path, the cluster's size): printed as one line, no stack trace. */
final class TandemSparkException extends RuntimeException {
    TandemSparkException(String message) {
        super(message);
    }

    TandemSparkException(String message, Throwable cause) {
        super(message, cause);
    }
}
