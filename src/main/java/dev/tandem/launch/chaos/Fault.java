package dev.tandem.launch.chaos;

/**
 * The faults a chaos trial injects, each with the class detection must give it (C4's taxonomy).
 * Crashes and hangs end the attempt and are told apart by the launcher (a process gone on a
 * signal, or one that never exited while its peers lost it); a slow rank keeps the job running
 * and is flagged by the fail-slow watch.
 */
public enum Fault {
    /** SIGKILL of a rank during a step: a crash. */
    KILL("kill", "crashed"),
    /** SIGSTOP of a rank: it never arrives at the next collective; a hang. */
    STOP("stop", "hung"),
    /** SIGKILL of a rank right as a checkpoint is written: a crash, and the checkpoint must not be lost or corrupt. */
    KILL_DURING_SAVE("kill-during-save", "crashed"),
    /** A rank computing slower from the start (the fault drill; 1.5 times in {@code tandem chaos}): fail-slow. */
    SLOW("slow", "slow");

    private final String label;
    private final String expected;

    Fault(String label, String expected) {
        this.label = label;
        this.expected = expected;
    }

    public String label() {
        return label;
    }

    /** The class a correct detection gives this fault. */
    public String expectedClass() {
        return expected;
    }

    /** The fault labelled {@code label}, or an error naming the labels. */
    public static Fault of(String label) {
        for (Fault f : values()) if (f.label.equals(label)) return f;
        throw new IllegalArgumentException("no fault '" + label + "': choose from kill, stop, kill-during-save, slow");
    }
}
