package dev.tandem.plan;

import java.util.Locale;

/**
 * What talks between islands ({@link MeshShape#islands()}) and how: the low-communication outer
 * algorithm, its period and constants, and the link it runs over.
 *
 * <ul>
 *   <li>{@code none}: one island, nothing between islands.
 *   <li>{@code sync}: the baseline, synchronous data parallelism across islands: every step the
 *       gradients are averaged over the island link before the optimizer step.
 *   <li>{@code diloco} (Douillard et al.): {@code steps} inner optimizer steps inside each island,
 *       then the pseudo-gradient (outer weights − inner weights) is averaged over all islands and
 *       applied by Nesterov SGD ({@code lr}, {@code momentum}); defaults 0.7 and 0.9 as in the paper.
 *   <li>{@code noloco} (Kolehmainen et al.): no collective over all islands; every {@code steps}
 *       steps each island averages with one peer island, chosen by a permutation seeded with the
 *       step, through a Nesterov update with the pull to the pair mean ({@code alpha}, {@code beta};
 *       defaults 0.7 and 0.5, docs/LOWCOMM.md).
 * </ul>
 *
 * @param algorithm none, sync, diloco or noloco
 * @param steps     inner steps between outer steps (DiLoCo and NoLoCo's H)
 * @param lr        DiLoCo's outer learning rate
 * @param momentum  DiLoCo's outer Nesterov momentum
 * @param alpha     NoLoCo's step size (on the pair's mean pseudo-gradient and the pull to the pair mean)
 * @param beta      NoLoCo's momentum
 * @param link      bandwidth and latency imposed on messages between islands
 */
public record OuterSpec(Algorithm algorithm, int steps, double lr, double momentum, double alpha, double beta, IslandLink link) {

    public enum Algorithm {
        NONE, SYNC, DILOCO, NOLOCO;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Algorithm named(String v) {
            try {
                return valueOf(v.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PlanInputException("outer must be none, sync, diloco or noloco, got '" + v + "'");
            }
        }
    }

    /** No outer algorithm: DiLoCo's and NoLoCo's default constants, H = 50, an unthrottled link. */
    public static final OuterSpec NONE = new OuterSpec(Algorithm.NONE, 50, 0.7, 0.9, 0.7, 0.5, IslandLink.UNTHROTTLED);

    public OuterSpec {
        java.util.Objects.requireNonNull(algorithm, "algorithm");
        java.util.Objects.requireNonNull(link, "link");
        if (steps < 1) throw new PlanInputException("outer_steps must be >= 1 (inner steps between outer steps), got " + steps);
        if (!(lr > 0) || Double.isInfinite(lr)) throw new PlanInputException("outer_lr must be > 0, got " + lr);
        if (!(momentum >= 0 && momentum < 1)) throw new PlanInputException("outer_momentum must be in [0, 1), got " + momentum);
        if (!(alpha > 0) || Double.isInfinite(alpha)) throw new PlanInputException("noloco_alpha must be > 0, got " + alpha);
        if (!(beta >= 0 && beta < 1)) throw new PlanInputException("noloco_beta must be in [0, 1), got " + beta);
    }

    public OuterSpec withAlgorithm(Algorithm a) {
        return new OuterSpec(a, steps, lr, momentum, alpha, beta, link);
    }

    public OuterSpec withSteps(int h) {
        return new OuterSpec(algorithm, h, lr, momentum, alpha, beta, link);
    }

    public OuterSpec withDiLoCo(double outerLr, double outerMomentum) {
        return new OuterSpec(algorithm, steps, outerLr, outerMomentum, alpha, beta, link);
    }

    public OuterSpec withNoLoCo(double a, double b) {
        return new OuterSpec(algorithm, steps, lr, momentum, a, b, link);
    }

    public OuterSpec withLink(IslandLink l) {
        return new OuterSpec(algorithm, steps, lr, momentum, alpha, beta, l);
    }

    /** Whether this algorithm keeps outer weights and momentum per parameter (8 bytes each, as optimizer state). */
    public boolean keepsOuterState() {
        return algorithm == Algorithm.DILOCO || algorithm == Algorithm.NOLOCO;
    }

    /** Whether anything but the defaults is set (the label leaves the outer keys out otherwise). */
    boolean isDefault() {
        return equals(NONE);
    }
}
