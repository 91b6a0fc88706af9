package dev.tandem.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.util.DocTrees;
import com.sun.source.util.JavacTask;
import com.sun.source.util.TreePath;
import com.sun.source.util.TreePathScanner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.lang.model.element.Modifier;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;

/** Every public type of dev.tandem.api, and every public method and constructor in it, has a Javadoc comment. */
class ApiJavadocTest {
    @Test
    void everyPublicTypeAndMethodIsDocumented() throws Exception {
        Path dir = Path.of("src/main/java/dev/tandem/api");
        if (!Files.isDirectory(dir)) dir = Path.of(System.getProperty("basedir", "."), "src/main/java/dev/tandem/api");
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertThat(sources).hasSizeGreaterThan(10);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> undocumented = new ArrayList<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(null, Locale.ROOT, StandardCharsets.UTF_8)) {
            JavacTask task = (JavacTask) javac.getTask(null, files, d -> { }, List.of("-proc:none"), null, files.getJavaFileObjectsFromPaths(sources));
            DocTrees docs = DocTrees.instance(task);
            for (CompilationUnitTree unit : task.parse()) {
                if (unit.getSourceFile().getName().endsWith("package-info.java")
                        && docs.getDocCommentTree(new TreePath(new TreePath(unit), unit.getPackage())) == null) {
                    undocumented.add("package dev.tandem.api");
                }
                new TreePathScanner<Void, Void>() {
                    @Override
                    public Void visitClass(ClassTree c, Void v) {
                        if (visible(getCurrentPath())) check(c.getSimpleName().toString());
                        return super.visitClass(c, v);
                    }

                    @Override
                    public Void visitMethod(MethodTree m, Void v) {
                        if (visible(getCurrentPath())) check(enclosing(getCurrentPath()) + "." + m.getName());
                        return null; // not into bodies: anonymous classes there are not API
                    }

                    private void check(String what) {
                        if (docs.getDocCommentTree(getCurrentPath()) == null) undocumented.add(unit.getSourceFile().getName() + ": " + what);
                    }
                }.scan(unit, null);
            }
        }
        assertThat(undocumented).as("public API without a Javadoc comment").isEmpty();
    }

    /** Public, or a member of an interface (implicitly public), and every enclosing class public too. */
    private static boolean visible(TreePath path) {
        for (TreePath p = path; p != null; p = p.getParentPath()) {
            Tree t = p.getLeaf();
            if (t instanceof ClassTree c) {
                if (!c.getModifiers().getFlags().contains(Modifier.PUBLIC) && !insideInterface(p)) return false;
            } else if (t instanceof MethodTree m) {
                if (p != path) return false; // a member of a local or anonymous class
                if (m.getModifiers().getFlags().contains(Modifier.PRIVATE)) return false;
                if (!m.getModifiers().getFlags().contains(Modifier.PUBLIC) && !insideInterface(p)) return false;
            }
        }
        return true;
    }

    private static boolean insideInterface(TreePath p) {
        TreePath parent = p.getParentPath();
        return parent != null && parent.getLeaf() instanceof ClassTree c && c.getKind() == Tree.Kind.INTERFACE;
    }

    private static String enclosing(TreePath p) {
        for (TreePath q = p.getParentPath(); q != null; q = q.getParentPath()) {
            if (q.getLeaf() instanceof ClassTree c) return c.getSimpleName().toString();
        }
        return "?";
    }
}
