package dev.tandem.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One point of the search space: how a training step is split over the devices. Ranks are laid
 * out tensor-parallel fastest, then data-parallel, then pipeline (Megatron-LM's order), so a
 * tensor-parallel group always sits inside one node.
 *
 * @param tp tensor-parallel size
 * @param pp pipeline stages
 * @param dp data-parallel size
 * @param microBatch sequences per micro-batch
 * @param schedule pipeline schedule (v chunks per device when interleaved)
 * @param zero ZeRO stage over the data-parallel group
 * @param recompute activation recomputation
 * @param sequenceParallel split LayerNorm/dropout activations along the sequence across the tp group
 * @param offloadOptimizer keep optimizer states and the optimizer step in host memory (ZeRO-Offload)
 */
public record PlanCandidate(int tp, int pp, int dp, int microBatch, Schedule schedule, ZeroStage zero,
                            Recompute recompute, boolean sequenceParallel, boolean offloadOptimizer) {

    public PlanCandidate {
        if (tp < 1 || pp < 1 || dp < 1 || microBatch < 1) {
            throw new PlanInputException("plan: tp, pp, dp and micro-batch must be >= 1");
        }
    }

    public int devices() {
        return tp * pp * dp;
    }

    public int chunks() {
        return schedule.chunks();
    }

    /**
     * Layers on the busiest device. Without interleaving the layers need not divide evenly (as in
     * BLOOM's 70 layers on 12 stages): the busiest stage has ⌈layers/pp⌉ and sets the pace.
     */
    public int layersPerDevice(int layers) {
        return (layers + pp - 1) / pp;
    }

    /** Micro-batches per step for a global batch of {@code globalBatch} sequences. */
    public int microBatches(int globalBatch) {
        return globalBatch / (microBatch * dp);
    }

    public String label() {
        return "tp=" + tp + " pp=" + pp + " dp=" + dp + " mb=" + microBatch + " v=" + chunks()
                + " zero=" + zero.level() + " recompute=" + recompute.name().toLowerCase(Locale.ROOT)
                + " sp=" + (sequenceParallel ? "on" : "off") + " offload=" + (offloadOptimizer ? "on" : "off");
    }

    /**
     * Parses {@code tp=8,pp=64,mb=1,v=1,zero=0,recompute=full,sp=off,offload=off}; dp defaults to
     * devices/(tp·pp), the others to 1, 1F1B, ZeRO 0, no recompute, sp off, offload off.
     */
    public static PlanCandidate parse(String text, int devices) {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : text.split("[,\\s]+")) {
            if (part.isBlank()) continue;
            String[] p = part.split("=", 2);
            if (p.length != 2) throw new PlanInputException("plan '" + text + "': expected key=value, got '" + part + "'");
            kv.put(p[0].trim().toLowerCase(Locale.ROOT), p[1].trim().toLowerCase(Locale.ROOT));
        }
        int tp = intOf(kv, "tp", 1), pp = intOf(kv, "pp", 1);
        if (tp < 1 || pp < 1) throw new PlanInputException("plan: tp and pp must be >= 1");
        int dp = kv.containsKey("dp") ? intOf(kv, "dp", 1) : Math.max(1, devices / (tp * pp));
        int mb = intOf(kv, "mb", intOf(kv, "micro_batch", 1));
        int v = intOf(kv, "v", 1);
        ZeroStage zero = ZeroStage.of(intOf(kv, "zero", 0));
        Recompute rc;
        try {
            rc = Recompute.valueOf(kv.getOrDefault("recompute", "none").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new PlanInputException("plan: recompute must be none, selective or full, got " + kv.get("recompute"), e);
        }
        boolean sp = flagOf(kv, "sp"), offload = flagOf(kv, "offload");
        kv.keySet().removeAll(List.of("tp", "pp", "dp", "mb", "micro_batch", "v", "zero", "recompute", "sp", "offload"));
        if (!kv.isEmpty()) throw new PlanInputException("plan: unknown key(s) " + kv.keySet());
        return new PlanCandidate(tp, pp, dp, mb, Schedule.withChunks(v), zero, rc, sp, offload);
    }

    private static boolean flagOf(Map<String, String> kv, String key) {
        String v = kv.getOrDefault(key, "off");
        return switch (v) {
            case "on", "true", "1", "yes" -> true;
            case "off", "false", "0", "no" -> false;
            default -> throw new PlanInputException("plan: " + key + " must be on or off, got '" + v + "'");
        };
    }

    private static int intOf(Map<String, String> kv, String key, int dflt) {
        String v = kv.get(key);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new PlanInputException("plan: " + key + " must be an integer, got '" + v + "'", e);
        }
    }
}
