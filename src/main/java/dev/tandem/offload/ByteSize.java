package dev.tandem.offload;

import dev.tandem.TandemException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts as people write them: {@code 2GiB}, {@code 512MiB}, {@code 1.5GB}, {@code 4096}. */
public final class ByteSize {
    private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([KMGT]i?B|B)?", Pattern.CASE_INSENSITIVE);

    private ByteSize() {}

    /** Parses {@code text}; {@code key} names the setting in the error. */
    public static long parse(String key, String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            throw new TandemException(key + " must be a size such as 2GiB, 512MiB or 1.5GB, got '" + text + "'");
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        double scale = switch (unit) {
            case "B" -> 1;
            case "KB" -> 1e3;
            case "MB" -> 1e6;
            case "GB" -> 1e9;
            case "TB" -> 1e12;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            default -> throw new IllegalStateException(unit);
        };
        return (long) Math.ceil(n * scale);
    }

    /** {@code 1.50 GiB}, {@code 12.0 MiB}, {@code 640 B}. */
    public static String format(double bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", bytes / (1L << 30));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", bytes / (1L << 20));
        if (bytes >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", bytes / (1L << 10));
        return String.format(Locale.ROOT, "%.0f B", bytes);
    }
}
