package dev.tandem.comm;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Handle of an asynchronous operation: compute can continue while it runs; {@link #await()}
 * waits for it and rethrows its failure. Operations of one rank run in the order they were
 * issued (the same order on every rank), whether issued synchronously or not.
 */
public final class Work {
    private final CompletableFuture<Void> future;

    Work(CompletableFuture<Void> future) {
        this.future = future;
    }

    static Work completed() {
        return new Work(CompletableFuture.completedFuture(null));
    }

    public boolean isDone() {
        return future.isDone();
    }

    /** Waits for completion; the operation's own timeout bounds the wait. */
    public void await() {
        try {
            future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** A view for composing with other futures. */
    public CompletableFuture<Void> toFuture() {
        return future.copy();
    }
}
