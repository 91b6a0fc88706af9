package dev.tandem.comm;

/** What this rank knows about its peers' liveness (fed by the heartbeat between processes). */
interface PeerHealth {
    PeerHealth ALWAYS_OK = peer -> null;

    /** Why {@code worldRank} is considered failed, or null while it is believed alive. */
    String failure(int worldRank);
}
