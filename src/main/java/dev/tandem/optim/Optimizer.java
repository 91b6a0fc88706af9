package dev.tandem.optim;

import java.util.List;

/** Updates parameters from their gradients. Holds its state off-heap under OPTIMIZER_STATE. */
public interface Optimizer extends AutoCloseable {
    /** One update with learning rate {@code lr}; gradients must be final (clipped, reduced). */
    void step(float lr);

    /** The parameter slices this optimizer updates (whole parameters on one rank). */
    List<ParamSlice> slices();

    /** Number of steps taken (bias correction uses it). */
    long steps();

    @Override
    void close();
}
