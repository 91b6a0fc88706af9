package dev.tandem.bench.peer;

/**
 * One training step of either engine: its loss and the seconds of its phases. Forward includes
 * zeroing the gradients; backward includes freeing the activations. Both engines compute
 * synchronously on the CPU, so wall-clock phases are honest.
 */
record StepTiming(double loss, double forward, double backward, double optimizer) {
    double total() {
        return forward + backward + optimizer;
    }

    String toWire() {
        return loss + " " + forward + " " + backward + " " + optimizer;
    }

    static StepTiming fromWire(String[] parts, int from) {
        return new StepTiming(Double.parseDouble(parts[from]), Double.parseDouble(parts[from + 1]),
                Double.parseDouble(parts[from + 2]), Double.parseDouble(parts[from + 3]));
    }
}
