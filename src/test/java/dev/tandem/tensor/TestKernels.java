package dev.tandem.tensor;

/** The kernels tests compute with where they do not compare implementations: the fast ones. */
public final class TestKernels {
    public static final Kernels FAST = Kernels.fast();
    public static final Kernels REFERENCE = Kernels.reference();

    private TestKernels() {}
}
