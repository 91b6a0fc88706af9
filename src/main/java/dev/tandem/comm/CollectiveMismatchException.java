package dev.tandem.comm;

/**
 * Ranks called different collectives (or the same one with different sizes) at the same point
 * of their programs. Detected from the operation kind, sequence number and size that every
 * message header carries.
 */
public final class CollectiveMismatchException extends CommException {
    public CollectiveMismatchException(String message) {
        super(message);
    }
}
