package dev.tandem.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders a search (and optionally a user-given plan compared with the best) as text or JSON. */
public final class PlanReport {
    private PlanReport() {}

    public static String text(SearchResult r, int top, Prediction compared) {
        StringBuilder out = new StringBuilder();
        ModelSpec m = r.model();
        Hardware hw = r.cluster().hardware();
        out.append(String.format(Locale.ROOT, "Model   %s: %d layers, hidden %d, %d heads (%d for K and V), %s MLP %d wide, vocab %d, seq %d%s"
                        + "%s (%s parameters)%n",
                m.name(), m.layers(), m.hidden(), m.heads(), m.kvHeads(), m.mlp().configName(), m.ffnHidden(), m.vocab(), m.seq(),
                m.moe().sparse() ? String.format(Locale.ROOT, ", %d experts top-%d%s", m.moe().experts(), m.moe().topK(),
                        m.moe().capacity() == 0 ? " dropless" : " capacity " + m.moe().capacity()) : "",
                (m.tiedHead() ? "" : ", untied head") + (m.positions() == Positions.ROPE ? ", RoPE" : ""), count(m.params())));
        out.append(String.format(Locale.ROOT, "Cluster %s: %d per node, %.3g TFLOP/s peak (16-bit, or FP32 where that is all), %.0f GB, global batch %d sequences%n",
                r.cluster(), r.cluster().devicesPerNode(), hw.mixedPrecisionPeak() / 1e12, hw.memory().bytes() / 1e9, r.globalBatch()));
        out.append(String.format(Locale.ROOT, "Search  %d plans in %.2f s (precision %s, optimizer %s): %d fit, %d rejected%n",
                r.evaluated(), r.searchSeconds(), r.space().precision().configName(), r.space().optimizer().name(),
                r.evaluated() - r.rejected(), r.rejected()));
        r.rejectedByReason().forEach((reason, count) -> {
            Rejection ex = r.rejectedExample().get(reason);
            out.append(String.format(Locale.ROOT, "        %d %s, closest: %s: %s%n", count, reason, ex.plan().label(), ex.reason()));
        });
        if (r.ranked().isEmpty()) {
            out.append(r.noPlanMessage()).append('\n');
            return out.toString();
        }
        out.append('\n');
        out.append(String.format(Locale.ROOT, PLAN_COLUMNS + " %9s %8s %6s %8s %9s %9s %9s%n",
                "#", "dp", "tp", "pp", "zero", "micro", "schedule", "recompute", "sp", "offload", "attention",
                "step", "TFLOP/s", "MFU", "mem GB", "compute", "comm", "bubble"));
        List<Prediction> shown = r.ranked().subList(0, Math.min(top, r.ranked().size()));
        for (int i = 0; i < shown.size(); i++) out.append(row(String.valueOf(i + 1), shown.get(i)));
        if (compared != null) out.append(row("you", compared));

        Prediction best = r.best();
        out.append('\n').append("Best plan: ").append(best.plan().label()).append('\n');
        out.append("  in a config:      [parallel] plan = \"").append(best.plan().label()).append("\"\n");
        out.append("  memory per device ").append(memory(best.memory())).append('\n');
        out.append("  time per step     ").append(time(best)).append('\n');
        if (shown.size() > 1) {
            out.append("Why the next plans lose:\n");
            for (int i = 1; i < shown.size(); i++) {
                out.append("  #").append(i + 1).append(' ').append(Explanation.compare(best, shown.get(i))).append('\n');
            }
        }
        if (compared != null) {
            out.append("Your plan: ").append(compared.plan().label()).append('\n');
            if (!compared.feasible()) out.append("  does not run: ").append(compared.rejection()).append('\n');
            out.append("  memory per device ").append(memory(compared.memory())).append('\n');
            out.append("  time per step     ").append(time(compared)).append('\n');
            out.append("  vs best: ").append(Explanation.compare(best, compared)).append('\n');
        }
        return out.toString();
    }

    /** Columns of the plan fields a search varies (the label under the table gives every field). */
    private static final String PLAN_COLUMNS = "%-3s %5s %3s %3s %4s %5s %-13s %-9s %-5s %-9s %-12s";

    /** 12.85B, 124.4M, 79.3K: three significant digits or so, whatever the size. */
    static String count(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.1fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }

    private static String row(String rank, Prediction p) {
        TimeBreakdown t = p.time();
        Plan c = p.plan();
        String schedule = c.schedule().name() + (c.virtualStages() > 1 ? ":" + c.virtualStages() : "");
        return String.format(Locale.ROOT, PLAN_COLUMNS + " %9s %8.3g %5.1f%% %8.1f %9s %9s %9s%n", rank, c.dp(), c.tp(), c.pp(),
                c.zero().level(), c.microBatches(), schedule, c.recompute(), c.sequenceParallel(), c.offload().configName(),
                c.attention().configName() + (c.experts().spread() ? " " + c.experts().mode().configName() + ":" + c.ep() : ""),
                Seconds.format(p.stepSeconds()), p.tflopsPerDevice(), 100 * p.mfu(), p.memory().total() / 1e9,
                Seconds.format(t.compute() + t.optimizer()), Seconds.format(t.exposedCommunication()), Seconds.format(t.bubble()));
    }

    static String memory(MemoryBreakdown mem) {
        return String.format(Locale.ROOT,
                "(stage %d) params %.2f + grads %.2f + optimizer %.2f + activations %.2f + buffers %.2f + reserved %.2f = %.1f of %.0f GB%s",
                mem.stage(), mem.params() / 1e9, mem.grads() / 1e9, mem.optimizer() / 1e9, mem.activations() / 1e9,
                mem.buffers() / 1e9, mem.reserved() / 1e9, mem.total() / 1e9, mem.capacity() / 1e9,
                mem.hostOptimizer() > 0 ? String.format(Locale.ROOT, " (+%.2f GB optimizer in host memory)", mem.hostOptimizer() / 1e9) : "");
    }

    static String time(Prediction p) {
        TimeBreakdown t = p.time();
        return String.format(Locale.ROOT,
                "compute %s + exposed comm %s (tensor %s, pipeline %s, data %s, experts %s, islands %s) + bubble %s + optimizer %s = %s; "
                        + "%.3g TFLOP/s per device, MFU %.1f%%",
                Seconds.format(t.compute()), Seconds.format(t.exposedCommunication()), Seconds.format(t.tensorParallel()),
                Seconds.format(t.pipelineP2p()), Seconds.format(t.dataParallel()), Seconds.format(t.expertParallel()),
                Seconds.format(t.islands()), Seconds.format(t.bubble()),
                Seconds.format(t.optimizer()), Seconds.format(t.total()), p.tflopsPerDevice(), 100 * p.mfu());
    }

    public static String json(SearchResult r, int top, Prediction compared) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", r.model());
        root.put("cluster", Map.of("devices", r.cluster().devices(), "device", r.cluster().hardware().name(),
                "devicesPerNode", r.cluster().devicesPerNode()));
        root.put("globalBatch", r.globalBatch());
        root.put("searchSeconds", r.searchSeconds());
        root.put("evaluated", r.evaluated());
        Map<String, Object> rejected = new LinkedHashMap<>();
        r.rejectedByReason().forEach((reason, count) -> rejected.put(reason, Map.of("count", count,
                "example", r.rejectedExample().get(reason).plan().label(),
                "why", r.rejectedExample().get(reason).reason())));
        root.put("rejected", rejected);
        List<Object> plans = new ArrayList<>();
        List<Prediction> shown = r.ranked().subList(0, Math.min(top, r.ranked().size()));
        for (int i = 0; i < shown.size(); i++) {
            Map<String, Object> p = prediction(shown.get(i));
            if (i > 0) p.put("vsBest", Explanation.compare(shown.get(0), shown.get(i)));
            plans.add(p);
        }
        root.put("plans", plans);
        if (compared != null) {
            Map<String, Object> p = prediction(compared);
            if (!r.ranked().isEmpty()) p.put("vsBest", Explanation.compare(r.best(), compared));
            root.put("compared", p);
        }
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot render plan report as JSON", e);
        }
    }

    private static Map<String, Object> prediction(Prediction p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("plan", p.plan().toJson());
        out.put("label", p.plan().label());
        out.put("feasible", p.feasible());
        if (!p.feasible()) out.put("rejection", p.rejection());
        MemoryBreakdown m = p.memory();
        Map<String, Object> mem = new LinkedHashMap<>();
        mem.put("stage", m.stage());
        mem.put("params", m.params());
        mem.put("grads", m.grads());
        mem.put("optimizer", m.optimizer());
        mem.put("activations", m.activations());
        mem.put("buffers", m.buffers());
        mem.put("reserved", m.reserved());
        mem.put("total", m.total());
        mem.put("capacity", m.capacity());
        mem.put("hostOptimizer", m.hostOptimizer());
        out.put("memoryBytes", mem);
        TimeBreakdown t = p.time();
        Map<String, Object> time = new LinkedHashMap<>();
        time.put("compute", t.compute());
        time.put("tensorParallel", t.tensorParallel());
        time.put("pipelineP2p", t.pipelineP2p());
        time.put("dataParallel", t.dataParallel());
        time.put("expertParallel", t.expertParallel());
        time.put("islands", t.islands());
        time.put("exposedCommunication", t.exposedCommunication());
        time.put("bubble", t.bubble());
        time.put("optimizer", t.optimizer());
        time.put("total", t.total());
        out.put("timeSeconds", time);
        out.put("tflopsPerDevice", p.tflopsPerDevice());
        out.put("mfu", p.mfu());
        out.put("hfu", p.hfu());
        return out;
    }
}
