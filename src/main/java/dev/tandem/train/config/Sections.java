package dev.tandem.train.config;

import dev.tandem.TandemException;

/** Checks the sections share, each naming its key. */
final class Sections {
    private Sections() {}

    static void positive(String key, long value) {
        if (value < 1) throw new TandemException(key + " must be a positive integer, got " + value);
    }

    static void nonBlank(String key, String value) {
        if (value == null || value.isBlank()) throw new TandemException(key + " must not be empty");
    }
}
