package dev.tandem.launch;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line that starts another JVM like this one: the same java binary, JVM flags and
 * class path, running the Tandem CLI. Debugger agents are dropped (N children cannot share one
 * debug port).
 */
final class JavaCommand {
    static final String MAIN_CLASS = "dev.tandem.cli.Main";

    private JavaCommand() {}

    static List<String> forCli(List<String> cliArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp")) continue;
            cmd.add(a);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN_CLASS);
        cmd.addAll(cliArgs);
        return cmd;
    }
}
