package dev.tandem.tensor;

import static dev.tandem.tensor.Gemm.ceilDiv;
import static dev.tandem.tensor.Gemm.roundUp;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One GEMM on several threads that share its packed operands and claim its work, as BLIS and
 * OpenBLAS share them. The blocked loop is {@link Gemm}'s: per k slice and block of rows, A is
 * packed once; per block of columns, B is packed once into an L2-sized block; then the A
 * micro-panels stream past it. Here each of those steps is a phase whose units (a few A panels
 * to pack, one B panel to pack, a few A panels to multiply by the B block) any thread claims from
 * a counter, so a thread the OS deschedules holds up at most the unit it holds, not a fixed half
 * of the product; and the operands are packed once in all, not once per thread.
 *
 * <p>Order: a phase waits only for phases before it (packed A before its products, a B block
 * before its products, the products that read a B buffer before it is packed again, all products
 * of a k slice before A is packed for the next). B blocks alternate between two buffers, so a
 * thread that runs out of products packs the next block while the others finish. Each thread
 * finishes what it claimed before it moves on, so no wait can close a cycle.
 *
 * <p>Every element of C is computed by one unit with the same k slices and micro-tiles as the
 * serial {@link Gemm} loop over the whole matrix, so the result does not depend on the number of
 * threads or on who computed what: it equals the one-thread result bit for bit.
 */
final class ParallelGemm {
    private static final int MR = GemmKernel.MR;
    private static final int NR = GemmKernel.NR;
    /** A panels per unit of A packing: 32 rows, a few µs of copying. */
    private static final int PACK_PANELS = 8;
    /** Spins before a waiting thread yields its core (a descheduled peer needs it to finish). */
    private static final int SPINS = 200;

    private final Gemm.Operands o;
    private final int threads;
    private final int kcStep, mcStep, ncStep;
    private final int rowBlocks, stages, blocksPerStage;
    private final boolean directA;
    /** A panels per unit of multiplication: enough units per block that every thread gets several. */
    private final int productPanels;
    private final float[] sharedA;
    private final float[][] sharedB = new float[2][];
    /** Per phase (see {@link #packAPhase} and after): units claimed, and units finished. */
    private final AtomicIntegerArray claimed, finished;
    private volatile Throwable failure;

    ParallelGemm(Gemm.Operands o, int threads) {
        this.o = o;
        this.threads = threads;
        kcStep = ceilDiv(o.k(), ceilDiv(o.k(), Gemm.KC));
        rowBlocks = ceilDiv(o.m(), Gemm.MC_MAX);
        mcStep = roundUp(ceilDiv(o.m(), rowBlocks), MR);
        ncStep = Gemm.ncFor(kcStep);
        stages = ceilDiv(o.k(), kcStep) * rowBlocks;
        blocksPerStage = ceilDiv(o.n(), ncStep);
        directA = Gemm.directA(o.n());
        productPanels = Math.clamp(ceilDiv(mcStep, MR) / (8 * threads), 1, 8);
        Gemm.Workspace ws = Gemm.workspace(); // the calling thread's: it outlives the call
        sharedA = directA ? null : ws.sharedA(mcStep * kcStep);
        int bSize = roundUp(Math.min(ncStep, o.n()), NR) * kcStep;
        sharedB[0] = ws.sharedB(0, bSize);
        sharedB[1] = stages * blocksPerStage > 1 ? ws.sharedB(1, bSize) : null;
        int phases = stages + 2 * stages * blocksPerStage;
        claimed = new AtomicIntegerArray(phases);
        finished = new AtomicIntegerArray(phases);
    }

    /** Runs the GEMM on every thread of {@code pool}; returns when C is complete. */
    void run(WorkerPool pool) {
        pool.parallelTasks(threads, 1, (task, begin, end) -> work());
    }

    private int packAPhase(int stage) {
        return stage;
    }

    private int packBPhase(int block) {
        return stages + block;
    }

    private int productPhase(int block) {
        return stages + stages * blocksPerStage + block;
    }

    /** What every thread runs: all phases in order, claiming units until each phase runs out. */
    private void work() {
        try {
            Gemm.Workspace ws = Gemm.workspace();
            for (int stage = 0; stage < stages; stage++) {
                int pc = stage / rowBlocks * kcStep, ic = stage % rowBlocks * mcStep;
                int kc = Math.min(kcStep, o.k() - pc), mc = Math.min(mcStep, o.m() - ic);
                int aPanels = ceilDiv(mc, MR);
                if (stage > 0) {
                    for (int j = 0; j < blocksPerStage; j++) {
                        int block = (stage - 1) * blocksPerStage + j;
                        await(productPhase(block), productUnits(stage - 1));
                    }
                }
                int aUnits = directA ? 0 : ceilDiv(aPanels, PACK_PANELS);
                for (int u; (u = claim(packAPhase(stage), aUnits)) >= 0; finish(packAPhase(stage))) {
                    int r0 = u * PACK_PANELS * MR, rows = Math.min(PACK_PANELS * MR, mc - r0);
                    Gemm.packA(o, ic + r0, rows, pc, kc, sharedA, r0 * kc, ws);
                }
                float betaEff = pc == 0 ? o.beta() : 1f; // later k slices add to what the first wrote
                for (int j = 0; j < blocksPerStage; j++) {
                    int block = stage * blocksPerStage + j, jc = j * ncStep, nc = Math.min(ncStep, o.n() - jc);
                    float[] pb = sharedB[block % 2];
                    if (block >= 2) await(productPhase(block - 2), productUnits((block - 2) / blocksPerStage));
                    int bUnits = ceilDiv(nc, NR);
                    for (int u; (u = claim(packBPhase(block), bUnits)) >= 0; finish(packBPhase(block))) {
                        int j0 = u * NR;
                        Gemm.packB(o, pc, kc, jc + j0, Math.min(NR, nc - j0), pb, j0 * kc, ws);
                    }
                    await(packAPhase(stage), aUnits);
                    await(packBPhase(block), bUnits);
                    int units = ceilDiv(aPanels, productPanels);
                    for (int u; (u = claim(productPhase(block), units)) >= 0; finish(productPhase(block))) {
                        int r0 = u * productPanels * MR, r1 = Math.min(mc, r0 + productPanels * MR);
                        Gemm.panels(o, ws, directA, sharedA, ic, r0, r1, pb, jc, nc, pc, kc, betaEff);
                    }
                }
            }
        } catch (Throwable t) {
            failure = t; // the other threads stop waiting and this one rethrows to the pool
            throw t;
        }
    }

    /** Units of multiplication per block in {@code stage}. */
    private int productUnits(int stage) {
        int ic = stage % rowBlocks * mcStep;
        return ceilDiv(ceilDiv(Math.min(mcStep, o.m() - ic), MR), productPanels);
    }

    /** The next unclaimed unit of {@code phase}, or −1 when all {@code units} are taken. */
    private int claim(int phase, int units) {
        if (claimed.get(phase) >= units) return -1;
        int u = claimed.getAndIncrement(phase);
        return u < units ? u : -1;
    }

    private void finish(int phase) {
        finished.incrementAndGet(phase);
    }

    /** Waits until {@code units} units of {@code phase} are finished. */
    private void await(int phase, int units) {
        for (int spins = 0; finished.get(phase) < units; spins++) {
            if (failure != null) throw new IllegalStateException("another GEMM thread failed", failure);
            if (spins < SPINS) Thread.onSpinWait();
            else Thread.yield();
        }
    }
}
