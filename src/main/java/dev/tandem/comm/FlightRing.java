package dev.tandem.comm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The op log's copy in a memory-mapped file: every operation's start and end land in the file's
 * pages as they happen, so the record outlives the process. A rank that is killed ({@code SIGKILL})
 * runs no code of its own and a hung one runs none that can be trusted, yet the kernel keeps the
 * pages they wrote, and the launcher reads what each was doing when it stopped. Recording is a
 * few stores into mapped memory: no system call, no allocation.
 *
 * <p>Layout (little endian): a 64-byte header (magic, version, capacity, rank, world size, group
 * area size, bytes of the group area in use), {@code capacity} slots of 64 bytes, then the group
 * area, an append-only list of (name, members) that slots refer to by index. A slot's first field
 * is its operation number + 1, written last when the operation starts, so a reader never takes a
 * half-written slot for a whole one.
 */
public final class FlightRing implements AutoCloseable {
    private static final long MAGIC = 0x314c46_4d444e54L; // "TNDMFL1" read as little-endian bytes
    private static final int HEADER = 64;
    private static final int SLOT = 64;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    // header fields
    private static final long H_MAGIC = 0, H_CAPACITY = 8, H_RANK = 12, H_WORLD = 16, H_GROUP_AREA = 20, H_GROUP_USED = 24;
    // slot fields
    private static final long S_ID = 0, S_GROUP = 8, S_KIND = 12, S_SEQ = 16, S_BYTES = 24, S_START = 32, S_END = 40, S_FAILED = 48;

    private final Arena arena;
    private final MemorySegment map;
    private final int capacity;
    private final long groupBase;
    private final long groupArea;
    private final List<String> groupNames = new ArrayList<>();
    private final List<int[]> groupMembers = new ArrayList<>();
    private long groupUsed;

    private FlightRing(Arena arena, MemorySegment map, int capacity, long groupArea) {
        this.arena = arena;
        this.map = map;
        this.capacity = capacity;
        this.groupBase = HEADER + (long) capacity * SLOT;
        this.groupArea = groupArea;
    }

    /**
     * Creates (or replaces) the ring file {@code file} for rank {@code rank} of {@code worldSize},
     * holding the last {@code capacity} operations; it stays mapped until {@link #close()}.
     */
    public static FlightRing create(Path file, int rank, int worldSize, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1");
        // Room for the names and members of 32 groups of the whole world: a rank belongs to a few (one per mesh axis).
        long groupArea = Math.max(16 << 10, 32L * (64 + 4L * worldSize));
        long size = HEADER + (long) capacity * SLOT + groupArea;
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment map = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            map.set(INT, H_CAPACITY, capacity);
            map.set(INT, H_RANK, rank);
            map.set(INT, H_WORLD, worldSize);
            map.set(LONG, H_GROUP_AREA, groupArea);
            map.set(LONG, H_GROUP_USED, 0);
            map.set(LONG, H_MAGIC, MAGIC);
            return new FlightRing(arena, map, capacity, groupArea);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot create the flight ring " + file + ": " + e.getMessage(), e);
        }
    }

    /** Records the start of operation {@code id} (the op log's running number). */
    void begin(long id, String group, int[] members, OpKind kind, long seq, long bytes, long startEpochNanos) {
        long s = slot(id);
        map.set(LONG, s + S_ID, 0); // invalid while its fields change
        map.set(INT, s + S_GROUP, groupIndex(group, members));
        map.set(INT, s + S_KIND, kind.ordinal());
        map.set(LONG, s + S_SEQ, seq);
        map.set(LONG, s + S_BYTES, bytes);
        map.set(LONG, s + S_START, startEpochNanos);
        map.set(LONG, s + S_END, -1);
        map.set(INT, s + S_FAILED, 0);
        map.set(LONG, s + S_ID, id + 1);
    }

    /** Records the end of operation {@code id}, if its slot still holds it. */
    void end(long id, long endEpochNanos, boolean failed) {
        long s = slot(id);
        if (map.get(LONG, s + S_ID) != id + 1) return;
        map.set(INT, s + S_FAILED, failed ? 1 : 0);
        map.set(LONG, s + S_END, endEpochNanos);
    }

    @Override
    public void close() {
        arena.close();
    }

    private long slot(long id) {
        return HEADER + (id % capacity) * SLOT;
    }

    /** The group's index in the group area, appending it the first time; -1 when the area is full. */
    private int groupIndex(String name, int[] members) {
        for (int i = 0; i < groupNames.size(); i++) {
            if (groupMembers.get(i) == members && groupNames.get(i).equals(name)) return i;
        }
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        long need = 8 + utf8.length + 4L * members.length;
        if (groupUsed + need > groupArea) return -1;
        long at = groupBase + groupUsed;
        map.set(INT, at, utf8.length);
        MemorySegment.copy(utf8, 0, map, ValueLayout.JAVA_BYTE, at + 4, utf8.length);
        map.set(INT, at + 4 + utf8.length, members.length);
        for (int m = 0; m < members.length; m++) map.set(INT, at + 8 + utf8.length + 4L * m, members[m]);
        groupUsed += need;
        map.set(LONG, H_GROUP_USED, groupUsed);
        groupNames.add(name);
        groupMembers.add(members);
        return groupNames.size() - 1;
    }

    /** What a ring file held: its rank, world size, and entries oldest first (error "failed" for an operation that failed). */
    public record Contents(int rank, int worldSize, List<OpLog.Entry> entries) {}

    /**
     * Reads a ring file written by {@link #create} — of a process that may have died or be stopped
     * — or throws {@link IOException} when it is not one.
     */
    public static Contents read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        MemorySegment m = MemorySegment.ofArray(bytes);
        if (bytes.length < HEADER || m.get(LONG, H_MAGIC) != MAGIC) throw new IOException(file + " is not a flight ring");
        int capacity = m.get(INT, H_CAPACITY);
        long groupBase = HEADER + (long) capacity * SLOT;
        long used = m.get(LONG, H_GROUP_USED);
        if (capacity < 1 || groupBase + used > bytes.length) throw new IOException(file + " is a truncated flight ring");
        List<String> names = new ArrayList<>();
        List<List<Integer>> members = new ArrayList<>();
        for (long at = groupBase; at < groupBase + used; ) {
            int len = m.get(INT, at);
            names.add(new String(bytes, (int) at + 4, len, StandardCharsets.UTF_8));
            int n = m.get(INT, at + 4 + len);
            List<Integer> ms = new ArrayList<>(n);
            for (int i = 0; i < n; i++) ms.add(m.get(INT, at + 8 + len + 4L * i));
            members.add(List.copyOf(ms));
            at += 8 + len + 4L * n;
        }
        OpKind[] kinds = OpKind.values();
        long[] ids = new long[capacity];
        for (int i = 0; i < capacity; i++) ids[i] = m.get(LONG, HEADER + (long) i * SLOT + S_ID);
        Integer[] order = new Integer[capacity];
        for (int i = 0; i < capacity; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Long.compare(ids[a], ids[b]));
        List<OpLog.Entry> entries = new ArrayList<>();
        for (int i : order) {
            if (ids[i] == 0) continue;
            long s = HEADER + (long) i * SLOT;
            int g = m.get(INT, s + S_GROUP);
            int kind = m.get(INT, s + S_KIND);
            if (kind < 0 || kind >= kinds.length) throw new IOException(file + ": slot " + i + " holds no operation kind");
            boolean known = g >= 0 && g < names.size();
            entries.add(new OpLog.Entry(known ? names.get(g) : "?", known ? members.get(g) : List.of(), kinds[kind],
                    m.get(LONG, s + S_SEQ), m.get(LONG, s + S_BYTES), m.get(LONG, s + S_START), m.get(LONG, s + S_END),
                    m.get(INT, s + S_FAILED) != 0 ? "failed" : null));
        }
        return new Contents(m.get(INT, H_RANK), m.get(INT, H_WORLD), List.copyOf(entries));
    }
}
