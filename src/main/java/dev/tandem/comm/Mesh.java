package dev.tandem.comm;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The world arranged as a grid with named axes (dp, tp, pp, ep, cp, …), row-major: the last
 * axis varies fastest, so with axes (dp=2, tp=2) ranks 0,1 form a tp group and 0,2 a dp group.
 * Validated once; the group along an axis is built on first use and cached.
 */
public final class Mesh implements AutoCloseable {
    /** One named dimension of the mesh. */
    public record Axis(String name, int size) {
        public Axis {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("axis name must not be empty");
            if (size < 1) throw new IllegalArgumentException("axis '" + name + "' must have size >= 1, not " + size);
        }
    }

    private final ProcessGroup world;
    private final List<Axis> axes;
    private final int[] coords;
    private final Map<String, ProcessGroup> groups = new HashMap<>();

    private Mesh(ProcessGroup world, List<Axis> axes) {
        this.world = world;
        this.axes = List.copyOf(axes);
        this.coords = coordinates(world.rank());
    }

    /** A mesh over {@code world}; the product of the axis sizes must equal the world size. */
    public static Mesh create(ProcessGroup world, List<Axis> axes) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        long product = 1;
        for (Axis a : axes) {
            if (seen.put(a.name(), a.size()) != null) throw new IllegalArgumentException("mesh axis '" + a.name() + "' appears twice");
            product *= a.size();
        }
        if (product != world.size()) {
            throw new IllegalArgumentException("mesh " + seen + " has " + product + " ranks but the world has " + world.size());
        }
        return new Mesh(world, axes);
    }

    public List<Axis> axes() {
        return axes;
    }

    public ProcessGroup world() {
        return world;
    }

    /** This rank's coordinate along {@code axis}. */
    public int coordinate(String axis) {
        return coords[index(axis)];
    }

    public int size(String axis) {
        return axes.get(index(axis)).size();
    }

    /** The group of ranks that share this rank's coordinates on every other axis. */
    public synchronized ProcessGroup group(String axis) {
        ProcessGroup g = groups.get(axis);
        if (g == null) {
            int a = index(axis);
            List<Integer> ranks = new ArrayList<>();
            int[] c = coords.clone();
            for (int i = 0; i < axes.get(a).size(); i++) {
                c[a] = i;
                ranks.add(rankOf(c));
            }
            g = world.subgroup(axis, ranks);
            groups.put(axis, g);
        }
        return g;
    }

    /**
     * The group of ranks that share this rank's coordinates on every axis not named in {@code
     * spanned}: e.g. spanning every axis but the island gives the ranks of this rank's island.
     */
    public synchronized ProcessGroup groupSpanning(List<String> spanned) {
        String key = String.join("+", spanned);
        ProcessGroup g = groups.get(key);
        if (g == null) {
            int[] which = spanned.stream().mapToInt(this::index).toArray();
            List<Integer> ranks = new ArrayList<>();
            for (int r = 0; r < world.size(); r++) {
                int[] c = coordinates(r);
                boolean same = true;
                for (int a = 0; a < axes.size() && same; a++) {
                    final int axis = a;
                    same = java.util.Arrays.stream(which).anyMatch(i -> i == axis) || c[a] == coords[a];
                }
                if (same) ranks.add(r);
            }
            g = ranks.size() == world.size() ? world : world.subgroup(key, ranks);
            groups.put(key, g);
        }
        return g;
    }

    private int index(String axis) {
        for (int i = 0; i < axes.size(); i++) if (axes.get(i).name().equals(axis)) return i;
        throw new IllegalArgumentException("mesh has no axis '" + axis + "'; axes: " + axes.stream().map(Axis::name).toList());
    }

    int[] coordinates(int rank) {
        int[] c = new int[axes.size()];
        for (int i = axes.size() - 1; i >= 0; i--) {
            c[i] = rank % axes.get(i).size();
            rank /= axes.get(i).size();
        }
        return c;
    }

    int rankOf(int[] c) {
        int r = 0;
        for (int i = 0; i < axes.size(); i++) r = r * axes.get(i).size() + c[i];
        return r;
    }

    /** Frees the groups built along the axes (their buffers); the world group stays open. */
    @Override
    public synchronized void close() {
        groups.values().stream().filter(g -> g != world).forEach(ProcessGroup::close);
        groups.clear();
    }
}
