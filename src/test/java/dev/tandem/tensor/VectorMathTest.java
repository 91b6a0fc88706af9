package dev.tandem.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import jdk.incubator.vector.FloatVector;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;

class VectorMathTest {
    private static final jdk.incubator.vector.VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Property(tries = 3000)
    void expIsAccurateAndScalarMatchesVector(@ForAll @FloatRange(min = -87f, max = 88f) float x) {
        float v = VectorMath.exp(FloatVector.broadcast(S, x)).lane(0);
        float s = VectorMath.exp(x);
        assertThat(Float.floatToRawIntBits(s)).isEqualTo(Float.floatToRawIntBits(v));
        double exact = StrictMath.exp(x);
        assertThat(Math.abs(v - exact)).isLessThanOrEqualTo(3 * Math.ulp((float) exact));
    }

    @Property(tries = 3000)
    void tanhIsAccurateAndScalarMatchesVector(@ForAll @FloatRange(min = -20f, max = 20f) float x) {
        float v = VectorMath.tanh(FloatVector.broadcast(S, x)).lane(0);
        assertThat(Float.floatToRawIntBits(VectorMath.tanh(x))).isEqualTo(Float.floatToRawIntBits(v));
        assertThat(Math.abs(v - StrictMath.tanh(x))).isLessThan(3e-7);
    }

    @Property(tries = 200)
    void sumIsLaneOrder(@ForAll float a, @ForAll float b) {
        float[] lanes = new float[S.length()];
        for (int i = 0; i < lanes.length; i++) lanes[i] = i % 2 == 0 ? a : b;
        float expected = 0f;
        for (float f : lanes) expected += f;
        assertThat(Float.floatToRawIntBits(VectorMath.sum(FloatVector.fromArray(S, lanes, 0)))).isEqualTo(Float.floatToRawIntBits(expected));
    }
}
