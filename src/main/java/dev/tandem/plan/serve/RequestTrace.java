package dev.tandem.plan.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.plan.PlanInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Reads a request trace: a JSONL file, one object per line with {@code arrival} (seconds),
 * {@code prompt} and {@code output} (tokens); {@code arrival_time}, {@code prompt_tokens} /
 * {@code input_tokens} and {@code output_tokens} are read too. Any other key is an error naming it.
 * Requests are returned in arrival order.
 */
public final class RequestTrace {
    private static final Set<String> KEYS = Set.of("arrival", "arrival_time", "prompt", "prompt_tokens", "input_tokens", "output",
            "output_tokens", "id");

    private RequestTrace() {}

    public static List<ServeRequest> load(Path path) {
        if (!Files.isRegularFile(path)) throw new PlanInputException("request trace " + path + " does not exist");
        List<String> lines;
        try {
            lines = Files.readAllLines(path);
        } catch (IOException e) {
            throw new PlanInputException("cannot read request trace " + path + ": " + e.getMessage(), e);
        }
        ObjectMapper json = new ObjectMapper();
        List<ServeRequest> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String where = "request trace " + path + " line " + (i + 1);
            JsonNode n;
            try {
                n = json.readTree(line);
            } catch (IOException e) {
                throw new PlanInputException(where + ": not JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
            }
            if (n == null || !n.isObject()) throw new PlanInputException(where + ": expected an object such as {\"arrival\": 0.5, \"prompt\": 512, \"output\": 128}");
            for (var e : n.properties()) {
                if (!KEYS.contains(e.getKey())) {
                    throw new PlanInputException(where + ": unknown key '" + e.getKey() + "'; the keys are arrival, prompt, output "
                            + "(or arrival_time, prompt_tokens / input_tokens, output_tokens) and id");
                }
            }
            try {
                out.add(new ServeRequest(number(n, where, "arrival", "arrival_time"), (int) number(n, where, "prompt", "prompt_tokens", "input_tokens"),
                        (int) number(n, where, "output", "output_tokens")));
            } catch (PlanInputException e) {
                throw new PlanInputException(where + ": " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) throw new PlanInputException("request trace " + path + " has no requests");
        out.sort(Comparator.comparingDouble(ServeRequest::arrival));
        return out;
    }

    private static double number(JsonNode n, String where, String... names) {
        for (String name : names) {
            JsonNode v = n.get(name);
            if (v != null) {
                if (!v.isNumber()) throw new PlanInputException(where + ": '" + name + "' must be a number, got " + v);
                return v.asDouble();
            }
        }
        throw new PlanInputException(where + ": missing '" + names[0] + "'");
    }
}
