package dev.tandem.optim;

import dev.tandem.nn.Parameter;
import java.util.List;

/** Updates parameters from their gradients. Holds its state off-heap under OPTIMIZER_STATE. */
public interface Optimizer extends AutoCloseable {
    /** One update with learning rate {@code lr}; gradients must be final (clipped, reduced). */
    void step(float lr);

    /** The parameters this optimizer updates. */
    List<Parameter> parameters();

    /** Number of steps taken (bias correction uses it). */
    long steps();

    @Override
    void close();
}
