package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Says in one line why one plan is slower than another: the plan settings that differ and the
 * step-time components that moved most, largest first.
 */
public final class Explanation {
    private Explanation() {}

    public static String compare(Prediction best, Prediction other) {
        double diff = other.stepSeconds() - best.stepSeconds();
        String verdict = Math.abs(diff) < 1e-9 * best.stepSeconds() ? "is as fast"
                : String.format(Locale.ROOT, "is %s%% %s", percent(100 * Math.abs(diff) / best.stepSeconds()), diff > 0 ? "slower" : "faster");
        return settingsDiff(best.plan(), other.plan()) + " " + verdict + componentsDiff(best.time(), other.time());
    }

    /** "(pp 64→32, micro_batches 16→8)": the settings of {@code other} that differ from {@code best}, by their plan keys. */
    public static String settingsDiff(Plan best, Plan other) {
        List<String> d = new ArrayList<>();
        ObjectNode a = withContextAxis(best), b = withContextAxis(other);
        a.properties().forEach(e -> {
            String x = text(e.getValue()), y = text(b.get(e.getKey()));
            if (!x.equals(y)) d.add(e.getKey() + " " + x + "→" + y);
        });
        return d.isEmpty() ? "(same settings)" : "(" + String.join(", ", d) + ")";
    }

    /** The JSON form with cp and hdp always present (the JSON form leaves them out without context parallelism), so two plans compare key by key. */
    private static ObjectNode withContextAxis(Plan p) {
        return p.toJson().put("cp", p.cp()).put("hdp", p.mesh().hdp());
    }

    private static String text(JsonNode v) {
        return v.isArray() ? v.toString() : v.asText();
    }

    private static String componentsDiff(TimeBreakdown a, TimeBreakdown b) {
        record Part(String name, double delta) {}
        List<Part> parts = new ArrayList<>(List.of(
                new Part("compute", b.compute() - a.compute()),
                new Part("tensor-parallel comm", b.tensorParallel() - a.tensorParallel()),
                new Part("pipeline p2p", b.pipelineP2p() - a.pipelineP2p()),
                new Part("data-parallel comm", b.dataParallel() - a.dataParallel()),
                new Part("bubble", b.bubble() - a.bubble()),
                new Part("optimizer", b.optimizer() - a.optimizer())));
        parts.sort(Comparator.comparingDouble((Part p) -> -Math.abs(p.delta())));
        double scale = Math.max(a.total(), 1e-12);
        List<String> shown = new ArrayList<>();
        for (Part p : parts) {
            if (shown.size() == 3 || Math.abs(p.delta()) < 0.001 * scale) break;
            shown.add(String.format(Locale.ROOT, "%s %s%s", p.name(), p.delta() > 0 ? "+" : "−", Seconds.format(Math.abs(p.delta()))));
        }
        return shown.isEmpty() ? "" : ": " + String.join(", ", shown);
    }

    private static String percent(double p) {
        return String.format(Locale.ROOT, p >= 0.1 ? "%.1f" : "%.2g", p);
    }
}
