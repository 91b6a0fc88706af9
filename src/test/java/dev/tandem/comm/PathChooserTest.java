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

    @Test
    void windowsRecurInNewClockPeriodsWithinBoundsOnTheCount() {
        PathChooser c = new PathChooser("g", true, true, 2);
        int firstInPlace = PathChooser.PATTERN.indexOf('D');
        List<Integer> starts = new ArrayList<>();
        long now = 0;
        Paths before = null;
        for (int i = 0; i < 3000; i++) {
            if (i == 30 || i == 500) now += PERIOD; // the first before the minimum gap, the second after it
            Paths p = run(c, OpKind.ALL_GATHER, MIB, now, 100, 200, null); // the rings win: in place only inside windows
            if (p == Paths.IN_PLACE && before == Paths.RING) starts.add(i - firstInPlace);
            before = p;
        }
        long min = PathChooser.MIN_GAP, max = PathChooser.MAX_GAP;
        assertThat(starts).containsExactly(0, (int) min, 500, (int) (500 + max), (int) (500 + 2 * max));
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
