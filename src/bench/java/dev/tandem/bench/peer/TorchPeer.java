package dev.tandem.bench.peer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;

/**
 * Main class of the PyTorch peer process that {@link PeerProcess} starts. It runs in its own JVM
 * so that libtorch gets a clean environment (no OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE) and its own
 * OpenMP threads, and so the parent can interleave Tandem and PyTorch rounds without the two
 * ever computing at the same time.
 *
 * <p>Protocol (one line each, on stdin/stdout): the peer prints
 * {@code ready <params> <OpenMP threads> <OpenBLAS threads> <version>}, the thread counts as the
 * two libraries report them; then {@code run K} makes it train K steps, printing
 * {@code step <loss> <forward s> <backward s> <optimizer s>} per step and {@code ok <busy threads>}
 * after the last (the threads that computed during those steps, counted by the OS); {@code quit}
 * ends it. Usage: {@code TorchPeer INTRA_OP_THREADS OPENBLAS_THREADS L H C V T B}.
 */
public final class TorchPeer {
    private TorchPeer() {}

    public static void main(String[] args) throws Exception {
        // The protocol owns stdout; anything libraries print goes to stderr.
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        torch.set_num_threads(Integer.parseInt(args[0]));
        TrainBenchCase c = TrainBenchCase.fromArgs("peer", args, 2);
        TorchGpt gpt = new TorchGpt(c, BenchBatch.random(c, TrainHyper.DATA_SEED));
        // libtorch's OpenBLAS is loaded now (JavaCPP loads it with System.load, so the loader's
        // lookup sees it): set its pool as asked and read back what it holds.
        callInt("openblas_set_num_threads", Integer.parseInt(args[1]));
        int blas = callInt("openblas_get_num_threads", -1);
        out.println("ready " + gpt.parameterCount() + " " + torch.get_num_threads() + " " + blas + " " + version());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("quit")) break;
            if (!line.startsWith("run ")) throw new IllegalArgumentException("peer: unknown command " + line);
            int steps = Integer.parseInt(line.substring(4).trim());
            BusyThreads busy = BusyThreads.start();
            for (int s = 0; s < steps; s++) {
                StepTiming t;
                // Frees this step's temporaries (their C++ references) when the step ends, as
                // Python's reference counting would, instead of waiting for the Java GC. The
                // release is counted in the backward phase, like Tandem's freeing of activations.
                long t0 = System.nanoTime();
                try (PointerScope scope = new PointerScope()) {
                    t = gpt.step();
                }
                double release = (System.nanoTime() - t0) / 1e9 - t.total();
                t = new StepTiming(t.loss(), t.forward(), t.backward() + release, t.optimizer());
                out.println("step " + t.toWire());
            }
            out.println("ok " + busy.count());
        }
    }

    /**
     * Calls an OpenBLAS function {@code int f(int)} or {@code int f(void)} (argument −1) of the
     * library libtorch loaded; −1 if it is not found.
     */
    private static int callInt(String symbol, int argument) {
        var linker = java.lang.foreign.Linker.nativeLinker();
        var address = java.lang.foreign.SymbolLookup.loaderLookup().find(symbol);
        if (address.isEmpty()) return -1;
        try {
            if (argument < 0) {
                var h = linker.downcallHandle(address.get(), java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT));
                return (int) h.invokeExact();
            }
            var h = linker.downcallHandle(address.get(), java.lang.foreign.FunctionDescriptor.ofVoid(java.lang.foreign.ValueLayout.JAVA_INT));
            h.invokeExact(argument);
            return argument;
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + symbol, t);
        }
    }

    /** libtorch's version, from its build configuration ("... TORCH_VERSION=2.10.0, ..."). */
    private static String version() {
        var m = java.util.regex.Pattern.compile("TORCH_VERSION=([^,\\s]+)").matcher(torch.show_config().getString());
        return m.find() ? m.group(1) : "unknown";
    }
}
