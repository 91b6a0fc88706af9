package dev.tandem.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The plan's keys, read and written: the label ({@code key=value} pairs separated by spaces), the
 * JSON form and a config's {@code [parallel]} table share them, so one reader serves all three.
 */
final class PlanFields {
    private PlanFields() {}

    /** Every key, in the order the label and the JSON form list them. */
    static final List<String> KEYS = List.of("dp", "tp", "pp", "zero", "micro_batches", "schedule", "virtual_stages", "stage_layers",
            "recompute", "sequence_parallel", "offload", "precision", "optimizer", "attention", "ep", "moe", "cp", "hdp", "islands", "outer", "outer_steps",
            "outer_lr", "outer_momentum", "noloco_alpha", "noloco_beta", "link_bandwidth", "link_latency");

    /** Keys of low-communication training, which a label leaves out while they all hold their defaults (one island). */
    private static final List<String> OUTER_KEYS = KEYS.subList(KEYS.indexOf("islands"), KEYS.size());

    /** Keys of earlier label forms and what replaced them. */
    private static final Map<String, String> RENAMED = Map.of(
            "mb", "micro_batches, which counts micro-batches per step on each data-parallel replica (mb counted sequences "
                    + "per micro-batch: micro_batches = batch_size / (dp·mb))",
            "micro_batch", "micro_batches, which counts micro-batches per step on each data-parallel replica (micro_batches = "
                    + "batch_size / (dp·micro_batch))",
            "v", "schedule=interleaved virtual_stages=V (v=1 is schedule=1f1b)",
            "sp", "sequence_parallel=true or sequence_parallel=false",
            "pp_schedule", "schedule",
            "pp_layers", "stage_layers",
            "nproc", "dp (the number of ranks is dp·tp·pp)");

    static String label(Plan p) {
        List<String> parts = new ArrayList<>();
        values(p).forEach((k, v) -> {
            if (k.equals("virtual_stages") && p.virtualStages() == 1) return;
            if (k.equals("stage_layers") && p.stageLayers().isEmpty()) return;
            if (OUTER_KEYS.contains(k) && p.islands() == 1 && p.outer().isDefault()) return;
            if ((k.equals("ep") || k.equals("moe")) && !p.experts().spread()) return;
            if (k.equals("attention") && p.attention() == AttentionKernel.MATERIALIZED) return;
            if ((k.equals("cp") || k.equals("hdp")) && !p.mesh().splitsSequences()) return;
            parts.add(k + "=" + v);
        });
        return String.join(" ", parts);
    }

    static ObjectNode json(Plan p) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("dp", p.dp()).put("tp", p.tp()).put("pp", p.pp()).put("zero", p.zero().level()).put("micro_batches", p.microBatches())
                .put("schedule", p.schedule().name()).put("virtual_stages", p.virtualStages());
        ArrayNode stages = n.putArray("stage_layers");
        p.stageLayers().forEach(stages::add);
        n.put("recompute", p.recompute().toString()).put("sequence_parallel", p.sequenceParallel())
                .put("offload", p.offload().configName()).put("precision", p.precision().configName())
                .put("optimizer", p.optimizer().name());
        // Materialized attention, the kind the plan had before it had this key, is left out so earlier plans read as before.
        if (p.attention() != AttentionKernel.MATERIALIZED) n.put("attention", p.attention().configName());
        // Only plans that spread experts name the expert axis, so dense plans read as before.
        if (p.experts().spread()) n.put("ep", p.ep()).put("moe", p.experts().mode().configName());
        // Likewise only plans that split sequences name the context axis.
        if (p.mesh().splitsSequences()) n.put("cp", p.cp()).put("hdp", p.mesh().hdp());
        OuterSpec o = p.outer();
        n.put("islands", p.islands()).put("outer", o.algorithm().configName()).put("outer_steps", o.steps()).put("outer_lr", o.lr())
                .put("outer_momentum", o.momentum()).put("noloco_alpha", o.alpha()).put("noloco_beta", o.beta())
                .put("link_bandwidth", o.link().bandwidthText()).put("link_latency", o.link().latencyText());
        return n;
    }

    /** Every key with its value, the ones {@link #json} leaves out at their defaults included: for comparing two plans. */
    static ObjectNode fullJson(Plan p) {
        ObjectNode n = json(p);
        n.put("attention", p.attention().configName()).put("ep", p.ep()).put("moe", p.experts().mode().configName());
        n.put("cp", p.cp()).put("hdp", p.mesh().hdp());
        return n;
    }

    /** Each key's value as the label writes it. */
    private static Map<String, String> values(Plan p) {
        Map<String, String> out = new LinkedHashMap<>();
        json(p).properties().forEach(e -> out.put(e.getKey(), text(e.getValue())));
        return out;
    }

    private static String text(JsonNode v) {
        if (v.isArray()) {
            List<String> items = new ArrayList<>();
            v.forEach(x -> items.add(x.asText()));
            return String.join(",", items);
        }
        return v.asText();
    }

    static Plan parseLabel(String label, Plan base) {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : label.strip().split("\\s+")) {
            if (part.isEmpty()) continue;
            String[] x = part.split("=", 2);
            if (x.length != 2 || x[0].isEmpty()) {
                throw new PlanInputException("plan label '" + label + "': expected key=value pairs separated by spaces, got '" + part + "'");
            }
            if (x[1].contains("=")) {
                throw new PlanInputException("plan label '" + label + "': '" + part + "' holds two settings; separate key=value pairs with spaces");
            }
            if (kv.put(x[0].strip().toLowerCase(java.util.Locale.ROOT), x[1].strip()) != null) {
                throw new PlanInputException("plan label '" + label + "' sets " + x[0] + " twice");
            }
        }
        return parse(kv, base, "plan label '" + label + "'");
    }

    static Plan parseJson(ObjectNode json, Plan base) {
        Map<String, String> kv = new LinkedHashMap<>();
        json.properties().forEach(e -> kv.put(e.getKey(), text(e.getValue())));
        return parse(kv, base, "plan");
    }

    /** The one reader: each key given replaces {@code base}'s value (see {@link Plan#parse}). */
    private static Plan parse(Map<String, String> kv, Plan base, String where) {
        for (String k : kv.keySet()) {
            if (KEYS.contains(k)) continue;
            String renamed = RENAMED.get(k);
            if (renamed != null) throw new PlanInputException(where + ": key '" + k + "' is now " + renamed);
            throw new PlanInputException(where + ": unknown key '" + k + "'; the keys are " + String.join(", ", KEYS));
        }
        int dp = integer(kv, "dp", base.dp()), tp = integer(kv, "tp", base.tp()), pp = integer(kv, "pp", base.pp());
        ZeroStage zero = kv.containsKey("zero") ? ZeroStage.of(integer(kv, "zero", 0)) : base.zero();
        int micro = integer(kv, "micro_batches", base.microBatches());
        Schedule schedule;
        if (kv.containsKey("schedule")) {
            boolean interleaved = kv.get("schedule").strip().equalsIgnoreCase("interleaved");
            int dflt = interleaved ? base.virtualStages() : 1;
            schedule = Schedule.named(kv.get("schedule"), integer(kv, "virtual_stages", dflt));
        } else {
            schedule = kv.containsKey("virtual_stages") ? Schedule.named(base.schedule().name(), integer(kv, "virtual_stages", 1))
                    : base.schedule();
        }
        List<Integer> stages = kv.containsKey("stage_layers") ? integers(kv.get("stage_layers")) : List.of();
        RecomputePolicy recompute = kv.containsKey("recompute") ? RecomputePolicy.parse(kv.get("recompute")) : base.recompute();
        boolean sp = kv.containsKey("sequence_parallel") ? bool("sequence_parallel", kv.get("sequence_parallel")) : base.sequenceParallel();
        Offload offload = kv.containsKey("offload") ? offload(kv.get("offload")) : base.offload();
        TrainingPrecision precision = kv.containsKey("precision") ? TrainingPrecision.named(kv.get("precision")) : base.precision();
        OptimizerSpec optimizer = kv.containsKey("optimizer") ? OptimizerSpec.named(kv.get("optimizer")) : base.optimizer();
        ExpertLayout experts = new ExpertLayout(integer(kv, "ep", base.ep()),
                kv.containsKey("moe") ? ExpertLayout.Mode.named(kv.get("moe")) : base.experts().mode());
        AttentionKernel attention = kv.containsKey("attention") ? AttentionKernel.named(kv.get("attention")) : base.attention();
        boolean hdp = kv.containsKey("hdp") ? bool("hdp", kv.get("hdp")) : base.mesh().hdp();
        MeshShape mesh = new MeshShape(dp, tp, pp, integer(kv, "islands", base.islands()), integer(kv, "cp", base.cp()), hdp);
        return new Plan(mesh, zero, micro, schedule, stages, recompute, sp, offload, precision, optimizer, outer(kv, base.outer()), experts,
                attention);
    }

    private static OuterSpec outer(Map<String, String> kv, OuterSpec base) {
        OuterSpec.Algorithm algorithm = kv.containsKey("outer") ? OuterSpec.Algorithm.named(kv.get("outer")) : base.algorithm();
        IslandLink link = new IslandLink(
                kv.containsKey("link_bandwidth") ? IslandLink.parseBandwidth(kv.get("link_bandwidth")) : base.link().bitsPerSecond(),
                kv.containsKey("link_latency") ? IslandLink.parseLatency(kv.get("link_latency")) : base.link().latencySeconds());
        return new OuterSpec(algorithm, integer(kv, "outer_steps", base.steps()), number(kv, "outer_lr", base.lr()),
                number(kv, "outer_momentum", base.momentum()), number(kv, "noloco_alpha", base.alpha()),
                number(kv, "noloco_beta", base.beta()), link);
    }

    private static double number(Map<String, String> kv, String key, double dflt) {
        String v = kv.get(key);
        if (v == null) return dflt;
        try {
            return Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new PlanInputException(key + " must be a number, got '" + v + "'", e);
        }
    }

    private static Offload offload(String v) {
        return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "on" -> throw new PlanInputException("offload=on is now offload=optimizer");
            case "off" -> throw new PlanInputException("offload=off is now offload=none");
            default -> Offload.named(v);
        };
    }

    private static int integer(Map<String, String> kv, String key, int dflt) {
        String v = kv.get(key);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new PlanInputException(key + " must be an integer, got '" + v + "'", e);
        }
    }

    private static List<Integer> integers(String v) {
        if (v.isBlank()) return List.of();
        try {
            return java.util.Arrays.stream(v.split(",")).map(s -> Integer.parseInt(s.strip())).collect(Collectors.toList());
        } catch (NumberFormatException e) {
            throw new PlanInputException("stage_layers must be layer counts per pipeline stage separated by commas (e.g. 3,1), got '" + v + "'", e);
        }
    }

    private static boolean bool(String key, String v) {
        return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new PlanInputException(key + " must be true or false, got '" + v + "'");
        };
    }
}
