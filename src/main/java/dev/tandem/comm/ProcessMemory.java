package dev.tandem.comm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The single-copy path between processes on one host: the receiver copies the payload out of the
 * sender's address space with Linux's {@code process_vm_readv} (cross-memory attach: the kernel
 * copies page by page, once). It needs ptrace-level access to the peer, which a process has over
 * its siblings of the same user unless Yama's ptrace_scope or a seccomp filter forbids it, so
 * every reader first reads the peer's {@link #probeWord() probe word} at set-up and the path is
 * only used where that worked; elsewhere the ring carries the bytes (and the rank says so).
 *
 * <p>The JDK has no API for another process's memory, hence the foreign-function call.
 */
public final class ProcessMemory implements DirectPath {
    static final long PROBE_MAGIC = 0x31454252504d4454L; // "TDMPRBE1"
    private static final StructLayout IOVEC = MemoryLayout.structLayout(ValueLayout.ADDRESS.withName("base"), ValueLayout.JAVA_LONG.withName("len"));
    private static final VarHandle BASE = IOVEC.varHandle(MemoryLayout.PathElement.groupElement("base"));
    private static final VarHandle LEN = IOVEC.varHandle(MemoryLayout.PathElement.groupElement("len"));
    private static final StructLayout ERRNO_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = ERRNO_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final int ESRCH = 3;
    private static final Native NATIVE = Native.load();

    private final int pid;
    private final int peerRank;

    /** @param pid the process this path reads from; {@code peerRank} names it in errors */
    ProcessMemory(long pid, int peerRank) {
        this.pid = Math.toIntExact(pid);
        this.peerRank = peerRank;
    }

    /** Why this process cannot use the path at all, or null. */
    public static String unavailable() {
        return NATIVE.problem;
    }

    /**
     * Copies {@code src} to {@code dst} (both native, same size) through process_vm_readv from
     * this process itself: the kernel copy that reading a peer's memory in place costs, for
     * {@code tandem bench comm} to show beside memcpy.
     */
    public static void copyWithinThisProcess(MemorySegment src, MemorySegment dst) {
        new ProcessMemory(ProcessHandle.current().pid(), -1).read(src.address(), 0, dst.asSlice(0, src.byteSize()));
    }

    /**
     * The address of a word holding {@link #PROBE_MAGIC} in this process, for peers to test their
     * access. Offering it is what opens this process to its siblings' reads (see
     * {@link #allowSiblingsToRead}), so a process that never offers it, such as a benchmark that
     * only measures the copy, stays closed.
     */
    static synchronized long probeWord() {
        if (!offered && NATIVE.problem == null) allowSiblingsToRead();
        offered = true;
        return NATIVE.probe.address();
    }

    private static boolean offered;

    /**
     * Under Yama ptrace_scope 1 only ancestors may read a process; ranks are siblings, so each
     * one names any process as allowed (PR_SET_PTRACER, PR_SET_PTRACER_ANY). Without Yama the
     * call fails harmlessly; where it is forbidden the probe at set-up says so.
     */
    private static void allowSiblingsToRead() {
        try {
            Linker linker = Linker.nativeLinker();
            var prctl = linker.defaultLookup().find("prctl");
            if (prctl.isEmpty()) return;
            MethodHandle h = linker.downcallHandle(prctl.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            int ignored = (int) h.invokeExact(0x59616d61, -1L, 0L, 0L, 0L); // PR_SET_PTRACER, PR_SET_PTRACER_ANY
        } catch (Throwable t) {
            // the peers' probes will say that they cannot read this process
        }
    }

    /** Tries to read the peer's probe word: null if it worked, otherwise why not. */
    static String probe(long pid, long address) {
        if (NATIVE.problem != null) return NATIVE.problem;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment word = a.allocate(8, 8);
            new ProcessMemory(pid, -1).read(address, 0, word);
            long got = word.get(ValueLayout.JAVA_LONG, 0);
            return got == PROBE_MAGIC ? null : String.format("read %016x instead of the probe word", got);
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }

    @Override
    public long expose(MemorySegment payload) {
        return payload.isNative() ? payload.address() : 0; // a heap array may move: ring path
    }

    @Override
    public void read(long word, long offset, MemorySegment dst) {
        if (!dst.isNative()) throw new IllegalArgumentException("single-copy reads need native destination memory");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment local = a.allocate(IOVEC), remote = a.allocate(IOVEC), state = a.allocate(ERRNO_STATE);
            long done = 0, n = dst.byteSize();
            while (done < n) {
                BASE.set(local, 0L, dst.asSlice(done));
                LEN.set(local, 0L, n - done);
                BASE.set(remote, 0L, MemorySegment.ofAddress(word + offset + done));
                LEN.set(remote, 0L, n - done);
                long got = (long) NATIVE.readv.invokeExact(state, pid, local, 1L, remote, 1L, 0L);
                if (got <= 0) {
                    int errno = (int) ERRNO.get(state, 0L);
                    if (errno == ESRCH) throw new LinkClosedException(peerRank, "rank " + peerRank + " (process " + pid + ") has exited");
                    throw new CommException("process_vm_readv from process " + pid + " failed: " + (got == 0 ? "read nothing" : "errno " + errno)
                            + " (set TANDEM_DIRECT_MIN_BYTES=off to copy through the shared-memory rings instead)");
                }
                done += got;
            }
        } catch (CommException | LinkClosedException e) {
            throw e;
        } catch (Throwable t) {
            throw new CommException("process_vm_readv failed: " + t, t);
        }
    }

    /** The native entry points, looked up once; {@code problem} says why not where they are missing. */
    private record Native(MethodHandle readv, MemorySegment probe, String problem) {
        static Native load() {
            MemorySegment probe = Arena.global().allocate(8, 8);
            probe.set(ValueLayout.JAVA_LONG, 0, PROBE_MAGIC);
            if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
                return new Native(null, probe, "single-copy reads use process_vm_readv, which only Linux has");
            }
            try {
                Linker linker = Linker.nativeLinker();
                MethodHandle readv = linker.downcallHandle(linker.defaultLookup().find("process_vm_readv").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                        Linker.Option.captureCallState("errno"));
                return new Native(readv, probe, null);
            } catch (Throwable t) {
                return new Native(null, probe, "process_vm_readv is not available: " + t);
            }
        }
    }
}
