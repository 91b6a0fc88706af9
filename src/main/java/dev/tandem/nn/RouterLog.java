package dev.tandem.nn;

/** Receives each MoE block's routing as the forward pass makes it (statistics for the step log). */
@FunctionalInterface
public interface RouterLog {
    void record(int layer, Routing routing);

    RouterLog NONE = (layer, routing) -> {};
}
