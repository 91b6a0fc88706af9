package dev.tandem.ckpt;

/**
 * Fault injection for tests: the writer calls {@link #reach} at every point where a crash would
 * leave a different set of files behind (temp file opened, each tensor written, before and after
 * fsync and rename, manifest). A test hook throws at a chosen point and abandons the files, which
 * is what a killed process leaves; the previous checkpoint must still load.
 */
@FunctionalInterface
interface CrashPoint {
    CrashPoint NONE = where -> {};

    void reach(String where);
}
