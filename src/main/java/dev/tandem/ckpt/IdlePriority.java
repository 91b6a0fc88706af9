package dev.tandem.ckpt;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Lowers the calling thread to the lowest CPU priority (nice 19), so that background checkpoint
 * work runs in the gaps training leaves instead of pre-empting one of its compute threads. On a
 * machine whose cores training keeps busy the difference matters: a step waits for its slowest
 * thread, so a writer that takes 10 ms from one compute thread delays the whole step by 10 ms,
 * while the same 10 ms taken when a core is idle (between kernels, in collectives) costs nothing.
 *
 * <p>Linux keeps a nice value per thread, set with {@code setpriority(PRIO_PROCESS, tid, n)};
 * raising one's own nice value needs no privilege. The JDK has no API for it (Thread.setPriority
 * is ignored on Linux), hence this call through the foreign-function interface.
 */
final class IdlePriority {
    private static final int PRIO_PROCESS = 0;
    private static final int LOWEST = 19;

    private IdlePriority() {}

    /** Lowers the calling thread's priority; returns null on success, else why it could not. */
    static String lowerCurrentThread() {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return "per-thread priorities are only set on Linux";
        }
        try {
            Linker linker = Linker.nativeLinker();
            Optional<MethodHandle> gettid = linker.defaultLookup().find("gettid")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT)));
            Optional<MethodHandle> setpriority = linker.defaultLookup().find("setpriority")
                    .map(a -> linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)));
            if (gettid.isEmpty() || setpriority.isEmpty()) return "the C library has no gettid/setpriority";
            int tid = (int) gettid.get().invokeExact();
            int rc = (int) setpriority.get().invokeExact(PRIO_PROCESS, tid, LOWEST);
            return rc == 0 ? null : "setpriority failed";
        } catch (Throwable e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }
}
