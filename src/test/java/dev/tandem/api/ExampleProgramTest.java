package dev.tandem.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example program in {@code examples/} is what a user of the Java API would write: it must use
 * the public package only, compile against Tandem's classes, and train and generate when run.
 */
class ExampleProgramTest {
    private static final Pattern IMPORT = Pattern.compile("^\\s*import\\s+(static\\s+)?([\\w.]+?)(\\.\\*)?\\s*;", Pattern.MULTILINE);

    @TempDir Path tmp;

    private static Path example() {
        Path p = Path.of("examples", "TrainTinyGpt.java");
        if (!Files.exists(p)) p = Path.of(System.getProperty("basedir", "."), "examples", "TrainTinyGpt.java");
        return p;
    }

    /** Every import from Tandem is from dev.tandem.api, and no other Tandem package is named in the code either. */
    @Test
    void importsOnlyThePublicApi() throws Exception {
        String source = Files.readString(example());
        List<String> imports = new ArrayList<>();
        Matcher m = IMPORT.matcher(source);
        while (m.find()) imports.add(m.group(2));
        assertThat(imports).as("imports of %s", example()).isNotEmpty().anyMatch(i -> i.startsWith("dev.tandem.api."));
        assertThat(imports.stream().filter(i -> i.startsWith("dev.tandem.") && !i.startsWith("dev.tandem.api.")).toList())
                .as("imports from Tandem outside dev.tandem.api").isEmpty();
        Matcher qualified = Pattern.compile("dev\\.tandem\\.(\\w+)").matcher(source);
        while (qualified.find()) assertThat(qualified.group(1)).as("package named in the code").isEqualTo("api");
    }

    /** Compiled against Tandem's classes, then run with a few steps: it trains, prints each step, loads the model and generates. */
    @Test
    void compilesAndRuns() throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        Path classes = tmp.resolve("classes");
        Files.createDirectories(classes);
        String classpath = Path.of(Training.class.getProtectionDomain().getCodeSource().getLocation().toURI()) + File.pathSeparator
                + System.getProperty("java.class.path");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            boolean ok = javac.getTask(null, files, diagnostics,
                    List.of("-d", classes.toString(), "-classpath", classpath, "--release", "25", "-proc:none", "-Xlint:all", "-Werror"),
                    null, files.getJavaFileObjects(example())).call();
            assertThat(ok).as("compiling %s: %s", example(), diagnostics.getDiagnostics()).isTrue();
        }
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass("TrainTinyGpt").getMethod("main", String[].class);
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[] {"3", tmp.resolve("runs").toString()});
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertThat(out.lines().filter(l -> l.startsWith("step ")).count()).as(out).isEqualTo(3);
        assertThat(out).contains("eval after step 3", "model written to", "generated: To be");
        assertThat(tmp.resolve("runs/tiny-gpt/model/model.safetensors")).exists();
        assertThat(tmp.resolve("runs/tiny-gpt/model/tokenizer.json")).exists();
    }
}
