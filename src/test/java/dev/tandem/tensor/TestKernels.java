package dev.tandem.tensor;

/**
 * The kernels tests compute with: the fast ones on one pool shared by the tests (of the default
 * size, never closed: its threads are daemons), and the reference.
 */
public final class TestKernels {
    public static final Kernels FAST = Kernels.fast(new WorkerPool(ComputeOptions.defaults().threads()));
    public static final Kernels REFERENCE = Kernels.reference();

    private TestKernels() {}
}
