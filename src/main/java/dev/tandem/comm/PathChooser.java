package dev.tandem.comm;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Chooses, for each collective of a group whose ranks share a host, how its large payloads travel:
 * through the shared-memory rings (the sender copies in, the receiver copies out) or read in place
 * by the receiver ({@link DirectPath}: one copy). Neither is faster everywhere. On the 2-core VM
 * of docs/BENCHMARKS.md the rings won by about a quarter while the two vCPUs shared a cache and
 * lost four times over while they did not, and which of the two held changed by itself, between
 * runs and within them (Round 5 and Round 6).
 *
 * <p>So the group measures both, per operation kind and power-of-two size, in windows of a few
 * operations: ring, then in place, then ring again ({@link #PATTERN}), so a drift in speed weighs
 * on both alike. Each way runs several operations in a row and the first after a switch is not
 * counted: a way's first operation after the other finds the caches as the other left them, and
 * alternating every operation made the rings look faster than they are in a long run. Whole
 * operations are timed, not single transfers: a receiver's clock sees only its own copies, while
 * an operation ends only when this rank's payloads have been taken too.
 *
 * <p>The group's rank 0 decides, by the lower median (the other way must be 5 % faster to be
 * taken); the other ranks take the way their peers'
 * messages came by in the key's last operation outside a window (every message says which way
 * it came), so all ranks use one way a message after rank 0 chose it. Where ranks chose on their
 * own, noise made them choose differently, and a mixed exchange was slower than either way.
 *
 * <p>Windows start at a key's first operation and then at its first operation in a new
 * {@link #PERIOD_NANOS} period of the host's monotonic clock, which every rank on the host reads
 * alike, so all ranks run the same window. Two bounds keep trying the slower way cheap: at least
 * {@link #MIN_GAP} operations between windows, and, after a window that took t, at least
 * {@link #COST_RATIO}·t before the next (rounded up to a power of two of periods, so that ranks
 * whose clocks saw slightly different t still agree): windows then take at most about 5 % of the
 * time. A change of speed is noticed within a period where windows are cheap, within seconds
 * where they are not.
 */
final class PathChooser {
    /** How an operation's payloads may travel. */
    enum Paths {
        /** The links' size threshold decides for payloads the peer copies; reduced ones go by the ring. */
        FIXED,
        /** Every payload through the ring. */
        RING,
        /** Payloads from the links' threshold on, copied or reduced, are read in place. */
        IN_PLACE
    }

    /** The links' threshold where the group chooses: smaller payloads always go by the ring. */
    static final long MIN_PAYLOAD_BYTES = 64 * 1024;
    /** A window: 'r' and 'd' are timed operations by the ring and in place, 'R' and 'D' untimed ones. */
    static final String PATTERN = "RrrDddddRrr";
    /** The window of operations so large that one of them is long enough to time well. */
    static final String LARGE_PATTERN = "RrDddRr";
    private static final long LARGE_OP_BYTES = 32L << 20;
    static final long MIN_GAP = 64;
    static final long PERIOD_NANOS = 100_000_000;
    /** The wait after a window, in multiples of its duration; and the most periods it may come to. */
    static final long COST_RATIO = 20, MAX_WAIT_PERIODS = 1024;
    /** The other way must be this much faster to be taken: where both are about as fast, switching back and forth only costs. */
    static final double SWITCH_MARGIN = 1.05;

    /** TANDEM_LOG_PATHS=1: the deciding rank prints each first choice and each change, with the medians behind it. */
    private static final boolean LOG = !System.getenv().getOrDefault("TANDEM_LOG_PATHS", "").isBlank();

    private final String group;
    private final boolean adaptive;
    private final boolean decides;
    private final int ranks;
    private final Map<Long, Key> keys = new HashMap<>();

    /**
     * @param adaptive false: every operation gets {@link Paths#FIXED}
     * @param decides  whether this rank chooses (the group's rank 0) or follows its peers
     * @param ranks    the group's size: an operation of b bytes sends payloads of about b / ranks
     */
    PathChooser(String group, boolean adaptive, boolean decides, int ranks) {
        this.group = group;
        this.adaptive = adaptive;
        this.decides = decides;
        this.ranks = ranks;
    }

    /** The ways for the next operation, which starts at {@code nanoTime}; call {@link Choice#finished} when it is done. */
    synchronized Choice choose(OpKind kind, long bytes, long nanoTime) {
        if (!adaptive) return new Choice(null, Paths.FIXED, -1);
        if (bytes / ranks < MIN_PAYLOAD_BYTES) return new Choice(null, Paths.RING, -1); // no payload large enough to choose for
        int bucket = 63 - Long.numberOfLeadingZeros(bytes);
        Key key = keys.computeIfAbsent((long) kind.ordinal() << 8 | bucket, k -> new Key(kind.label() + " of " + bytes + " bytes", bytes >= LARGE_OP_BYTES ? LARGE_PATTERN : PATTERN));
        return key.next(nanoTime);
    }

    /** The ways of a send or receive: point-to-point messages have no partner operation to time, so they keep the ring. */
    Paths pointToPoint() {
        return adaptive ? Paths.RING : Paths.FIXED;
    }

    /** For reports: {how many (kind, size) keys now read in place, how many keys there are}. */
    synchronized int[] inPlaceKeys() {
        int inPlace = 0;
        for (Key k : keys.values()) if (k.inPlace) inPlace++;
        return new int[] {inPlace, keys.size()};
    }

    /** One operation's ways, and what it reports back when it is done. */
    final class Choice {
        private final Key key;
        final Paths paths;
        private final int slot; // its place in a window, or -1

        private Choice(Key key, Paths paths, int slot) {
            this.key = key;
            this.paths = paths;
            this.slot = slot;
        }

        /**
         * @param nanos        how long the operation took
         * @param peersInPlace whether the large payloads this rank received were read in place,
         *                     or null if it received none
         */
        void finished(long nanos, Boolean peersInPlace) {
            if (key == null) return;
            synchronized (PathChooser.this) {
                if (slot >= 0) key.timed(slot, nanos);
                else if (!decides && peersInPlace != null) key.inPlace = peersInPlace;
            }
        }
    }

    /** The state of one (operation kind, size) key. */
    private final class Key {
        private final String label;
        private final String pattern;
        private final long[] times;
        private long count; // operations of this key so far: the same on every rank
        private long windowStart = Long.MIN_VALUE / 2; // the count at which the last window started
        private long windowPeriod; // the clock period in which it started
        private long waitPeriods = 1; // periods from the start of the last window to the next one
        private boolean inPlace; // the way outside windows
        private boolean decided;

        Key(String label, String pattern) {
            this.label = label;
            this.pattern = pattern;
            this.times = new long[pattern.length()];
        }

        Choice next(long nanoTime) {
            long c = count++;
            long since = c - windowStart, period = Math.floorDiv(nanoTime, PERIOD_NANOS);
            if (c == 0 || since >= MIN_GAP && period >= windowPeriod + waitPeriods) {
                windowStart = c;
                windowPeriod = period;
                since = 0;
            }
            if (since >= pattern.length()) return new Choice(this, inPlace ? Paths.IN_PLACE : Paths.RING, -1);
            char way = pattern.charAt((int) since);
            return new Choice(this, Character.toLowerCase(way) == 'd' ? Paths.IN_PLACE : Paths.RING, (int) since);
        }

        void timed(int slot, long nanos) {
            times[slot] = nanos;
            if (slot != pattern.length() - 1) return;
            long took = Arrays.stream(times).sum();
            long periods = Math.max(1, Math.ceilDiv(COST_RATIO * took, PERIOD_NANOS));
            waitPeriods = Math.min(MAX_WAIT_PERIODS, Long.highestOneBit(periods) == periods ? periods : Long.highestOneBit(periods) * 2);
            if (!decides) return;
            double ring = median(samples('r')), direct = median(samples('d'));
            boolean was = inPlace;
            inPlace = was ? direct <= ring * SWITCH_MARGIN : direct * SWITCH_MARGIN < ring;
            if (LOG && (!decided || was != inPlace)) {
                System.err.printf("tandem: group '%s', %s: %s (median %.1f us through the rings, %.1f us read in place)%n",
                        group, label, inPlace ? "read in place" : "through the rings", ring / 1e3, direct / 1e3);
            }
            decided = true;
        }

        private long[] samples(char way) {
            return java.util.stream.IntStream.range(0, pattern.length()).filter(s -> pattern.charAt(s) == way)
                    .mapToLong(s -> times[s]).toArray();
        }
    }

    /** The median; of an even number of samples, the mean of the middle two. */
    static double median(long[] samples) {
        long[] s = samples.clone();
        Arrays.sort(s);
        int k = s.length;
        return k % 2 == 1 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2.0;
    }
}
