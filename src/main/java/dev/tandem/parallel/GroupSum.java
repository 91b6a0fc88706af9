package dev.tandem.parallel;

import dev.tandem.comm.ProcessGroup;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * The sum of one double over a group, identical on every rank: each rank's value travels as its
 * 64 bits (collectives reduce float32, which would round it) and every rank adds them in rank order.
 */
public final class GroupSum {
    private GroupSum() {}

    public static double of(ProcessGroup group, double value) {
        int n = group.size();
        if (n == 1) return value;
        try (Tensor mine = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, 2);
             Tensor all = Tensor.allocate(DType.I32, MemoryCategory.COMMUNICATION, 2 * n)) {
            mine.data().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, Double.doubleToRawLongBits(value));
            group.allGather(mine.data(), all.data(), DType.I32, 2);
            double sum = 0;
            for (int r = 0; r < n; r++) sum += Double.longBitsToDouble(all.data().get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * r));
            return sum;
        }
    }
}
