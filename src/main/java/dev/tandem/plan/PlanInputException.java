package dev.tandem.plan;

import dev.tandem.TandemException;

/**
 * Bad input to the planner or a plan (unknown model or hardware, malformed spec, label or config,
 * a plan that does not fit the job). A {@link TandemException}: the CLI prints it as one line.
 */
public final class PlanInputException extends TandemException {
    public PlanInputException(String message) {
        super(message);
    }

    public PlanInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
