package dev.tandem.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ByteLevelTest {
    @Test
    void matchesGpt2Table() {
        assertThat(ByteLevel.charOf(' ')).isEqualTo('\u0120'); // 'Ġ'
        assertThat(ByteLevel.charOf('\n')).isEqualTo('\u010A'); // 'Ċ'
        assertThat(ByteLevel.charOf(0)).isEqualTo('\u0100');
        assertThat(ByteLevel.charOf('A')).isEqualTo('A');
        assertThat(ByteLevel.charOf(0x7F)).isEqualTo('\u0121');
        assertThat(ByteLevel.charOf(0xAD)).isEqualTo('\u0143'); // soft hyphen, the last shifted byte
        assertThat(ByteLevel.charOf(0xFF)).isEqualTo('\u00FF');
    }

    @Test
    void isABijectionOnAllBytes() {
        Set<Character> seen = new HashSet<>();
        for (int b = 0; b < 256; b++) {
            char c = ByteLevel.charOf(b);
            assertThat(seen.add(c)).isTrue();
            assertThat(ByteLevel.byteOf(c)).isEqualTo(b);
            assertThat(Character.isWhitespace(c) || Character.isISOControl(c)).isFalse();
        }
        assertThat(ByteLevel.byteOf('\u0400')).isEqualTo(-1);
        assertThat(ByteLevel.decode("a\u0400")).isNull();
    }
}
