package dev.tandem.plan;

import java.util.Locale;

/**
 * Pipeline schedule (Narayanan et al. 2021). GPipe runs every forward, then every backward, and
 * holds all m micro-batches' activations; 1F1B holds at most p and idles (p−1)/m of the time, as
 * GPipe does; interleaved 1F1B gives each device v model chunks and divides that bubble by v, at
 * the price of v times as many point-to-point transfers. With one pipeline stage the schedule has
 * nothing to order and is 1F1B by convention.
 */
public sealed interface Schedule {
    /** Model chunks per device (the virtual stages). */
    int chunks();

    /** The config name: {@code gpipe}, {@code 1f1b} or {@code interleaved} (chunks are a key of their own). */
    String name();

    record GPipe() implements Schedule {
        @Override
        public int chunks() {
            return 1;
        }

        @Override
        public String name() {
            return "gpipe";
        }
    }

    record OneFOneB() implements Schedule {
        @Override
        public int chunks() {
            return 1;
        }

        @Override
        public String name() {
            return "1f1b";
        }
    }

    record Interleaved(int chunks) implements Schedule {
        public Interleaved {
            if (chunks < 2) {
                throw new PlanInputException("the interleaved schedule needs virtual_stages >= 2, got " + chunks
                        + " (with one chunk per device use schedule = 1f1b)");
            }
        }

        @Override
        public String name() {
            return "interleaved";
        }
    }

    /** 1F1B for one chunk per device, interleaved 1F1B for more: what the planner searches. */
    static Schedule withChunks(int v) {
        return v <= 1 ? new OneFOneB() : new Interleaved(v);
    }

    /**
     * The schedule a config names, with {@code virtualStages} chunks per device; only the
     * interleaved schedule takes more than one.
     */
    static Schedule named(String name, int virtualStages) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        if (!n.equals("interleaved") && virtualStages != 1) {
            throw new PlanInputException("virtual_stages = " + virtualStages + " needs schedule = interleaved, not " + n);
        }
        return switch (n) {
            case "gpipe" -> new GPipe();
            case "1f1b" -> new OneFOneB();
            case "interleaved" -> new Interleaved(virtualStages);
            default -> throw new PlanInputException("schedule must be gpipe, 1f1b or interleaved, got '" + name + "'");
        };
    }
}
