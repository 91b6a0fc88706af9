package dev.tandem.comm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Chooses, for each collective of a group whose ranks all share a host, how its large payloads
 * travel: through the shared-memory rings (the sender copies in, the receiver copies out) or read
 * in place by the receiver ({@link DirectPath}: one copy). Neither is faster everywhere. On the
 * 2-core VM of the benchmarks the rings won by about a quarter while the two vCPUs shared a
 * cache and lost four times over while they did not, and which of the two held changed by itself,
 * between runs and within them (docs/notes/benchmarks-history.md, Rounds 5 and 6).
 *
 * <p>So the group measures both, per operation kind and power-of-two size, in windows of a few
 * operations: ring, then in place, then ring again ({@link #PATTERN}), so a drift in speed weighs
 * on both alike. Each way runs several operations in a row and the first after a switch is not
 * counted: a way's first operation after the other finds the caches as the other left them, and
 * alternating every operation made the rings look faster than they are in a long run. Whole
 * operations are timed, not single transfers: a receiver's clock sees only its own copies, while
 * an operation ends only when this rank's payloads have been taken too.
 *
 * <p>At the end of a window the group all-reduces the window's times, taking the slowest rank's
 * time for each operation ({@link Choice#agree}: one more small collective), and every rank
 * decides from the same numbers, so all take the same way: the one with the lower median (the
 * other must be 5 % faster to be taken), and schedule the next window alike: {@link #COST_RATIO}
 * times the window's length in operations of the chosen way, so windows take about 5 % of the
 * time at most. Where ranks chose on their own times, noise made them choose differently, and
 * a mixed exchange was slower than either way. The slowest rank's time also counts the ring
 * fairly where one rank mostly sends: its send through the ring ends when the payload is in the
 * ring, not when the peer has taken it.
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
    /** Operations of a key between two windows: at least, and at most. */
    static final long MIN_GAP = 64, MAX_GAP = 1 << 20;
    /** The gap after a window, in multiples of its length. */
    static final long COST_RATIO = 20;
    /** The other way must be this much faster to be taken: where both are about as fast, switching back and forth only costs. */
    static final double SWITCH_MARGIN = 1.05;
    private final String group;
    private final boolean adaptive;
    private final boolean logs;
    private final int ranks;
    private final Choice unchosen; // shared: the same for every operation that is not chosen for
    private final Map<Long, Key> keys = new HashMap<>();

    /**
     * @param adaptive false: no operation is chosen for; must be the same on every rank
     * @param logs     whether this rank prints each first choice and each change, with the medians
     *                 behind it: the group's rank 0 where {@link CommOptions#logPaths()} (TANDEM_LOG_PATHS=1)
     * @param ranks    the group's size: an operation of b bytes sends payloads of about b / ranks
     * @param unchosen the ways of operations that are not chosen for
     */
    PathChooser(String group, boolean adaptive, boolean logs, int ranks, Paths unchosen) {
        this.group = group;
        this.adaptive = adaptive;
        this.logs = logs;
        this.ranks = ranks;
        this.unchosen = new Choice(null, unchosen, -1);
    }

    /**
     * The ways for the next operation of {@code kind} over {@code bytes}, which must be the same on
     * every rank; call {@link Choice#finished} when it is done.
     */
    synchronized Choice choose(OpKind kind, long bytes) {
        if (!adaptive || bytes / ranks < MIN_PAYLOAD_BYTES) return unchosen(); // below: no payload large enough to choose for
        int bucket = 63 - Long.numberOfLeadingZeros(bytes);
        Key key = keys.computeIfAbsent((long) kind.ordinal() << 8 | bucket,
                k -> new Key(kind.label() + " of " + bytes + " bytes", bytes >= LARGE_OP_BYTES ? LARGE_PATTERN : PATTERN));
        return key.next();
    }

    /**
     * The ways of an operation that is not chosen for: point-to-point messages (one side alone
     * cannot time an exchange), and collectives whose sizes differ between ranks.
     */
    Choice unchosen() {
        return unchosen;
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

        /** Records how long the operation took, if it was one of a window's. */
        void finished(long nanos) {
            if (key == null || slot < 0) return;
            synchronized (PathChooser.this) {
                key.times[slot] = nanos;
            }
        }

        /**
         * Whether this was the last operation of a window: then every rank of the group calls
         * {@link #agree} next, as one more collective.
         */
        boolean endsWindow() {
            return key != null && slot == key.pattern.length() - 1;
        }

        /**
         * At the end of a window, on every rank: writes this rank's window times (ns, as F32) into
         * {@code times}, lets {@code maxAcrossRanks} turn them into the slowest rank's, and
         * decides from those, as every other rank does from the same numbers.
         */
        void agree(MemorySegment times, java.util.function.Consumer<MemorySegment> maxAcrossRanks) {
            MemorySegment mine = times.asSlice(0, 4L * key.pattern.length());
            synchronized (PathChooser.this) {
                for (int s = 0; s < key.pattern.length(); s++) mine.setAtIndex(ValueLayout.JAVA_FLOAT, s, key.times[s]);
            }
            maxAcrossRanks.accept(mine);
            synchronized (PathChooser.this) {
                for (int s = 0; s < key.pattern.length(); s++) key.times[s] = (long) mine.getAtIndex(ValueLayout.JAVA_FLOAT, s);
                key.decide();
            }
        }
    }

    /** The state of one (operation kind, size) key. */
    private final class Key {
        private final String label;
        private final String pattern;
        private final long[] times;
        private long count; // operations of this key so far: the same on every rank
        private long nextWindow; // the count at which the next window starts: the same on every rank
        private boolean inPlace; // the way outside windows: the same on every rank
        private boolean decided;
        private final Choice byRing = new Choice(this, Paths.RING, -1), readInPlace = new Choice(this, Paths.IN_PLACE, -1);

        Key(String label, String pattern) {
            this.label = label;
            this.pattern = pattern;
            this.times = new long[pattern.length()];
        }

        Choice next() {
            long c = count++;
            long slot = c - nextWindow;
            if (slot < 0 || slot >= pattern.length()) return inPlace ? readInPlace : byRing; // outside a window
            boolean d = Character.toLowerCase(pattern.charAt((int) slot)) == 'd';
            return new Choice(this, d ? Paths.IN_PLACE : Paths.RING, (int) slot);
        }

        /** From the window's times, the same on every rank: the way, and the next window. */
        void decide() {
            double ring = median(samples('r')), direct = median(samples('d'));
            boolean was = inPlace;
            inPlace = was ? direct <= ring * SWITCH_MARGIN : direct * SWITCH_MARGIN < ring;
            if (logs && (!decided || was != inPlace)) {
                System.err.printf("tandem: group '%s', %s: %s (median %.1f us through the rings, %.1f us read in place)%n",
                        group, label, inPlace ? "read in place" : "through the rings", ring / 1e3, direct / 1e3);
            }
            decided = true;
            double perOp = Math.max(1, inPlace ? direct : ring);
            long gap = (long) Math.ceil(COST_RATIO * Arrays.stream(times).sum() / perOp);
            nextWindow = count + Math.clamp(gap, MIN_GAP, MAX_GAP);
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
