package dev.tandem.data;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

/** Strings that stress byte-level BPE: every plane, surrogate pairs, whitespace runs, controls. */
final class TextArbitraries {
    private TextArbitraries() {}

    static Arbitrary<String> unicodeText() {
        Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.integers().between(0x20, 0x7E)),      // ASCII text
                net.jqwik.api.Tuple.of(3, Arbitraries.of(0x20, 0x20, 0x0A, 0x09, 0x0D, 0xA0, 0x3000, 0x2028, 0x85, 0x0B)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0x00, 0x1F)),      // control characters
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0x4E00, 0x9FFF)),  // CJK
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0x1F300, 0x1FAFF)),// emoji (surrogate pairs)
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0x0300, 0x036F)),  // combining marks
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(0, Character.MAX_CODE_POINT)
                        .filter(cp -> cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE)));
        return codePoint.list().ofMaxSize(80).map(cps -> {
            StringBuilder sb = new StringBuilder();
            for (int cp : cps) sb.appendCodePoint(cp);
            return sb.toString();
        });
    }
}
