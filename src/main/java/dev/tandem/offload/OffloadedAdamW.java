package dev.tandem.offload;

import dev.tandem.TandemException;
import dev.tandem.optim.AdamW;
import dev.tandem.optim.Optimizer;
import dev.tandem.optim.ParamGroups;
import dev.tandem.optim.ParamSlice;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Kernels;
import dev.tandem.tensor.MemoryAccounting;
import dev.tandem.tensor.MemoryCategory;
import dev.tandem.tensor.OffHeap;
import dev.tandem.tensor.OptimizerKernels;
import dev.tandem.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * AdamW whose state lives partly in a slower {@link Tier}, updated with Deep Optimizer States'
 * interleaving (Maurya et al.). The placement decides per slice: state that fits the fast tier's
 * budget stays there (resident); the rest lives in the tier, cut into {@link Subgroups}. Subgroup
 * x is updated in the fast tier when (x+1) % k == 0: an I/O thread prefetches its state into a
 * staging buffer while the subgroups before it update in place, and writes it back afterwards;
 * the others update in place, streamed through a small bounce buffer by the compute thread.
 * With k = 0 every subgroup updates in place (naive offload).
 *
 * <p>What overlaps: {@link #prepare} (called before the step's forward pass) starts prefetching
 * the first two fast subgroups, so their reads run during forward and backward; the last
 * write-backs of a step run during the next step's forward and backward. {@link #flush} waits
 * for all of them: checkpoints call it, and read the state in place in the tier ({@link #state}),
 * one copy from tier to file.
 *
 * <p>The update of an element is the provider's AdamW kernel on the same values in every mode, so
 * results are bit-identical to {@link AdamW} with the state in RAM; the state is named as
 * AdamW's, so checkpoints move freely between the two.
 */
public final class OffloadedAdamW implements Optimizer {
    /** Elements streamed per in-place access: m and v of 64 Ki elements, 512 KiB of bounce buffer. */
    static final int CHUNK = 1 << 16;

    /** Where a test stops the I/O thread, as a killed process would (inside a write-back). */
    @FunctionalInterface
    interface CrashHook {
        CrashHook NONE = where -> {};

        void reach(String where);
    }

    private final AdamW.Settings s;
    private final List<ParamSlice> slices;
    private final ParamGroups groups;
    private final Kernels kernels;
    private final Tier tier; // null when every slice is resident
    private final OffHeap resident; // m and v of resident slices; null when none
    private final MemorySegment[] m, v; // per slice: where its state lives (fast buffer or tier view)
    private final long[] tierOffset; // per slice: offset of its m in the tier (v follows); -1 when resident
    private final Subgroups subgroups;
    private final int stride;
    private final int[] fastOrder; // the fast subgroups, in update order
    private final OffHeap[] staging = new OffHeap[2];
    private final OffHeap bounce;
    private final ExecutorService io;
    private final Future<?>[] pending = new Future<?>[2]; // last I/O task on each staging buffer
    private final int[] holds = {-1, -1}; // subgroup each staging buffer holds (prefetched), -1 none
    private final CrashHook crash;
    private final AtomicReference<Throwable> failure = new AtomicReference<>(); // the first I/O failure
    private long t;

    /**
     * @param placement which slices stay resident in the fast tier ({@code true}) and which live in {@code tier}
     * @param tier      the slow tier, of at least 8 bytes per offloaded element; null when nothing is offloaded
     * @param subgroup  elements per subgroup
     * @param stride    k of the interleaving, 0 for naive offload, or −1 to choose it from measured speeds
     */
    public OffloadedAdamW(AdamW.Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels, boolean[] placement,
                          Tier tier, long subgroup, int stride) {
        this(settings, slices, groups, kernels, placement, tier, subgroup, stride, CrashHook.NONE);
    }

    OffloadedAdamW(AdamW.Settings settings, List<ParamSlice> slices, ParamGroups groups, Kernels kernels, boolean[] placement,
                   Tier tier, long subgroup, int stride, CrashHook crash) {
        this.s = settings;
        this.slices = List.copyOf(slices);
        this.groups = groups;
        this.kernels = kernels;
        this.tier = tier;
        this.crash = crash;
        int n = this.slices.size();
        if (placement.length != n) throw new IllegalArgumentException("placement has " + placement.length + " entries for " + n + " slices");
        m = new MemorySegment[n];
        v = new MemorySegment[n];
        tierOffset = new long[n];
        long[] offloadedLengths = new long[n];
        long residentBytes = 0, tierBytes = 0;
        for (int i = 0; i < n; i++) {
            long len = this.slices.get(i).length();
            offloadedLengths[i] = placement[i] ? -1 : len;
            if (placement[i]) residentBytes += 8 * len;
            else tierBytes += 8 * len;
        }
        if (tierBytes > 0 && tier == null) throw new IllegalArgumentException("state placed in a slow tier, but there is none");
        if (tier != null && tier.spec().capacityBytes() < tierBytes) {
            throw new IllegalArgumentException("tier holds " + tier.spec().capacityBytes() + " bytes, the state needs " + tierBytes);
        }
        resident = residentBytes > 0 ? OffHeap.allocate(residentBytes, MemoryCategory.OPTIMIZER_STATE) : null;
        long fastAt = 0, tierAt = 0;
        for (int i = 0; i < n; i++) {
            long bytes = 4 * this.slices.get(i).length();
            if (placement[i]) {
                m[i] = resident.segment().asSlice(fastAt, bytes);
                v[i] = resident.segment().asSlice(fastAt + bytes, bytes);
                tierOffset[i] = -1;
                fastAt += 2 * bytes;
            } else {
                m[i] = tier.view(tierAt, bytes);
                v[i] = tier.view(tierAt + bytes, bytes);
                tierOffset[i] = tierAt;
                tierAt += 2 * bytes;
            }
        }
        subgroups = Subgroups.cut(offloadedLengths, subgroup);
        long largest = 0;
        for (int x = 0; x < subgroups.count(); x++) largest = Math.max(largest, Subgroups.elements(subgroups.get(x)));
        if (subgroups.count() > 0) {
            bounce = OffHeap.allocate(8L * Math.min(CHUNK, largest), MemoryCategory.OPTIMIZER_STATE);
            for (int b = 0; b < 2; b++) staging[b] = OffHeap.allocate(8 * largest, MemoryCategory.OPTIMIZER_STATE);
            MemoryAccounting memory = MemoryAccounting.current();
            io = Executors.newSingleThreadExecutor(r -> {
                Thread th = new Thread(() -> memory.run(r), "tandem-offload-io");
                th.setDaemon(true);
                return th;
            });
        } else {
            bounce = null;
            io = null;
        }
        this.stride = stride >= 0 || subgroups.count() == 0 ? Math.max(stride, 0) : measureStride();
        List<Integer> order = new ArrayList<>();
        for (int x = 0; x < subgroups.count(); x++) if (Subgroups.fast(x, this.stride)) order.add(x);
        fastOrder = order.stream().mapToInt(Integer::intValue).toArray();
        if (tier != null) tier.traffic().reset(); // measuring the stride moved bytes; training's traffic starts now
    }

    /** Fast-tier bytes the updates of offloaded state need with subgroups of {@code subgroup} elements: two staging buffers and the bounce buffer. */
    public static long stagingBytes(long subgroup) {
        return 2 * 8 * subgroup + 8 * Math.min(CHUNK, subgroup);
    }

    /** k of the interleaving (0: naive offload, every subgroup in place). */
    public int stride() {
        return stride;
    }

    public int subgroupCount() {
        return subgroups.count();
    }

    /** The slow tier, or null when all state is resident. */
    public Tier tier() {
        return tier;
    }

    /** Bytes of state kept in the fast tier for good, and bytes of staging and bounce buffers. */
    public long residentBytes() {
        return resident == null ? 0 : resident.byteSize();
    }

    public long stagingBytes() {
        return bounce == null ? 0 : bounce.byteSize() + staging[0].byteSize() + staging[1].byteSize();
    }

    /** Starts fetching the first fast subgroups of the coming step; call before its forward pass. */
    public void prepare() {
        for (int j = 0; j < Math.min(2, fastOrder.length); j++) {
            if (holds[j] != fastOrder[j]) prefetch(fastOrder[j], j);
        }
    }

    @Override
    public void step(float lr) {
        t++;
        for (int i = 0; i < slices.size(); i++) {
            if (tierOffset[i] < 0) update(i, 0, slices.get(i).length(), m[i], v[i], lr);
        }
        int j = 0;
        for (int x = 0; x < subgroups.count(); x++) {
            if (!Subgroups.fast(x, stride)) {
                inPlace(subgroups.get(x), lr);
                continue;
            }
            int b = j % 2;
            if (holds[b] != x) prefetch(x, b); // prepare() was not called, or the state changed since
            await(pending[b]);
            MemorySegment buf = staging[b].segment();
            long at = 0;
            for (Subgroups.Piece p : subgroups.get(x)) {
                long bytes = 4 * p.length();
                update(p.slice(), p.from(), p.length(), buf.asSlice(at, bytes), buf.asSlice(at + bytes, bytes), lr);
                at += 2 * bytes;
            }
            List<Subgroups.Piece> pieces = subgroups.get(x);
            pending[b] = submit(() -> transfer(pieces, buf, false));
            holds[b] = -1;
            if (j + 2 < fastOrder.length) prefetch(fastOrder[j + 2], b);
            j++;
        }
    }

    /** AdamW on elements {@code [from, from+n)} of slice {@code i}, with their m and v at {@code mSeg}, {@code vSeg}. */
    private void update(int i, long from, long n, MemorySegment mSeg, MemorySegment vSeg, float lr) {
        ParamSlice p = slices.get(i);
        float lri = lr * groups.lrScale(p.name());
        float decay = 1f - lri * groups.weightDecay(p, s.weightDecay());
        kernels.optimizer().adamW(p.value().asSlice(4 * from, 4 * n), p.grad().asSlice(4 * from, 4 * n), mSeg, vSeg, n,
                new OptimizerKernels.AdamW(s.beta1(), s.beta2(), s.eps(), lri, decay, t));
    }

    /** The update in the slow tier: each chunk's m and v read, updated and written back by this thread. */
    private void inPlace(List<Subgroups.Piece> pieces, float lr) {
        MemorySegment buf = bounce.segment();
        for (Subgroups.Piece p : pieces) {
            for (long from = p.from(); from < p.from() + p.length(); from += CHUNK) {
                long n = Math.min(CHUNK, p.from() + p.length() - from), bytes = 4 * n;
                MemorySegment mb = buf.asSlice(0, bytes), vb = buf.asSlice(bytes, bytes);
                long mAt = tierOffset[p.slice()] + 4 * from, vAt = mAt + 4 * slices.get(p.slice()).length();
                tier.read(mAt, mb);
                tier.read(vAt, vb);
                update(p.slice(), from, n, mb, vb, lr);
                tier.write(mAt, mb);
                tier.write(vAt, vb);
            }
        }
    }

    private void prefetch(int x, int b) {
        List<Subgroups.Piece> pieces = subgroups.get(x);
        MemorySegment buf = staging[b].segment();
        pending[b] = submit(() -> transfer(pieces, buf, true));
        holds[b] = x;
    }

    /** Queues {@code task} on the I/O thread; a failure is kept, so it surfaces even when a later task replaced this one's future. */
    private Future<?> submit(Runnable task) {
        return io.submit(() -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                failure.compareAndSet(null, e);
                throw e;
            }
        });
    }

    /** Moves the m and v of {@code pieces} between the tier and {@code buf} (laid out m, v per piece). */
    private void transfer(List<Subgroups.Piece> pieces, MemorySegment buf, boolean in) {
        long at = 0;
        for (Subgroups.Piece p : pieces) {
            long bytes = 4 * p.length();
            long mAt = tierOffset[p.slice()] + 4 * p.from(), vAt = mAt + 4 * slices.get(p.slice()).length();
            if (in) {
                tier.read(mAt, buf.asSlice(at, bytes));
                tier.read(vAt, buf.asSlice(at + bytes, bytes));
            } else {
                tier.write(mAt, buf.asSlice(at, bytes));
                crash.reach("write-back");
                tier.write(vAt, buf.asSlice(at + bytes, bytes));
            }
            at += 2 * bytes;
        }
    }

    private void await(Future<?> f) {
        try {
            if (f != null) f.get();
            Throwable failed = failure.get();
            if (failed instanceof RuntimeException r) throw r;
            if (failed != null) throw new IllegalStateException("moving optimizer state between memory tiers failed", failed);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TandemException("interrupted while moving optimizer state between memory tiers", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException("moving optimizer state between memory tiers failed", e.getCause());
        }
    }

    /** Waits for every prefetch and write-back; afterwards the tier holds the current state and nothing is staged. */
    public void flush() {
        for (int b = 0; b < 2; b++) {
            await(pending[b]);
            pending[b] = null;
            holds[b] = -1;
        }
    }

    /**
     * Times moving one subgroup to the fast tier and back, and one in-place update of it, then
     * picks k ({@link Subgroups#stride}). Runs before the state is loaded or updated; it writes
     * back exactly the bytes it read, and updates a scratch copy.
     */
    private int measureStride() {
        List<Subgroups.Piece> first = subgroups.get(0);
        long n = Subgroups.elements(first);
        MemorySegment buf = staging[0].segment(), scratch = staging[1].segment();
        double transfer = Double.MAX_VALUE, inPlace = Double.MAX_VALUE;
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            transfer(first, buf, true);
            transfer(first, buf, false);
            long t1 = System.nanoTime();
            // In place: the same reads and writes in chunks, and the kernel over as many elements (on scratch memory).
            MemorySegment b = bounce.segment();
            for (Subgroups.Piece p : first) {
                for (long from = p.from(); from < p.from() + p.length(); from += CHUNK) {
                    long c = Math.min(CHUNK, p.from() + p.length() - from), bytes = 4 * c;
                    long mAt = tierOffset[p.slice()] + 4 * from, vAt = mAt + 4 * slices.get(p.slice()).length();
                    tier.read(mAt, b.asSlice(0, bytes));
                    tier.read(vAt, b.asSlice(bytes, bytes));
                    tier.write(mAt, b.asSlice(0, bytes));
                    tier.write(vAt, b.asSlice(bytes, bytes));
                }
            }
            long quarter = 4 * (n / 2);
            kernels.optimizer().adamW(scratch.asSlice(0, quarter), scratch.asSlice(quarter, quarter), scratch.asSlice(2 * quarter, quarter),
                    scratch.asSlice(3 * quarter, quarter), n / 2, new OptimizerKernels.AdamW(0.9f, 0.95f, 1e-8f, 0f, 1f, 1));
            kernels.optimizer().adamW(scratch.asSlice(0, quarter), scratch.asSlice(quarter, quarter), scratch.asSlice(2 * quarter, quarter),
                    scratch.asSlice(3 * quarter, quarter), n / 2, new OptimizerKernels.AdamW(0.9f, 0.95f, 1e-8f, 0f, 1f, 1));
            long t2 = System.nanoTime();
            transfer = Math.min(transfer, t1 - t0);
            inPlace = Math.min(inPlace, t2 - t1);
        }
        scratch.fill((byte) 0);
        return Subgroups.stride(transfer, inPlace);
    }

    @Override
    public List<ParamSlice> slices() {
        return slices;
    }

    @Override
    public long steps() {
        return t;
    }

    /** AdamW's names ({@code exp_avg}, {@code exp_avg_sq}), each tensor a view of where it lives; pending transfers finish first. */
    @Override
    public Map<String, Tensor> state() {
        flush();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < slices.size(); i++) {
            int len = Math.toIntExact(slices.get(i).length());
            out.put(slices.get(i).stateKey() + ".exp_avg", Tensor.wrap(m[i], DType.F32, len));
            out.put(slices.get(i).stateKey() + ".exp_avg_sq", Tensor.wrap(v[i], DType.F32, len));
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    public void load(Map<String, Tensor> source, long steps) {
        Map<String, Tensor> mine = state();
        for (String k : source.keySet()) {
            if (!mine.containsKey(k)) throw new TandemException("optimizer state has no tensor named '" + k + "'");
        }
        for (Map.Entry<String, Tensor> e : mine.entrySet()) {
            Tensor src = source.get(e.getKey()), dst = e.getValue();
            if (src == null) throw new TandemException("optimizer state '" + e.getKey() + "' is missing");
            if (src.dtype() != dst.dtype() || !Arrays.equals(src.shape(), dst.shape())) {
                throw new TandemException("optimizer state '" + e.getKey() + "' is " + src + ", expected " + dst);
            }
            if (src.data().address() != dst.data().address()) dst.data().copyFrom(src.data());
        }
        t = steps;
    }

    @Override
    public void close() {
        try {
            if (failure.get() == null) flush();
        } finally {
            if (io != null) io.shutdownNow();
            if (resident != null) resident.close();
            if (bounce != null) bounce.close();
            for (OffHeap b : staging) if (b != null) b.close();
            if (tier != null) tier.close();
        }
    }
}
