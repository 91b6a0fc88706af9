package dev.tandem.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.optim.AdamW;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamGroups;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.Tensor;
import dev.tandem.tensor.TestKernels;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdamW with its state in a slower tier gives the same bits as AdamW in RAM, whatever the tier,
 * the stride (naive offload, interleaved, measured) and the placement; and a crash inside a
 * write-back loses nothing once the run resumes from its last checkpoint.
 */
class OffloadedAdamWTest {
    /** Slices of awkward sizes: small ones that share a subgroup, a large one that spans several, and a ZeRO-like partial slice. */
    private static final int[] SIZES = {5, 70_000, 33, 1_000, 131_101};
    private static final long SUBGROUP = 20_000; // elements: several subgroups, some of them with pieces of several slices
    private static final int STEPS = 5;

    @TempDir Path tmp;
    private final List<Tensor> owned = new ArrayList<>();
    private final Kernels kernels = TestKernels.FAST;

    @AfterEach
    void free() {
        owned.forEach(Tensor::close);
    }

    /** Fresh parameters (the same every call), their gradients, as slices; the last slice is part of a parameter. */
    private List<ParamSlice> slices() {
        SplittableRandom r = new SplittableRandom(7);
        List<ParamSlice> out = new ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) {
            Tensor p = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.PARAMETERS, SIZES[i]);
            Tensor g = Tensor.allocate(dev.tandem.tensor.DType.F32, MemoryCategory.GRADIENTS, SIZES[i]);
            for (int j = 0; j < SIZES[i]; j++) p.set(j, (float) r.nextGaussian());
            owned.add(p);
            owned.add(g);
            boolean partial = i == SIZES.length - 1;
            int[] shape = partial ? new int[] {SIZES[i] * 2} : new int[] {SIZES[i]};
            out.add(new ParamSlice("p" + i, shape, i % 2 == 0, partial ? SIZES[i] : 0, SIZES[i], p.data(), g.data()));
        }
        return out;
    }

    /** The gradient of step {@code step}: a fixed function of the step and the element. */
    private static void gradients(List<ParamSlice> slices, int step) {
        SplittableRandom r = new SplittableRandom(1000 + step);
        for (ParamSlice s : slices) {
            for (long j = 0; j < s.length(); j++) s.grad().setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) r.nextGaussian());
        }
    }

    private static void train(Optimizer opt, List<ParamSlice> slices, int from, int to) {
        for (int step = from; step < to; step++) {
            if (opt instanceof OffloadedAdamW o) o.prepare();
            gradients(slices, step);
            opt.step(1e-2f / (1 + step));
        }
    }

    /** Parameters then state, as raw bits. */
    private static Map<String, int[]> bits(Optimizer opt) {
        Map<String, int[]> out = new LinkedHashMap<>();
        for (ParamSlice s : opt.slices()) out.put(s.name(), s.value().toArray(ValueLayout.JAVA_INT));
        opt.state().forEach((k, t) -> out.put(k, t.data().toArray(ValueLayout.JAVA_INT)));
        return out;
    }

    private Map<String, int[]> inRam() {
        List<ParamSlice> slices = slices();
        try (AdamW ram = new AdamW(AdamW.Settings.gpt(), slices, ParamGroups.NONE, kernels)) {
            train(ram, slices, 0, STEPS);
            return bits(ram);
        }
    }

    private Map<String, int[]> offloaded(Function<Long, Tier> tier, boolean[] resident, int stride) {
        List<ParamSlice> slices = slices();
        long bytes = 0;
        for (int i = 0; i < SIZES.length; i++) if (!resident[i]) bytes += 8L * SIZES[i];
        try (OffloadedAdamW opt = new OffloadedAdamW(AdamW.Settings.gpt(), slices, ParamGroups.NONE, kernels, resident,
                bytes == 0 ? null : tier.apply(bytes), SUBGROUP, stride)) {
            train(opt, slices, 0, STEPS);
            return bits(opt);
        }
    }

    private static void assertSameBits(Map<String, int[]> actual, Map<String, int[]> expected, String what) {
        assertThat(actual.keySet()).as(what).containsExactlyElementsOf(expected.keySet());
        expected.forEach((k, v) -> assertThat(Arrays.equals(actual.get(k), v)).as("%s: %s", what, k).isTrue());
    }

    @Test
    void interleavedEqualsSlowTierEqualsInRamBitForBit() {
        Map<String, int[]> expected = inRam();
        boolean[] none = new boolean[SIZES.length], some = {true, false, true, true, false};
        Map<String, Function<Long, Tier>> tiers = Map.of(
                "ram", RamTier::new,
                "file-pread", b -> new FileTier(tmp.resolve("pread.bin"), b, FileTier.Access.PREAD),
                "file-mmap", b -> new FileTier(tmp.resolve("mmap.bin"), b, FileTier.Access.MMAP),
                "cxl-like", b -> new ThrottledTier(new RamTier(b), 20e9, 20e9, 1_000));
        tiers.forEach((name, tier) -> {
            for (int stride : new int[] {0, 1, 2, 3, -1}) {
                assertSameBits(offloaded(tier, none, stride), expected, name + " stride " + stride);
            }
            assertSameBits(offloaded(tier, some, 2), expected, name + " with small slices resident");
        });
        assertSameBits(offloaded(RamTier::new, new boolean[] {true, true, true, true, true}, 2), expected, "all resident");
    }

    @Test
    void stridePicksTheSmallestKThatHidesTheTransfer() {
        assertThat(Subgroups.stride(1, 10)).isEqualTo(2);
        assertThat(Subgroups.stride(30, 10)).isEqualTo(4); // 30 ≤ 3·10
        assertThat(Subgroups.stride(31, 10)).isEqualTo(5);
        assertThat(Subgroups.fast(2, 3)).isTrue();
        assertThat(Subgroups.fast(3, 3)).isFalse();
        assertThat(Subgroups.fast(5, 0)).isFalse();
    }

    @Test
    void crashInsideAWriteBackThenResumeFromTheCheckpointLosesNothing() {
        Map<String, int[]> expected = inRam();
        boolean[] none = new boolean[SIZES.length];
        Path file = tmp.resolve("state.bin");
        long bytes = 8L * Arrays.stream(SIZES).sum();
        // The run saves a checkpoint after step 2 (here: copies of parameters and state, as a checkpoint holds them) …
        List<ParamSlice> slices = slices();
        Map<String, float[]> params = new LinkedHashMap<>(), state = new LinkedHashMap<>();
        int[] writeBacksAfterSave = {-1}; // armed once the checkpoint is taken
        OffloadedAdamW.CrashHook crash = where -> {
            if (writeBacksAfterSave[0] >= 0 && ++writeBacksAfterSave[0] == 3) throw new IllegalStateException("killed inside a write-back");
        };
        OffloadedAdamW first = new OffloadedAdamW(AdamW.Settings.gpt(), slices, ParamGroups.NONE, kernels, none,
                new FileTier(file, bytes, FileTier.Access.PREAD), SUBGROUP, 1, crash);
        train(first, slices, 0, 2);
        for (ParamSlice s : slices) params.put(s.name(), s.value().toArray(ValueLayout.JAVA_FLOAT));
        first.state().forEach((k, t) -> state.put(k, t.toFloatArray()));
        writeBacksAfterSave[0] = 0;
        // … then dies in the middle of a write-back of step 3 (half of a subgroup written: m but not v).
        assertThatThrownBy(() -> {
            train(first, slices, 2, STEPS);
            first.flush();
        }).hasMessageContaining("killed inside a write-back");
        first.close();
        // Resuming: a new tier over the same file; the state comes from the checkpoint, never from what the file held.
        List<ParamSlice> again = slices();
        for (ParamSlice s : again) java.lang.foreign.MemorySegment.copy(params.get(s.name()), 0, s.value(), ValueLayout.JAVA_FLOAT, 0,
                Math.toIntExact(s.length()));
        try (OffloadedAdamW resumed = new OffloadedAdamW(AdamW.Settings.gpt(), again, ParamGroups.NONE, kernels, none,
                new FileTier(file, bytes, FileTier.Access.PREAD), SUBGROUP, 1)) {
            Map<String, Tensor> loaded = new LinkedHashMap<>();
            state.forEach((k, v) -> loaded.put(k, Tensor.of(MemoryCategory.OTHER, v, v.length)));
            resumed.load(loaded, 2);
            loaded.values().forEach(Tensor::close);
            train(resumed, again, 2, STEPS);
            assertSameBits(bits(resumed), expected, "resumed after a crash in a write-back");
        }
    }
}
