package dev.tandem.plan;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The link between islands as the runtime imposes it: what leaves a rank for another island is
 * paced to {@code bitsPerSecond} and delayed by {@code latencySeconds} per message, so a slow
 * network can be measured on one host. 0 means "as fast as the transport goes".
 *
 * @param bitsPerSecond  bandwidth of each rank's outgoing link to other islands; 0 = unthrottled
 * @param latencySeconds one-way delay added to each message; 0 = none
 */
public record IslandLink(double bitsPerSecond, double latencySeconds) {
    public static final IslandLink UNTHROTTLED = new IslandLink(0, 0);

    private static final Pattern RATE = Pattern.compile("([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*([kmgt]?)bit(?:/s)?");
    private static final Pattern TIME = Pattern.compile("([0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*(us|ms|s)");

    public IslandLink {
        if (!(bitsPerSecond >= 0) || Double.isInfinite(bitsPerSecond)) {
            throw new PlanInputException("link_bandwidth must be >= 0 (0 = unthrottled), got " + bitsPerSecond + " bit/s");
        }
        if (!(latencySeconds >= 0) || Double.isInfinite(latencySeconds)) {
            throw new PlanInputException("link_latency must be >= 0 (0 = none), got " + latencySeconds + " s");
        }
    }

    public boolean throttled() {
        return bitsPerSecond > 0 || latencySeconds > 0;
    }

    /** Bytes per second, or infinity when unthrottled. */
    public double bytesPerSecond() {
        return bitsPerSecond == 0 ? Double.POSITIVE_INFINITY : bitsPerSecond / 8;
    }

    /** Reads {@code 100Mbit}, {@code 1.5Gbit}, {@code 800kbit}, {@code 0} (unthrottled); bits per second. */
    public static double parseBandwidth(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.equals("0") || s.equals("unlimited")) return 0;
        Matcher m = RATE.matcher(s);
        if (!m.matches()) {
            throw new PlanInputException("link_bandwidth must be a rate such as 100Mbit, 1Gbit or 800kbit (bits per second), "
                    + "or 0 for unthrottled; got '" + v + "'");
        }
        double scale = switch (m.group(2)) {
            case "k" -> 1e3;
            case "m" -> 1e6;
            case "g" -> 1e9;
            case "t" -> 1e12;
            default -> 1;
        };
        return Double.parseDouble(m.group(1)) * scale;
    }

    /** Reads {@code 10ms}, {@code 0.2s}, {@code 500us}, {@code 0}; seconds. */
    public static double parseLatency(String v) {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.equals("0")) return 0;
        Matcher m = TIME.matcher(s);
        if (!m.matches()) throw new PlanInputException("link_latency must be a time such as 10ms, 0.2s or 500us, or 0; got '" + v + "'");
        double scale = switch (m.group(2)) {
            case "us" -> 1e-6;
            case "ms" -> 1e-3;
            default -> 1;
        };
        return Double.parseDouble(m.group(1)) * scale;
    }

    /** The label and config form of the bandwidth: {@code 100Mbit}, or {@code 0}. */
    public String bandwidthText() {
        if (bitsPerSecond == 0) return "0";
        String[] units = {"bit", "kbit", "Mbit", "Gbit"};
        double v = bitsPerSecond;
        int u = 0;
        while (u < units.length - 1 && v >= 1000 && Math.rint(v / 1000) * 1000 == v) {
            v /= 1000;
            u++;
        }
        return number(v) + units[u];
    }

    /** The label and config form of the latency: {@code 10ms}, or {@code 0}. */
    public String latencyText() {
        if (latencySeconds == 0) return "0";
        double ms = latencySeconds * 1e3;
        // Milliseconds unless that would lose digits a microsecond count keeps exactly.
        if (Math.rint(ms * 1e3) == ms * 1e3 && ms >= 1) return number(ms) + "ms";
        return number(latencySeconds * 1e6) + "us";
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
