package dev.tandem.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Large buffers on transparent huge pages (Linux): the memory is mapped with its start on a 2 MiB
 * boundary and marked {@code MADV_HUGEPAGE} before it is first touched, so the kernel backs it with
 * 2 MiB pages where it has them (where the system's setting is "madvise", the common default,
 * nothing else asks for them). One page table entry then covers 512 small pages. That matters most
 * to reading a peer process's memory in place ({@code process_vm_readv}), which pins the source
 * page by page: on a 2-core VM it copied 2 MiB in 85 µs from huge pages against 165–182 µs from
 * small ones (docs/notes/benchmarks-history.md, Round 6).
 *
 * <p>The JDK's allocator cannot do this (it takes memory from malloc and zeroes it, touching every
 * page first), hence the foreign calls. A fresh anonymous mapping is already zero. Where the
 * calls are missing (not Linux), or where they are turned off ({@link ComputeOptions#hugePages()},
 * {@code TANDEM_HUGE_PAGES=off}, set at start-up through {@link OffHeap#useHugePages}), buffers come from the JDK's
 * allocator as before; where the kernel ignores the advice they are small pages as before.
 */
final class HugePages {
    /** Buffers from this size on are mapped: one huge page. */
    static final long MIN_BYTES = 2L << 20;
    private static final long HUGE = 2L << 20, PAGE = 4096;
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;
    private static final Calls CALLS = Calls.load();
    private static volatile boolean enabled = true;

    private HugePages() {}

    /** Whether buffers are mapped here: the calls exist and huge pages are not turned off. */
    static boolean available() {
        return enabled && CALLS != null;
    }

    static void enable(boolean on) {
        enabled = on;
    }

    /**
     * {@code bytes} zeroed bytes that live until {@code arena} closes (which unmaps them), the start
     * on a 2 MiB boundary.
     *
     * @throws OutOfMemoryError if the kernel refuses the mapping
     */
    static MemorySegment map(long bytes, Arena arena) {
        long length = bytes + HUGE; // room to move the start to a 2 MiB boundary
        MemorySegment base;
        try {
            base = (MemorySegment) CALLS.mmap.invokeExact(MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed: " + t, t);
        }
        if (base.address() == -1L) {
            throw new OutOfMemoryError("could not map " + bytes + " bytes of off-heap memory (mmap refused: out of memory or address space)");
        }
        // PAGE: x86-64's; where pages are larger, unmapping the tail slack fails harmlessly and it stays mapped, untouched
        long start = (base.address() + HUGE - 1) & -HUGE, end = (start + bytes + PAGE - 1) & -PAGE;
        // give back the slack before and after at once, so it counts against no limit
        if (start > base.address()) unmap(base.address(), start - base.address());
        if (base.address() + length > end) unmap(end, base.address() + length - end);
        MemorySegment segment = MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(start, end - start));
        try {
            int ignored = (int) CALLS.madvise.invokeExact(segment, bytes, MADV_HUGEPAGE); // advice only: small pages otherwise
        } catch (Throwable t) {
            // advice only
        }
        return segment;
    }

    private static void unmap(long address, long length) {
        try {
            int ignored = (int) CALLS.munmap.invokeExact(MemorySegment.ofAddress(address), length);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed: " + t, t);
        }
    }

    private record Calls(MethodHandle mmap, MethodHandle munmap, MethodHandle madvise) {
        static Calls load() {
            if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) return null;
            try {
                Linker linker = Linker.nativeLinker();
                var lookup = linker.defaultLookup();
                return new Calls(
                        linker.downcallHandle(lookup.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(lookup.find("munmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG)),
                        linker.downcallHandle(lookup.find("madvise").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)));
            } catch (RuntimeException e) {
                return null;
            }
        }
    }
}
