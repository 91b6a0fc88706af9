package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.tensor.DType;
import dev.tandem.tensor.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Async handles, point-to-point, barrier, op log, mesh groups, bitwise agreement, bf16 rounding. */
class GroupFeaturesTest {
    private static final CommOptions OPTS = CollectivesTest.DEFAULT;

    @Test
    void asyncOperationsRunInIssueOrderAndOverlapTheCaller() {
        LocalWorld.run(4, OPTS, g -> {
            try (Arena arena = Arena.ofShared()) { // async operations touch the buffers from the comm thread
                List<MemorySegment> bufs = new ArrayList<>();
                List<Work> works = new ArrayList<>();
                for (int k = 0; k < 6; k++) {
                    MemorySegment b = arena.allocate(4L * 50_000, 64);
                    for (int i = 0; i < 50_000; i++) b.setAtIndex(ValueLayout.JAVA_FLOAT, i, g.rank() + k);
                    bufs.add(b);
                    works.add(g.allReduceAsync(b, DType.F32, 50_000, ReduceOp.SUM));
                }
                MemorySegment s = arena.allocate(4);
                s.set(ValueLayout.JAVA_INT, 0, g.rank());
                g.allReduce(s, DType.I32, 1, ReduceOp.MAX); // sync after async: waits for them, then runs
                for (Work w : works) w.await();
                for (int k = 0; k < 6; k++) {
                    assertThat(bufs.get(k).getAtIndex(ValueLayout.JAVA_FLOAT, 49_999)).isEqualTo(6f + 4 * k);
                }
                assertThat(s.get(ValueLayout.JAVA_INT, 0)).isEqualTo(3);
            }
        });
    }

    @Test
    void sendRecvPassesATokenAroundTheRingAndBarrierCompletes() {
        LocalWorld.run(5, OPTS, g -> {
            try (Arena arena = Arena.ofShared()) {
                int n = g.size(), r = g.rank();
                MemorySegment token = arena.allocate(4 * 1000L);
                if (r == 0) {
                    token.setAtIndex(ValueLayout.JAVA_INT, 999, 1);
                    g.send(token, DType.I32, 1000, 1);
                    g.recv(token, DType.I32, 1000, n - 1);
                    assertThat(token.getAtIndex(ValueLayout.JAVA_INT, 999)).isEqualTo(n);
                } else {
                    Work w = g.recvAsync(token, DType.I32, 1000, r - 1);
                    w.await();
                    token.setAtIndex(ValueLayout.JAVA_INT, 999, token.getAtIndex(ValueLayout.JAVA_INT, 999) + 1);
                    g.send(token, DType.I32, 1000, (r + 1) % n);
                }
                g.barrier();
                g.barrierAsync().await();
            }
        });
    }

    @Test
    void opLogRecordsStartAndEndOfEveryOperation() {
        LocalWorld.run(2, OPTS, g -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment b = arena.allocate(64);
                g.allReduce(b, DType.F32, 16, ReduceOp.SUM);
                g.barrier();
                g.broadcast(b, DType.U8, 64, 1);
                List<OpLog.Entry> log = g.opLog().recent(10);
                assertThat(log).extracting(OpLog.Entry::kind)
                        .containsExactly(OpKind.ALL_REDUCE, OpKind.BARRIER, OpKind.BROADCAST);
                assertThat(log).extracting(OpLog.Entry::seq).containsExactly(1L, 2L, 3L);
                for (OpLog.Entry e : log) {
                    assertThat(e.inFlight()).isFalse();
                    assertThat(e.endEpochNanos()).isGreaterThanOrEqualTo(e.startEpochNanos());
                    assertThat(e.error()).isNull();
                    assertThat(e.group()).isEqualTo("world");
                }
                assertThat(g.opLog().inFlight()).isEmpty();
            }
        });
    }

    @Test
    void opLogKeepsOnlyTheMostRecentEntries() {
        OpLog log = new OpLog(3);
        for (int i = 0; i < 5; i++) log.end(log.begin("g", new int[] {0}, OpKind.BARRIER, i, 0), null);
        assertThat(log.recent(10)).extracting(OpLog.Entry::seq).containsExactly(2L, 3L, 4L);
        assertThat(log.count()).isEqualTo(5);
    }

    @Test
    void meshAxisGroupsReduceAlongTheirAxisOnly() {
        LocalWorld.run(8, OPTS, world -> {
            Mesh mesh = Mesh.create(world, List.of(new Mesh.Axis("dp", 2), new Mesh.Axis("pp", 2), new Mesh.Axis("tp", 2)));
            ProcessGroup tp = mesh.group("tp"), dp = mesh.group("dp");
            assertThat(tp.size()).isEqualTo(2);
            int r = world.rank();
            assertThat(tp.worldRank(0)).isEqualTo(r & ~1);
            assertThat(dp.worldRank(1)).isEqualTo((r % 4) + 4);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment b = arena.allocate(4);
                b.set(ValueLayout.JAVA_INT, 0, r);
                tp.allReduce(b, DType.I32, 1, ReduceOp.SUM);
                assertThat(b.get(ValueLayout.JAVA_INT, 0)).isEqualTo(2 * (r & ~1) + 1);
                b.set(ValueLayout.JAVA_INT, 0, r);
                dp.allReduce(b, DType.I32, 1, ReduceOp.SUM);
                assertThat(b.get(ValueLayout.JAVA_INT, 0)).isEqualTo(2 * (r % 4) + 4);
            }
        });
    }

    @Test
    void meshRejectsAWrongProduct() {
        LocalWorld.run(1, OPTS, world -> assertThatThrownBy(() -> Mesh.create(world, List.of(new Mesh.Axis("dp", 2))))
                .hasMessageContaining("has 2 ranks but the world has 1"));
    }

    @Test
    void allReduceResultsAreBitwiseIdenticalOnEveryRank() {
        for (long count : new long[] {1000, 300_001}) { // tree and ring
            LocalWorld.run(6, OPTS, g -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment b = TestData.random(arena, DType.F32, count, 77 + g.rank());
                    g.allReduce(b, DType.F32, count, ReduceOp.AVG);
                    MemorySegment all = TestData.alloc(arena, DType.F32, count * g.size());
                    g.allGather(b, all, DType.F32, count);
                    long bytes = DType.F32.bytes(count);
                    for (int r = 1; r < g.size(); r++) {
                        assertThat(all.asSlice(r * bytes, bytes).mismatch(all.asSlice(0, bytes))).isEqualTo(-1);
                    }
                }
            });
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(Precision.floatToBf16(1.0f)).isEqualTo((short) 0x3f80);
        // 1 + 2^-8 is exactly half-way between bf16 1.0 and 1.0078125: ties to even (1.0)
        assertThat(Precision.floatToBf16(Float.intBitsToFloat(0x3f808000))).isEqualTo((short) 0x3f80);
        assertThat(Precision.floatToBf16(Float.intBitsToFloat(0x3f818000))).isEqualTo((short) 0x3f82);
        assertThat(Precision.floatToBf16(Float.intBitsToFloat(0x3f808001))).isEqualTo((short) 0x3f81);
        assertThat(Float.isNaN(Precision.bf16ToFloat(Precision.floatToBf16(Float.NaN)))).isTrue();
        assertThat(Precision.bf16ToFloat(Precision.floatToBf16(Float.POSITIVE_INFINITY))).isInfinite();
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyCommunication() {
        LocalWorld.run(2, OPTS, g -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment b = arena.allocate(8);
                assertThatThrownBy(() -> g.allReduce(b, DType.F32, 4, ReduceOp.SUM)).hasMessageContaining("holds 8 bytes");
                assertThatThrownBy(() -> g.allReduce(b, DType.F16, 1, ReduceOp.SUM)).hasMessageContaining("not F16");
                assertThatThrownBy(() -> g.broadcast(b, DType.U8, 1, 5)).hasMessageContaining("root rank 5");
                assertThatThrownBy(() -> g.allGatherV(b, b, DType.U8, new long[] {1})).hasMessageContaining("has 1 entries");
                g.barrier(); // still usable: nothing was sent
            }
        });
    }
}
