package dev.tandem.comm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The framing of {@link RingLink} over a small ring: whole messages (sealed) and messages in
 * pieces, mixed, across many laps of the ring and across its end.
 */
class RingLinkTest {
    private static final long CAPACITY = 4096;

    @Test
    void messagesOfEverySizeArriveIntactLapAfterLap() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ab = ringMemory(arena), ba = ringMemory(arena);
            RingLink a = link(1, ab, ba), b = link(0, ba, ab);
            Random random = new Random(42);
            for (int seq = 1; seq <= 3000; seq++) {
                // Mostly small (sent whole and sealed), some larger than the ring (sent in pieces), some empty.
                int bytes = switch (seq % 10) {
                    case 0 -> 0;
                    case 1 -> 4096 + random.nextInt(9000);
                    default -> random.nextInt(1500);
                };
                MemorySegment payload = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                for (int i = 0; i < bytes; i++) payload.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
                MemorySegment got = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                MessageHeader header = new MessageHeader(7, OpKind.ALL_GATHER, seq, 0, bytes);
                Transfer send = a.send(header, payload, false);
                Transfer recv = b.recv(header, new RecvSink.Copy(got));
                for (int step = 0; !(send.done() && recv.done()); step++) {
                    assertThat(step).as("message %d of %d bytes stalled", seq, bytes).isLessThan(10_000);
                    send.progress();
                    recv.progress();
                }
                assertThat(got.mismatch(payload)).as("message %d of %d bytes", seq, bytes).isEqualTo(-1);
            }
        }
    }

    /** Writer and reader on two threads: the reader may look for the seal just before it is written. */
    @Test
    void messagesArriveIntactBetweenTwoThreads() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment ab = ringMemory(arena), ba = ringMemory(arena);
            RingLink a = link(1, ab, ba), b = link(0, ba, ab);
            int messages = 20_000;
            int[] sizes = new Random(7).ints(messages, 0, 700).map(s -> s % 50 == 0 ? s * 12 : s).toArray();
            Thread writer = Thread.ofPlatform().start(() -> {
                for (int seq = 0; seq < messages; seq++) {
                    MemorySegment payload = arena.allocate(Math.max(1, sizes[seq])).asSlice(0, sizes[seq]);
                    payload.fill((byte) seq);
                    Transfer send = a.send(new MessageHeader(7, OpKind.ALL_GATHER, seq, 0, sizes[seq]), payload, false);
                    while (!send.done()) {
                        if (!send.progress()) Thread.onSpinWait();
                    }
                }
            });
            for (int seq = 0; seq < messages; seq++) {
                MemorySegment got = arena.allocate(Math.max(1, sizes[seq])).asSlice(0, sizes[seq]);
                Transfer recv = b.recv(new MessageHeader(7, OpKind.ALL_GATHER, seq, 0, sizes[seq]), new RecvSink.Copy(got));
                while (!recv.done()) {
                    if (!recv.progress()) Thread.onSpinWait();
                }
                for (int i = 0; i < sizes[seq]; i++) {
                    if (got.get(ValueLayout.JAVA_BYTE, i) != (byte) seq) {
                        throw new AssertionError("message " + seq + " of " + sizes[seq] + " bytes differs at byte " + i);
                    }
                }
            }
            writer.join();
        }
    }

    @Test
    void aSealFromTheLastLapIsNotTakenForANewMessage() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = ringMemory(arena);
            ByteRing writer = new ByteRing(memory), reader = new ByteRing(memory);
            MemorySegment payload = arena.allocate(CAPACITY / 4);
            for (int i = 0; i < 4; i++) { // one lap of four sealed messages
                long start = writer.head();
                writer.put(payload, 0, payload.byteSize());
                writer.seal(start);
                writer.publish();
                assertThat(reader.sealedAtTail()).isTrue();
                reader.consume(payload.byteSize());
            }
            // The slot at the tail holds the seal of position 0; the tail is at position CAPACITY now.
            assertThat(reader.sealedAtTail()).isFalse();
            assertThat(reader.readable()).isZero();
        }
    }

    @Test
    void aWholeMessageWithTheWrongHeaderIsAMismatch() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ab = ringMemory(arena), ba = ringMemory(arena);
            RingLink a = link(1, ab, ba), b = link(0, ba, ab);
            MemorySegment payload = arena.allocate(64);
            assertThat(a.send(new MessageHeader(7, OpKind.ALL_REDUCE, 1, 0, 64), payload, false).progress()).isTrue();
            Transfer recv = b.recv(new MessageHeader(7, OpKind.ALL_GATHER, 1, 0, 64), new RecvSink.Copy(arena.allocate(64)));
            assertThatThrownBy(recv::progress).isInstanceOf(MessageHeader.Mismatch.class);
        }
    }

    private static MemorySegment ringMemory(Arena arena) {
        return arena.allocate(ByteRing.segmentBytes(CAPACITY), 64);
    }

    /** One side's link: it writes into {@code out} and reads {@code in}, each through its own view of the ring. */
    private static RingLink link(int peer, MemorySegment out, MemorySegment in) {
        return new RingLink(peer, "local", new ByteRing(out), new ByteRing(in), () -> { }, null, null, Long.MAX_VALUE);
    }
}
