package dev.tandem.comm;

import dev.tandem.TandemException;

/**
 * A communication operation failed. The message names the operation, the group and the peer(s)
 * involved, so the CLI can print it as one line. After a failure the process group is unusable:
 * partially transferred messages leave the channels in an unknown state.
 */
public class CommException extends TandemException {
    public CommException(String message) {
        super(message);
    }

    public CommException(String message, Throwable cause) {
        super(message, cause);
    }

    CommException(String message, int exitCode) {
        super(message, null, exitCode);
    }
}
