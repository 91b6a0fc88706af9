package dev.tandem.spark;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What the Spark job needs to know of a Tandem run before it starts one: how many ranks, and where
 * the run's files and checkpoints go. Read from the run's resolved config as {@code tandem train
 * ... --print-config} prints it (TOML written by Tandem itself: one {@code key = value} per line
 * under {@code [section]} headers), so the Spark job and the ranks agree on defaults, the file and
 * the overrides without this module linking the core.
 *
 * @param ranks         islands·dp·cp·tp·pp, as the core's {@code MeshShape.worldSize()} counts them
 * @param runDir        {@code run.runs_dir/run.name}, absolute
 * @param checkpointDir {@code checkpoint.dir}, or {@code <runDir>/checkpoints}; absolute
 * @param checkpoints   whether the run saves checkpoints ({@code checkpoint.every} or {@code checkpoint.steps} set)
 */
record RunSettings(int ranks, Path runDir, Path checkpointDir, boolean checkpoints) {

    /** Reads {@code toml}; relative paths are taken against {@code workDir} (where the ranks would have taken them). */
    static RunSettings parse(String toml, Path workDir) {
        Map<String, String> v = flatten(toml);
        int ranks = intKey(v, "parallel.islands") * intKey(v, "parallel.dp") * intKey(v, "parallel.cp") * intKey(v, "parallel.tp")
                * intKey(v, "parallel.pp");
        Path runDir = workDir.resolve(stringKey(v, "run.runs_dir")).resolve(stringKey(v, "run.name")).normalize();
        String dir = stringKey(v, "checkpoint.dir");
        Path ckpt = dir.isEmpty() ? runDir.resolve("checkpoints") : workDir.resolve(dir).normalize();
        boolean saves = intKey(v, "checkpoint.every") > 0 || !stringKey(v, "checkpoint.steps").isEmpty();
        return new RunSettings(ranks, runDir, ckpt, saves);
    }

    /** {@code section.key → raw value} for every {@code key = value} line. */
    static Map<String, String> flatten(String toml) {
        Map<String, String> out = new HashMap<>();
        String section = "";
        for (String raw : toml.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (line.startsWith("[") && line.endsWith("]")) {
                section = line.substring(1, line.length() - 1).strip() + ".";
                continue;
            }
            int eq = line.indexOf('=');
            if (eq > 0) out.put(section + line.substring(0, eq).strip(), line.substring(eq + 1).strip());
        }
        return out;
    }

    private static String raw(Map<String, String> v, String key) {
        String s = v.get(key);
        if (s == null) {
            throw new TandemSparkException("the run's config has no " + key + " (is the Tandem installation older than this tandem-spark.jar?)");
        }
        return s;
    }

    private static int intKey(Map<String, String> v, String key) {
        try {
            return Integer.parseInt(raw(v, key));
        } catch (NumberFormatException e) {
            throw new TandemSparkException("the run's config has " + key + " = " + raw(v, key) + ", not an integer");
        }
    }

    /** A TOML basic string's content ({@code "..."} with {@code \\} and {@code \"} escapes). */
    private static String stringKey(Map<String, String> v, String key) {
        String s = raw(v, key);
        if (s.length() < 2 || !s.startsWith("\"") || !s.endsWith("\"")) {
            throw new TandemSparkException("the run's config has " + key + " = " + s + ", not a quoted string");
        }
        StringBuilder out = new StringBuilder();
        for (int i = 1; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() - 1) c = s.charAt(++i);
            out.append(c);
        }
        return out.toString();
    }
}
