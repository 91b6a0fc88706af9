package dev.tandem.plan;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A homogeneous cluster: {@code devices} copies of one device, {@code devicesPerNode} to a node. */
public record ClusterSpec(int devices, Hardware hardware) {
    private static final Pattern SPEC = Pattern.compile("\\s*(\\d+)\\s*[xX×*]\\s*(\\S+)\\s*");

    public ClusterSpec {
        if (devices < 1) throw new PlanInputException("cluster: need at least one device, got " + devices);
    }

    public int devicesPerNode() {
        return Math.min(devices, hardware.network().devicesPerNode());
    }

    /** Parses {@code 1024xA100-80G}; the device name goes through {@link HardwareCatalog#get}. */
    public static ClusterSpec parse(String spec) {
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw new PlanInputException("cluster spec '" + spec + "' should look like 1024xA100-80GB (count x device)");
        }
        int count;
        try {
            count = Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            throw new PlanInputException("cluster spec '" + spec + "': device count too large", e);
        }
        return new ClusterSpec(count, HardwareCatalog.get(m.group(2)));
    }

    public static ClusterSpec of(int devices, Hardware hardware) {
        return new ClusterSpec(devices, hardware);
    }

    @Override
    public String toString() {
        return devices + "x" + hardware.name();
    }
}
