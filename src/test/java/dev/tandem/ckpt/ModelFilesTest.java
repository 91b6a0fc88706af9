package dev.tandem.ckpt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.nn.GPT;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Parameter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {
    @TempDir Path dir;

    @Test
    void roundTripIsExactAndUsesHuggingFaceNames() throws Exception {
        GPTConfig cfg = new GPTConfig(2, 2, 8, 11, 6);
        try (GPT model = GPT.initialized(cfg, 5)) {
            ModelFiles.save(dir, model, null);
            try (GPT loaded = ModelFiles.load(dir); SafeTensors.Reader r = SafeTensors.read(dir.resolve(ModelFiles.WEIGHTS))) {
                assertThat(loaded.config()).isEqualTo(cfg);
                for (Parameter p : model.parameters()) {
                    assertThat(loaded.param(p.name()).value().toFloatArray()).isEqualTo(p.value().toFloatArray());
                }
                assertThat(r.entries()).containsKeys("wte.weight", "h.1.attn.c_attn.weight", "h.0.mlp.c_proj.bias", "ln_f.weight");
                assertThat(r.entries().get("h.0.mlp.c_fc.weight").shape()).containsExactly(8, 32); // [in, out]
            }
            String config = Files.readString(dir.resolve(ModelFiles.CONFIG));
            assertThat(config).contains("\"model_type\" : \"gpt2\"", "\"n_positions\" : 6", "\"activation_function\" : \"gelu_new\"");
        }
    }

    @Test
    void truncatedFileIsNamedInTheError() throws Exception {
        try (GPT model = GPT.initialized(new GPTConfig(1, 1, 4, 5, 3), 5)) {
            ModelFiles.save(dir, model, null);
        }
        Files.delete(dir.resolve(ModelFiles.CHECKSUMS)); // as a directory from elsewhere has none: the format's own checks remain
        Path weights = dir.resolve(ModelFiles.WEIGHTS);
        byte[] bytes = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        assertThatThrownBy(() -> ModelFiles.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("truncated");
    }

    /** A flipped bit inside a weight leaves a well-formed file; only the checksum notices. */
    @Test
    void aFlippedByteIsCaughtByTheChecksums() throws Exception {
        try (GPT model = GPT.initialized(new GPTConfig(1, 1, 4, 5, 3), 5)) {
            ModelFiles.save(dir, model, null);
        }
        assertThat(Files.readAllLines(dir.resolve(ModelFiles.CHECKSUMS))).hasSize(2).allMatch(l -> l.matches("[0-9a-f]{64}  \\S+"));
        Path weights = dir.resolve(ModelFiles.WEIGHTS);
        byte[] bytes = Files.readAllBytes(weights);
        bytes[bytes.length - 2] ^= 0x10;
        Files.write(weights, bytes);
        assertThatThrownBy(() -> ModelFiles.load(dir)).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.safetensors does not match its SHA-256");
        Files.delete(dir.resolve(ModelFiles.CHECKSUMS));
        ModelFiles.load(dir).close(); // without a checksum file it loads as it is
    }

    @Test
    void absurdHeaderLengthIsRejected() throws Exception {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertThatThrownBy(() -> SafeTensors.read(f)).isInstanceOf(TandemException.class).hasMessageContaining("header length");
    }
}
