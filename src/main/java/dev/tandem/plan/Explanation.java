package dev.tandem.plan;

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

    /** "(pp 64→32, v 1→2)": the settings of {@code other} that differ from {@code best}. */
    public static String settingsDiff(PlanCandidate best, PlanCandidate other) {
        List<String> d = new ArrayList<>();
        diff(d, "tp", best.tp(), other.tp());
        diff(d, "pp", best.pp(), other.pp());
        diff(d, "dp", best.dp(), other.dp());
        diff(d, "mb", best.microBatch(), other.microBatch());
        diff(d, "v", best.chunks(), other.chunks());
        diff(d, "zero", best.zero().level(), other.zero().level());
        if (best.recompute() != other.recompute()) d.add("recompute " + lower(best.recompute()) + "→" + lower(other.recompute()));
        if (best.sequenceParallel() != other.sequenceParallel()) d.add("sp " + onOff(best.sequenceParallel()) + "→" + onOff(other.sequenceParallel()));
        if (best.offloadOptimizer() != other.offloadOptimizer()) d.add("offload " + onOff(best.offloadOptimizer()) + "→" + onOff(other.offloadOptimizer()));
        return d.isEmpty() ? "(same settings)" : "(" + String.join(", ", d) + ")";
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

    private static void diff(List<String> out, String name, int a, int b) {
        if (a != b) out.add(name + " " + a + "→" + b);
    }

    private static String lower(Recompute r) {
        return r.name().toLowerCase(Locale.ROOT);
    }

    private static String onOff(boolean b) {
        return b ? "on" : "off";
    }
}
