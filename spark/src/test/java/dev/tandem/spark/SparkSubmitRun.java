package dev.tandem.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.apache.spark.launcher.JavaModuleOptions;

/**
 * Runs {@code spark-submit} as a process, the way the spark-submit script does: Spark's own main
 * class ({@code org.apache.spark.deploy.SparkSubmit}) on this JVM (Spark's Java) with the JVM
 * options Spark's launcher adds, Spark from this test's class path, and tandem-spark.jar (built
 * here from the module's classes) as the application jar. Spark runs in local mode on loopback
 * (SPARK_LOCAL_IP), so nothing listens beyond this host.
 */
final class SparkSubmitRun {
    /** The Tandem checkout the module's build lives in (the core's {@code tandem} launcher and build). */
    static final Path TANDEM_HOME = Path.of(System.getProperty("tandem.home", "..")).toAbsolutePath().normalize();

    private SparkSubmitRun() {}

    /** A started {@code spark-submit --master <master> ... tandem-spark.jar <appArgs>} in {@code dir}, its output in {@code log}. */
    static Process start(Path dir, String master, List<String> appArgs, Path log) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(JavaModuleOptions.defaultModuleOptions().split(" ")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.apache.spark.deploy.SparkSubmit",
                "--master", master, "--conf", "spark.tandem.home=" + TANDEM_HOME, "--conf", "spark.ui.enabled=false",
                "--class", TandemSparkJob.class.getName(), applicationJar(dir).toString()));
        cmd.addAll(appArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb.start();
    }

    /** {@code tandem-spark.jar} from the module's compiled classes (tests run before the package phase builds it). */
    static Path applicationJar(Path dir) throws IOException {
        Path jar = dir.resolve("tandem-spark.jar");
        if (Files.exists(jar)) return jar;
        Path classes = Path.of(TandemSparkJob.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString()));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
        return jar;
    }

    /** {@code tandem train} with {@code cfg} as {@code --key value} overrides. */
    static List<String> trainArgs(Map<String, String> cfg) {
        List<String> args = new ArrayList<>(List.of("train"));
        cfg.forEach((k, v) -> args.addAll(List.of("--" + k, v)));
        return args;
    }
}
