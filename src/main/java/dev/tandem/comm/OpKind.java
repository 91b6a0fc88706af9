package dev.tandem.comm;

import java.util.Locale;

/**
 * What a message belongs to. Every message header carries the kind of the operation that sent
 * it, so a rank that calls a different collective than its peers is told so instead of hanging.
 */
public enum OpKind {
    BROADCAST, REDUCE, ALL_REDUCE, REDUCE_SCATTER, ALL_GATHER, ALL_GATHER_V, ALL_TO_ALL, ALL_TO_ALL_V,
    BARRIER, SEND_RECV,
    /** The window times a group all-reduces to choose how large payloads travel ({@link PathChooser}). */
    PATH_CHOICE;

    /** The name users see in errors and logs, e.g. {@code all_reduce}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
