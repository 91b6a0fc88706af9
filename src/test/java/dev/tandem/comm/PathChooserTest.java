package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.PathChooser.Paths;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The choice between the rings and reading in place, on made-up operation times. */
class PathChooserTest {
    private static final long MIB = 1 << 20;
    private final MemorySegment message = Arena.ofAuto().allocate(4L * PathChooser.PATTERN.length(), 8);

    private static PathChooser chooser() {
        return new PathChooser("g", true, false, 2, Paths.RING);
    }

    /**
     * Runs one operation that takes {@code ringNanos} or {@code inPlaceNanos} on this rank by the
     * way it got; at the end of a window the group's slowest times are this rank's, or the peer's
     * where {@code peer} (its times by the ring and in place) says they were slower.
     */
    private Paths run(PathChooser c, OpKind kind, long bytes, long ringNanos, long inPlaceNanos, long[] peer) {
        PathChooser.Choice choice = c.choose(kind, bytes);
        choice.finished(choice.paths == Paths.IN_PLACE ? inPlaceNanos : ringNanos);
        if (choice.endsWindow()) {
            String pattern = bytes >= 32 * MIB ? PathChooser.LARGE_PATTERN : PathChooser.PATTERN;
            choice.agree(message, times -> {
                for (int s = 0; s < times.byteSize() / 4; s++) {
                    float theirs = peer == null ? 0 : peer[Character.toLowerCase(pattern.charAt(s)) == 'd' ? 1 : 0];
                    times.setAtIndex(ValueLayout.JAVA_FLOAT, s, Math.max(times.getAtIndex(ValueLayout.JAVA_FLOAT, s), theirs));
                }
            });
        }
        return choice.paths;
    }

    private Paths run(PathChooser c, OpKind kind, long bytes, long ringNanos, long inPlaceNanos) {
        return run(c, kind, bytes, ringNanos, inPlaceNanos, null);
    }

    private static String ways(List<Paths> paths) {
        StringBuilder b = new StringBuilder();
        for (Paths p : paths) b.append(p == Paths.IN_PLACE ? 'd' : 'r');
        return b.toString();
    }

    @Test
    void groupsThatDoNotChooseGetTheirFixedWays() {
        PathChooser fixed = new PathChooser("g", false, false, 2, Paths.FIXED);
        assertThat(fixed.choose(OpKind.ALL_GATHER, 64 * MIB).paths).isEqualTo(Paths.FIXED);
        assertThat(fixed.unchosen().paths).isEqualTo(Paths.FIXED);
        PathChooser spansHosts = new PathChooser("g", false, false, 2, Paths.RING);
        assertThat(spansHosts.choose(OpKind.ALL_GATHER, 64 * MIB).paths).as("links set up for choosing, group not").isEqualTo(Paths.RING);
        PathChooser adaptive = new PathChooser("g", true, false, 4, Paths.RING);
        assertThat(adaptive.unchosen().paths).isEqualTo(Paths.RING);
        assertThat(adaptive.unchosen().endsWindow()).isFalse();
        // 4 ranks, 128 KiB: 32 KiB payloads, below the links' threshold, so there is nothing to choose
        for (int i = 0; i < 20; i++) {
            PathChooser.Choice c = adaptive.choose(OpKind.ALL_GATHER, 128 * 1024);
            assertThat(c.paths).isEqualTo(Paths.RING);
            assertThat(c.endsWindow()).isFalse();
        }
        assertThat(adaptive.inPlaceKeys()).containsExactly(0, 0);
    }

    @Test
    void aWindowTriesBothWaysThenTheFasterIsKept() {
        PathChooser c = chooser();
        List<Paths> seen = new ArrayList<>();
        for (int i = 0; i < 20; i++) seen.add(run(c, OpKind.ALL_GATHER, MIB, 300, 100));
        assertThat(ways(seen)).isEqualTo(PathChooser.PATTERN.toLowerCase() + "ddddddddd");
        assertThat(c.inPlaceKeys()).containsExactly(1, 1);

        PathChooser slowInPlace = chooser();
        seen.clear();
        for (int i = 0; i < 20; i++) seen.add(run(slowInPlace, OpKind.ALL_GATHER, MIB, 100, 300));
        assertThat(ways(seen)).endsWith("rrrrrrrrr");
        assertThat(slowInPlace.inPlaceKeys()).containsExactly(0, 1);
    }

    @Test
    void theFirstOperationAfterASwitchIsNotCounted() {
        // timed: the rings 100, 100, 300, 300 (median 200), in place 150: in place wins. With the
        // untimed operations (capitals in the pattern) counted at 0 ns, the rings' median would be 100.
        PathChooser c = chooser();
        String pattern = PathChooser.PATTERN;
        int timedRing = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char way = pattern.charAt(i);
            PathChooser.Choice choice = c.choose(OpKind.REDUCE_SCATTER, MIB);
            assertThat(choice.paths).isEqualTo(Character.toLowerCase(way) == 'd' ? Paths.IN_PLACE : Paths.RING);
            long t = switch (way) {
                case 'r' -> timedRing++ < 2 ? 100 : 300;
                case 'd' -> 150;
                default -> 0;
            };
            choice.finished(t);
            assertThat(choice.endsWindow()).isEqualTo(i == pattern.length() - 1);
            if (choice.endsWindow()) choice.agree(message, times -> { }); // a group of one: its own times
        }
        assertThat(c.inPlaceKeys()).containsExactly(1, 1);
    }

    @Test
    void theOtherWayMustBeClearlyFasterToBeTaken() {
        PathChooser close = chooser();
        for (int i = 0; i < 11; i++) run(close, OpKind.ALL_GATHER, MIB, 100, 97);
        assertThat(close.inPlaceKeys()).as("3 % faster: stays with the rings").containsExactly(0, 1);
        PathChooser clear = chooser();
        for (int i = 0; i < 11; i++) run(clear, OpKind.ALL_GATHER, MIB, 100, 90);
        assertThat(clear.inPlaceKeys()).containsExactly(1, 1);
    }

    /** The operations at which windows start. */
    private List<Integer> windowStarts(PathChooser c, int ops, long ringNanos, long inPlaceNanos) {
        int firstInPlace = PathChooser.PATTERN.indexOf('D');
        List<Integer> starts = new ArrayList<>();
        Paths before = null;
        for (int i = 0; i < ops; i++) {
            Paths p = run(c, OpKind.ALL_GATHER, MIB, ringNanos, inPlaceNanos); // the rings win: in place only inside windows
            if (p == Paths.IN_PLACE && before == Paths.RING) starts.add(i - firstInPlace);
            before = p;
        }
        return starts;
    }

    @Test
    void windowsComeTwentyWindowLengthsApart() {
        int len = PathChooser.PATTERN.length();
        // in place 2x slower: 6 ring + 5 in-place operations take 16 ring operations' time; 20 times that is 320
        List<Integer> costly = windowStarts(chooser(), 1900, 100, 200);
        assertThat(costly).containsExactly(0, len + 320, 2 * (len + 320), 3 * (len + 320), 4 * (len + 320), 5 * (len + 320));
        // both ways alike: 11 operations' time, 220 operations apart
        List<Integer> alike = windowStarts(chooser(), 500, 100, 100);
        assertThat(alike).containsExactly(0, len + 220, 2 * (len + 220));
    }

    @Test
    void everyRankDecidesFromTheSlowestRanksTimes() {
        // this rank alone would read in place (100 against 300 by the rings), but its peer waits
        // 500 for in-place reads: the group's times say the rings, on both ranks alike
        PathChooser mine = chooser(), theirs = chooser();
        List<Paths> seenMine = new ArrayList<>(), seenTheirs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            seenMine.add(run(mine, OpKind.ALL_REDUCE, 4 * MIB, 300, 100, new long[] {300, 500}));
            seenTheirs.add(run(theirs, OpKind.ALL_REDUCE, 4 * MIB, 300, 500, new long[] {300, 100}));
        }
        assertThat(ways(seenMine)).isEqualTo(PathChooser.PATTERN.toLowerCase() + "rrrrrrrrr").isEqualTo(ways(seenTheirs));
        assertThat(mine.inPlaceKeys()).containsExactly(0, 1);
        assertThat(theirs.inPlaceKeys()).containsExactly(0, 1);
    }

    @Test
    void everyKindAndSizeChoosesOnItsOwnAndLargeOperationsUseTheShortWindow() {
        PathChooser c = chooser();
        for (int i = 0; i < 11; i++) {
            run(c, OpKind.ALL_GATHER, MIB, 300, 100); // in place wins
            run(c, OpKind.ALL_GATHER, 4 * MIB, 100, 300); // the rings win
            run(c, OpKind.REDUCE_SCATTER, MIB, 100, 300); // the rings win
        }
        assertThat(c.inPlaceKeys()).containsExactly(1, 3);
        assertThat(c.choose(OpKind.ALL_GATHER, MIB + 4096).paths).as("same power of two").isEqualTo(Paths.IN_PLACE);

        PathChooser large = chooser();
        List<Paths> seen = new ArrayList<>();
        for (int i = 0; i < PathChooser.LARGE_PATTERN.length() + 2; i++) seen.add(run(large, OpKind.ALL_GATHER, 64 * MIB, 300, 100));
        assertThat(ways(seen)).isEqualTo(PathChooser.LARGE_PATTERN.toLowerCase() + "dd");
    }
}
