package dev.tandem.cli;

/** Terminal detection for progress output. */
final class ProgressSupport {
    private ProgressSupport() {}

    /** True when standard output is an interactive terminal (live bars), false for files and pipes. */
    static boolean stdoutIsTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }
}
