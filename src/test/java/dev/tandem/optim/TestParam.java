package dev.tandem.optim;

import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.util.SplittableRandom;

/** A stand-alone parameter (value + gradient tensors) for optimizer unit tests. */
final class TestParam implements AutoCloseable {
    final Tensor value, grad;
    final ParamSlice slice;

    TestParam(String name, boolean decays, int... shape) {
        value = Tensor.zeros(MemoryCategory.PARAMETERS, shape);
        grad = Tensor.zeros(MemoryCategory.GRADIENTS, shape);
        slice = new ParamSlice(name, shape, decays, 0, value.numel(), value.data(), grad.data());
    }

    TestParam random(long seed, double std) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < value.numel(); i++) value.set(i, (float) (r.nextGaussian() * std));
        return this;
    }

    void randomGrad(long seed, double std) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < grad.numel(); i++) grad.set(i, (float) (r.nextGaussian() * std));
    }

    double[] values() {
        float[] f = value.toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    @Override
    public void close() {
        value.close();
        grad.close();
    }
}
