package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.PathChooser.Paths;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The choice between the rings and reading in place, on made-up operation times and a made-up clock. */
class PathChooserTest {
    private static final long MIB = 1 << 20;
    private static final long PERIOD = PathChooser.PERIOD_NANOS;

    /** Runs one operation at clock {@code now} that takes what {@code time} says for its ways and window slot. */
    private static Paths run(PathChooser c, OpKind kind, long bytes, long now, long ringNanos, long inPlaceNanos, Boolean peersInPlace) {
        PathChooser.Choice choice = c.choose(kind, bytes, now);
        choice.finished(choice.paths == Paths.IN_PLACE ? inPlaceNanos : ringNanos, peersInPlace);
        return choice.paths;
    }

    private static String ways(List<Paths> paths) {
        StringBuilder b = new StringBuilder();
        for (Paths p : paths) b.append(p == Paths.IN_PLACE ? 'd' : 'r');
        return b.toString();
    }

    @Test
    void groupsThatDoNotChooseKeepTheFixedRule() {
        PathChooser fixed = new PathChooser("g", false, true, 2);
        assertThat(fixed.choose(OpKind.ALL_GATHER, 64 * MIB, 0).paths).isEqualTo(Paths.FIXED);
        assertThat(fixed.pointToPoint()).isEqualTo(Paths.FIXED);
        PathChooser adaptive = new PathChooser("g", true, true, 4);
        assertThat(adaptive.pointToPoint()).isEqualTo(Paths.RING);
        // 4 ranks, 128 KiB: 32 KiB payloads, below the links' threshold, so there is nothing to choose
        for (int i = 0; i < 20; i++) assertThat(adaptive.choose(OpKind.ALL_GATHER, 128 * 1024, 0).paths).isEqualTo(Paths.RING);
        assertThat(adaptive.inPlaceKeys()).containsExactly(0, 0);
    }

    @Test
    void aWindowTriesBothWaysThenTheFasterIsKept() {
        PathChooser c = new PathChooser("g", true, true, 2);
        List<Paths> seen = new ArrayList<>();
        for (int i = 0; i < 20; i++) seen.add(run(c, OpKind.ALL_GATHER, MIB, 0, 300, 100, null));
        assertThat(ways(seen)).isEqualTo(PathChooser.PATTERN.toLowerCase() + "ddddddddd");
        assertThat(c.inPlaceKeys()).containsExactly(1, 1);

        PathChooser slowInPlace = new PathChooser("g", true, true, 2);
        seen.clear();
        for (int i = 0; i < 20; i++) seen.add(run(slowInPlace, OpKind.ALL_GATHER, MIB, 0, 100, 300, null));
        assertThat(ways(seen)).endsWith("rrrrrrrrr");
        assertThat(slowInPlace.inPlaceKeys()).containsExactly(0, 1);
    }

    @Test
    void theFirstOperationAfterASwitchIsNotCounted() {
        // timed: the rings 100, 100, 300, 300 (median 200), in place 150: in place wins. With the
        // untimed operations (capitals in the pattern) counted at 0 ns, the rings' median would be 100.
        PathChooser c = new PathChooser("g", true, true, 2);
        String pattern = PathChooser.PATTERN;
        int timedRing = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char way = pattern.charAt(i);
            PathChooser.Choice choice = c.choose(OpKind.REDUCE_SCATTER, MIB, 0);
            assertThat(choice.paths).isEqualTo(Character.toLowerCase(way) == 'd' ? Paths.IN_PLACE : Paths.RING);
            long t = switch (way) {
                case 'r' -> timedRing++ < 2 ? 100 : 300;
                case 'd' -> 150;
                default -> 0;
            };
            choice.finished(t, null);
        }
        assertThat(c.inPlaceKeys()).containsExactly(1, 1);
    }

    @Test
    void theOtherWayMustBeClearlyFasterToBeTaken() {
        PathChooser close = new PathChooser("g", true, true, 2);
        for (int i = 0; i < 11; i++) run(close, OpKind.ALL_GATHER, MIB, 0, 100, 97, null);
        assertThat(close.inPlaceKeys()).as("3 % faster: stays with the rings").containsExactly(0, 1);
        PathChooser clear = new PathChooser("g", true, true, 2);
        for (int i = 0; i < 11; i++) run(clear, OpKind.ALL_GATHER, MIB, 0, 100, 90, null);
        assertThat(clear.inPlaceKeys()).containsExactly(1, 1);
    }

    /** The operations at which windows start, for operations that take what {@code nanos} says. */
    private static List<Integer> windowStarts(PathChooser c, int ops, long ringNanos, long inPlaceNanos, java.util.function.IntToLongFunction clock) {
        int firstInPlace = PathChooser.PATTERN.indexOf('D');
        List<Integer> starts = new ArrayList<>();
        Paths before = null;
        for (int i = 0; i < ops; i++) {
            Paths p = run(c, OpKind.ALL_GATHER, MIB, clock.applyAsLong(i), ringNanos, inPlaceNanos, null); // the rings win
            if (p == Paths.IN_PLACE && before == Paths.RING) starts.add(i - firstInPlace);
            before = p;
        }
        return starts;
    }

    @Test
    void windowsStartInNewClockPeriodsAtLeastSoManyOperationsApart() {
        // a new period at operation 30 (before the minimum gap) and at 500
        List<Integer> starts = windowStarts(new PathChooser("g", true, true, 2), 3000, 100, 200,
                i -> (i >= 30 ? PERIOD : 0) + (i >= 500 ? PERIOD : 0));
        assertThat(starts).containsExactly(0, (int) PathChooser.MIN_GAP, 500);
    }

    @Test
    void costlyWindowsWaitTwentyTimesTheirLength() {
        // 11 operations of 10–20 ms: a window of about 160 ms, so the next waits 3.2 s (32 periods, a power of two)
        long ms = 1_000_000;
        int periodOps = 5; // the clock moves one period every 5 operations
        List<Integer> starts = windowStarts(new PathChooser("g", true, true, 2), 1000, 10 * ms, 20 * ms, i -> (long) i / periodOps * PERIOD);
        long took = 10 * ms * 6 + 20 * ms * 5; // six operations by the rings, five in place
        long periods = Long.highestOneBit(Math.ceilDiv(PathChooser.COST_RATIO * took, PERIOD) * 2 - 1);
        assertThat(periods).isEqualTo(32);
        assertThat(starts).containsExactly(0, 32 * periodOps, 2 * 32 * periodOps, 3 * 32 * periodOps, 4 * 32 * periodOps,
                5 * 32 * periodOps, 6 * 32 * periodOps);
    }

    @Test
    void followersTakeTheWayTheirPeersUsedOutsideWindows() {
        PathChooser follower = new PathChooser("g", true, false, 2);
        List<Paths> seen = new ArrayList<>();
        // its own times say in place; it does not decide, and what peers do inside a window does not count
        for (int i = 0; i < 11; i++) seen.add(run(follower, OpKind.ALL_REDUCE, 4 * MIB, 0, 300, 100, i % 2 == 0));
        assertThat(ways(seen)).isEqualTo(PathChooser.PATTERN.toLowerCase());
        assertThat(follower.inPlaceKeys()).containsExactly(0, 1);
        assertThat(run(follower, OpKind.ALL_REDUCE, 4 * MIB, 0, 300, 100, true)).isEqualTo(Paths.RING);
        assertThat(run(follower, OpKind.ALL_REDUCE, 4 * MIB, 0, 300, 100, null)).as("nothing received: no news").isEqualTo(Paths.IN_PLACE);
        assertThat(run(follower, OpKind.ALL_REDUCE, 4 * MIB, 0, 300, 100, false)).isEqualTo(Paths.IN_PLACE);
        assertThat(run(follower, OpKind.ALL_REDUCE, 4 * MIB, 0, 300, 100, null)).isEqualTo(Paths.RING);
    }

    @Test
    void everyKindAndSizeChoosesOnItsOwnAndLargeOperationsUseTheShortWindow() {
        PathChooser c = new PathChooser("g", true, true, 2);
        for (int i = 0; i < 11; i++) {
            run(c, OpKind.ALL_GATHER, MIB, 0, 300, 100, null); // in place wins
            run(c, OpKind.ALL_GATHER, 4 * MIB, 0, 100, 300, null); // the rings win
            run(c, OpKind.REDUCE_SCATTER, MIB, 0, 100, 300, null); // the rings win
        }
        assertThat(c.inPlaceKeys()).containsExactly(1, 3);
        assertThat(c.choose(OpKind.ALL_GATHER, MIB + 4096, 0).paths).as("same power of two").isEqualTo(Paths.IN_PLACE);

        PathChooser large = new PathChooser("g", true, true, 2);
        List<Paths> seen = new ArrayList<>();
        for (int i = 0; i < PathChooser.LARGE_PATTERN.length() + 2; i++) seen.add(run(large, OpKind.ALL_GATHER, 64 * MIB, 0, 300, 100, null));
        assertThat(ways(seen)).isEqualTo(PathChooser.LARGE_PATTERN.toLowerCase() + "dd");
    }
}
