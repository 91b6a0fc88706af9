package dev.tandem.optim;

import dev.tandem.TandemException;
import dev.tandem.nn.Parameter;
import dev.tandem.plan.OptimizerSpec;
import dev.tandem.tensor.Kernels;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Builds an optimizer by its config name. Options and their defaults (from SPECS.md) are listed
 * per optimizer in {@link #OPTIONS}; docs/OPTIMIZERS.md explains how to choose among them.
 */
public final class Optimizers {
    private Optimizers() {}

    /** The names {@link #create} accepts, in the order docs and benchmarks list them (the plan's {@link OptimizerSpec} names). */
    public static final List<String> NAMES = OptimizerSpec.NAMES;

    /** Options each optimizer reads (besides the shared β, ε, weight decay and groups). */
    static final Map<String, Set<String>> OPTIONS = Map.of(
            "adamw", Set.of(),
            "adamw8bit", Set.of("stable_embedding"),
            "lion", Set.of("beta1", "beta2"),
            "lion8bit", Set.of("beta1", "beta2", "stable_embedding"),
            "muon", Set.of("momentum", "nesterov", "ns_steps", "lr_scale", "adam_lr_ratio"),
            "soap", Set.of("beta1", "beta2", "shampoo_beta", "precondition_every", "max_precond_dim"),
            "sgd", Set.of("momentum", "nesterov"));

    /**
     * The parameters optimizer {@code name} must update whole, which ZeRO must therefore not cut
     * between ranks (pass it to {@code DataParallel.apply}): Muon's hidden matrices, SOAP's
     * matrices; none for the element-wise optimizers.
     */
    public static Predicate<Parameter> updatedWhole(String name) {
        return switch (name) {
            case "muon" -> p -> Muon.isHidden(p.name(), p.shape());
            case "soap" -> p -> p.shape().length == 2;
            default -> p -> false;
        };
    }

    /** Whether optimizer {@code name} reads option {@code option}. */
    public static boolean hasOption(String name, String option) {
        return OPTIONS.getOrDefault(name, Set.of()).contains(option);
    }

    /** An optimizer called {@code name} over {@code slices}, computing with {@code kernels}. */
    public static Optimizer create(String name, OptimizerSettings s, List<ParamSlice> slices, Kernels kernels) {
        Set<String> known = OPTIONS.get(name);
        if (known == null) {
            throw new TandemException("unknown optimizer '" + name + "': use one of " + String.join(", ", NAMES));
        }
        s.requireKnown(name, known);
        ParamGroups g = s.groups();
        float wd = s.weightDecay();
        return switch (name) {
            case "adamw" -> new AdamW(s.adamw(), slices, g, kernels);
            case "adamw8bit" -> new AdamW8bit(s.adamw(), slices, g, s.flag("stable_embedding", false), kernels);
            case "lion" -> new Lion(lion(s), slices, g, kernels);
            case "lion8bit" -> new Lion8bit(lion(s), slices, g, s.flag("stable_embedding", false), kernels);
            case "muon" -> {
                Muon.Scale scale = switch (s.text("lr_scale", "spectral")) {
                    case "spectral" -> Muon.Scale.SPECTRAL;
                    case "matched" -> Muon.Scale.MATCHED;
                    default -> throw new TandemException("optimizer option 'lr_scale' must be spectral or matched, got '"
                            + s.text("lr_scale", "") + "'");
                };
                float ratio = s.number("adam_lr_ratio", scale == Muon.Scale.SPECTRAL ? 3e-4f / 0.02f : 1f);
                int ns = s.integer("ns_steps", 5);
                if (ns < 1) throw new TandemException("optimizer option 'ns_steps' must be >= 1, got " + ns);
                yield new Muon(new Muon.Settings(s.number("momentum", 0.95f), s.flag("nesterov", true), ns, scale, ratio, wd),
                        s.adamw(), slices, g, kernels);
            }
            case "soap" -> {
                int every = s.integer("precondition_every", 10), maxDim = s.integer("max_precond_dim", 10000);
                if (every < 1 || maxDim < 0) {
                    throw new TandemException("optimizer options 'precondition_every' must be >= 1 and 'max_precond_dim' >= 0");
                }
                yield new Soap(new Soap.Settings(beta(s, "beta1", 0.95f), beta(s, "beta2", 0.95f), s.eps(), wd,
                        s.number("shampoo_beta", -1f), every, maxDim), slices, g, kernels);
            }
            case "sgd" -> new Sgd(new Sgd.Settings(beta(s, "momentum", 0.9f), s.flag("nesterov", false), wd), slices, g, kernels);
            default -> throw new IllegalStateException(name);
        };
    }

    private static Lion.Settings lion(OptimizerSettings s) {
        return new Lion.Settings(beta(s, "beta1", 0.9f), beta(s, "beta2", 0.99f), s.weightDecay());
    }

    private static float beta(OptimizerSettings s, String key, float dflt) {
        float b = s.number(key, dflt);
        if (!(b >= 0 && b < 1)) throw new TandemException("optimizer option '" + key + "' must be in [0, 1), got " + b);
        return b;
    }
}
