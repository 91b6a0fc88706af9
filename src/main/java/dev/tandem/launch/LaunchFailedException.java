package dev.tandem.launch;

import dev.tandem.TandemException;

/** A launched job failed because of one of its ranks ({@link #failure()}); the message names it. */
public final class LaunchFailedException extends TandemException {
    private final RankFailure failure;

    LaunchFailedException(String message, RankFailure failure) {
        super(message, null, 1);
        this.failure = failure;
    }

    public RankFailure failure() {
        return failure;
    }
}
