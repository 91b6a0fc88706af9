package dev.tandem.plan.serve;

import dev.tandem.plan.PlanInputException;

/**
 * How a model is served on a set of devices: dp replicas, each split tp-way (tensor parallel,
 * inside a node) and pp-way (pipeline stages). A request is served by one replica.
 */
public record ServingPlan(int dp, int tp, int pp) {
    public ServingPlan {
        if (dp < 1 || tp < 1 || pp < 1) throw new PlanInputException("serving plan needs dp, tp, pp >= 1, got " + dp + ", " + tp + ", " + pp);
    }

    public int devices() {
        return dp * tp * pp;
    }

    public String label() {
        return "dp=" + dp + " tp=" + tp + " pp=" + pp;
    }
}
