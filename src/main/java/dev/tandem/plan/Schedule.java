package dev.tandem.plan;

/**
 * Pipeline schedule. 1F1B keeps at most p micro-batches in flight and idles (p−1)/m of the time;
 * interleaved 1F1B gives each device v model chunks and divides that bubble by v, at the price of
 * v times as many point-to-point transfers (Narayanan et al. 2021).
 */
public sealed interface Schedule {
    /** Model chunks per device. */
    int chunks();

    String label();

    record OneFOneB() implements Schedule {
        @Override
        public int chunks() {
            return 1;
        }

        @Override
        public String label() {
            return "1f1b";
        }
    }

    record Interleaved(int chunks) implements Schedule {
        public Interleaved {
            if (chunks < 2) throw new PlanInputException("interleaved schedule needs v >= 2, got " + chunks);
        }

        @Override
        public String label() {
            return "interleaved(v=" + chunks + ")";
        }
    }

    static Schedule withChunks(int v) {
        return v <= 1 ? new OneFOneB() : new Interleaved(v);
    }
}
