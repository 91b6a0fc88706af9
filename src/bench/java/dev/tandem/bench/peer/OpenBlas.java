package dev.tandem.bench.peer;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * OpenBLAS as the GEMM peer: the library bundled in {@code org.bytedeco:openblas} (linux-x86_64
 * natives), called through {@code cblas_sgemm}. Its thread count is set through the OpenBLAS
 * API; its configuration string and the kernel it picked for this CPU are read with FFM
 * (the JavaCPP bindings do not expose {@code openblas_get_config}).
 */
public final class OpenBlas {
    private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
    private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
    private static final int TRANS = openblas_nolapack.CblasTrans;

    private OpenBlas() {}

    /** Loads the native library (once) and sets its thread count. */
    public static void init(int threads) {
        Loader.load(openblas_nolapack.class);
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(threads);
    }

    public static int threads() {
        return org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads();
    }

    /** {@code openblas_get_config()}, e.g. "OpenBLAS 0.3.30 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64". */
    public static String config() {
        return callString("openblas_get_config").orElse("(openblas_get_config not found)");
    }

    /** {@code openblas_get_corename()}: the CPU kernel set OpenBLAS chose at load time. */
    public static String coreName() {
        return callString("openblas_get_corename").orElse("(openblas_get_corename not found)");
    }

    private static Optional<String> callString(String symbol) {
        Linker linker = Linker.nativeLinker();
        Optional<MemorySegment> address = SymbolLookup.loaderLookup().find(symbol).or(() -> linker.defaultLookup().find(symbol));
        return address.map(a -> {
            MethodHandle h = linker.downcallHandle(a, FunctionDescriptor.of(ValueLayout.ADDRESS));
            try {
                MemorySegment s = (MemorySegment) h.invokeExact();
                return s.reinterpret(4096).getString(0);
            } catch (Throwable t) {
                throw new IllegalStateException("calling " + symbol, t);
            }
        });
    }

    /** Row-major {@code C = alpha·op(A)·op(B) + beta·C}; pointers are positioned at the operands. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             FloatPointer a, int lda, FloatPointer b, int ldb, float beta, FloatPointer c, int ldc) {
        openblas_nolapack.cblas_sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
