package dev.tandem.comm.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.comm.health.LinkClassifier.LinkFault;
import dev.tandem.comm.health.LinkClassifier.LinkFault.Kind;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The latency matrix read as C4 reads it: a slow cell is a link, a slow row an endpoint; each transport against its own kind. */
class LinkClassifierTest {
    private final LinkClassifier classifier = new LinkClassifier(3, 0.5);

    /** A matrix of {@code n} ranks on {@code hosts} hosts (ranks split evenly): shm inside a host (~0.05 ms), tcp between (~0.3 ms). */
    private static double[][] healthy(int n, int hosts, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i == j) continue;
                double base = host(i, n, hosts) == host(j, n, hosts) ? 0.05 : 0.3;
                m[i][j] = base * (1 + 0.5 * rnd.nextDouble());
            }
        }
        return m;
    }

    private static int host(int rank, int n, int hosts) {
        return rank / (n / hosts);
    }

    private static String[][] transports(int n, int hosts) {
        String[][] t = new String[n][n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) t[i][j] = i == j ? "self" : host(i, n, hosts) == host(j, n, hosts) ? "shm" : "tcp";
        return t;
    }

    private static void delay(double[][] m, int a, int b, double ms) {
        m[a][b] += ms;
        m[b][a] += ms;
    }

    @Test
    void aHealthyMatrixOfMixedTransportsHasNoFindings() {
        for (int seed = 0; seed < 20; seed++) {
            assertThat(classifier.classify(healthy(8, 2, seed), transports(8, 2), null)).isEmpty();
        }
    }

    @Test
    void oneSlowCellIsASlowLink() {
        double[][] m = healthy(4, 2, 1);
        delay(m, 1, 2, 20);
        assertThat(classifier.classify(m, transports(4, 2), null)).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(Kind.SLOW_LINK);
            assertThat(List.of(f.a(), f.b())).containsExactly(1, 2);
            assertThat(f.ratio()).isGreaterThan(20);
        });
    }

    @Test
    void aSlowRowIsASlowEndpointAndItsCellsAreNotAlsoLinks() {
        double[][] m = healthy(4, 4, 2); // one rank per host: every connection is tcp
        for (int j = 0; j < 4; j++) if (j != 3) delay(m, 3, j, 20);
        assertThat(classifier.classify(m, transports(4, 4), null)).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(Kind.SLOW_ENDPOINT);
            assertThat(f.a()).isEqualTo(3);
            assertThat(f.describe()).contains("rank 3 is a slow endpoint");
        });
    }

    @Test
    void aSlowEndpointAndAnUnrelatedSlowLinkAreBothFound() {
        double[][] m = healthy(6, 6, 3);
        for (int j = 0; j < 6; j++) if (j != 0) delay(m, 0, j, 10);
        delay(m, 2, 4, 10);
        List<LinkFault> found = classifier.classify(m, transports(6, 6), null);
        assertThat(found).extracting(LinkFault::kind).containsExactly(Kind.SLOW_ENDPOINT, Kind.SLOW_LINK);
        assertThat(found.get(0).a()).isZero();
        assertThat(List.of(found.get(1).a(), found.get(1).b())).containsExactly(2, 4);
    }

    @Test
    void twoRanksHaveOneLinkAndNoEndpointToTellItFrom() {
        double[][] m = healthy(2, 2, 4);
        double[][] slowM = healthy(4, 2, 4);
        delay(m, 0, 1, 20);
        // with two ranks there is one connection: nothing to compare it with, nothing found
        assertThat(classifier.classify(m, transports(2, 2), null)).isEmpty();
        delay(slowM, 0, 2, 20);
        assertThat(classifier.classify(slowM, transports(4, 2), null)).extracting(LinkFault::kind).containsExactly(Kind.SLOW_LINK);
    }

    @Test
    void everyConnectionBetweenTwoHostsSlowIsSeenAgainstEarlierProbes() {
        double[][] before = healthy(4, 2, 6);
        double[][] now = healthy(4, 2, 6);
        for (int i : new int[] {0, 1}) for (int j : new int[] {2, 3}) delay(now, i, j, 20);
        // against the fastest tcp connection now, nothing stands out: all of them are slow
        assertThat(classifier.classify(now, transports(4, 2), null)).isEmpty();
        List<LinkFault> found = classifier.classify(now, transports(4, 2), LinkClassifier.pairs(before));
        assertThat(found).extracting(LinkFault::kind).containsOnly(Kind.SLOW_LINK);
        assertThat(found).extracting(f -> List.of(f.a(), f.b())).containsExactly(List.of(0, 2), List.of(0, 3), List.of(1, 2), List.of(1, 3));
    }

    @Test
    void aDelaySeenByOnlyOneEndOfAPairIsNoise() {
        double[][] m = healthy(4, 4, 5);
        m[1][2] += 20; // one of the two timings of the pair was descheduled; the other was not
        assertThat(classifier.classify(m, transports(4, 4), null)).isEmpty();
    }

    @Test
    void theRoundRobinMeetsEveryPairOnceWithEachRankInOnePairPerRound() {
        for (int n = 2; n <= 9; n++) {
            int players = n + n % 2;
            Set<List<Integer>> met = new HashSet<>();
            for (int round = 0; round < players - 1; round++) {
                for (int me = 0; me < players; me++) {
                    int peer = LinkProbe.opponent(me, round, players);
                    assertThat(peer).isNotEqualTo(me);
                    assertThat(LinkProbe.opponent(peer, round, players)).as("n=%d round %d", n, round).isEqualTo(me);
                    if (me < peer && peer < n) assertThat(met.add(List.of(me, peer))).as("pair met twice").isTrue();
                }
            }
            assertThat(met).hasSize(n * (n - 1) / 2);
        }
    }
}
