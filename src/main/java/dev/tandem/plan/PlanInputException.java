package dev.tandem.plan;

/**
 * Bad input to the planner (unknown model or hardware, malformed spec or config). The planner
 * depends on nothing else in Tandem, so it has its own exception; the CLI turns it into a
 * one-line user error.
 */
public final class PlanInputException extends IllegalArgumentException {
    public PlanInputException(String message) {
        super(message);
    }

    public PlanInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
