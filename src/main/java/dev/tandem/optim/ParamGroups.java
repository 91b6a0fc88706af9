package dev.tandem.optim;

import dev.tandem.TandemException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Parameter groups by name pattern: per-group learning-rate multiplier and weight decay. The
 * first group whose regex is found in a parameter's name applies; a parameter in no group gets
 * lr multiplier 1 and the optimizer's weight decay if {@link ParamSlice#decays()} (matrices),
 * none otherwise. Written as {@code "<regex>: lr=<mult>, wd=<decay>; <regex>: ..."}, e.g.
 * {@code "wte|wpe: lr=0.5; bias$: wd=0"}.
 */
public record ParamGroups(List<Group> groups) {
    /** One group; {@code weightDecay} null means "the optimizer's default for this parameter". */
    public record Group(Pattern pattern, float lrScale, Float weightDecay) {}

    public static final ParamGroups NONE = new ParamGroups(List.of());

    public ParamGroups {
        groups = List.copyOf(groups);
    }

    /** Parses the config form; errors name the offending group. Blank means no groups. */
    public static ParamGroups parse(String spec) {
        if (spec == null || spec.isBlank()) return NONE;
        List<Group> out = new ArrayList<>();
        for (String part : spec.split(";")) {
            if (part.isBlank()) continue;
            int colon = part.lastIndexOf(':');
            if (colon < 0) throw bad(part, "expected '<regex>: lr=<x>, wd=<y>'");
            Pattern p;
            try {
                p = Pattern.compile(part.substring(0, colon).trim());
            } catch (PatternSyntaxException e) {
                throw bad(part, "bad regex: " + e.getDescription());
            }
            float lr = 1f;
            Float wd = null;
            for (String kv : part.substring(colon + 1).split(",")) {
                if (kv.isBlank()) continue;
                String[] x = kv.split("=", 2);
                if (x.length != 2) throw bad(part, "expected key=value, got '" + kv.trim() + "'");
                float v;
                try {
                    v = Float.parseFloat(x[1].trim());
                } catch (NumberFormatException e) {
                    throw bad(part, "'" + x[0].trim() + "' needs a number, got '" + x[1].trim() + "'");
                }
                switch (x[0].trim()) {
                    case "lr" -> lr = v;
                    case "wd" -> wd = v;
                    default -> throw bad(part, "unknown key '" + x[0].trim() + "' (use lr, wd)");
                }
            }
            if (!(lr >= 0) || (wd != null && !(wd >= 0))) throw bad(part, "lr and wd must be >= 0");
            out.add(new Group(p, lr, wd));
        }
        return new ParamGroups(out);
    }

    private static TandemException bad(String part, String why) {
        return new TandemException("optim.param_groups entry '" + part.trim() + "': " + why);
    }

    private Group find(String name) {
        for (Group g : groups) if (g.pattern().matcher(name).find()) return g;
        return null;
    }

    /** Learning-rate multiplier of the parameter named {@code name}. */
    public float lrScale(String name) {
        Group g = find(name);
        return g == null ? 1f : g.lrScale();
    }

    /** Weight decay for slice {@code s} given the optimizer's default {@code wd}. */
    public float weightDecay(ParamSlice s, float wd) {
        Group g = find(s.name());
        if (g != null && g.weightDecay() != null) return g.weightDecay();
        return s.decays() ? wd : 0f;
    }
}
