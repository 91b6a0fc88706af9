package dev.tandem.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.api.Training;
import dev.tandem.api.TrainingResult;
import dev.tandem.ckpt.ModelFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code model.init_from}: a run continues from a model directory with the directory's shape and tokenizer. */
class FinetuneTest {
    @TempDir Path tmp;

    @Test
    void continuesFromAnExportedModelWithItsShapeAndTokenizer() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 40)).build().run();
        Path model = base.modelDir();
        assertThat(model.resolve(ModelFiles.TOKENIZER)).exists();

        // The model keys are left at their defaults (4 layers of 192): init_from replaces them with the directory's.
        Map<String, String> cfg = TinyRun.config(tmp, "tuned", 3);
        cfg.keySet().removeIf(k -> k.startsWith("model."));
        cfg.put("model.init_from", model.toString());
        TrainingResult tuned = Training.builder().set(cfg).build().run();

        double fresh = base.steps().getFirst().loss(), trained = base.steps().getLast().loss();
        double start = tuned.steps().getFirst().loss();
        assertThat(start).as("first fine-tuning loss starts where the base model ended, not from scratch (%.3f)", fresh)
                .isLessThan(fresh - 1.0).isLessThan(trained + 0.5);
        assertThat(Files.readString(tuned.runDir().resolve("train-config.json"))).contains("\"n_layer\" : 1", "\"n_embd\" : 32");
    }

    /**
     * {@code tandem finetune --peqa 4}: the run trains only the scales, writes the model in the PEQA
     * layout (packed codes, scales, zero points), and {@code generate} reads it back, with the logits
     * the trained model had.
     */
    @Test
    void peqaRunWritesThePackedModelAndGeneratesFromIt() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 20)).build().run();
        Path runs = tmp.resolve("cli");
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        int exit = dev.tandem.cli.Main.execute(new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true),
                "finetune", "--from", base.modelDir().toString(), "--peqa", "4", "--run.steps", "4", "--run.runs_dir", runs.toString(),
                "--run.name", "peqa", "--data.batch_size", "8", "--eval.every", "0", "--eval.batches", "1", "--run.threads", "1");
        assertThat(exit).as(err.toString()).isZero();
        Path model = runs.resolve("peqa/model");
        int c = 32;
        try (dev.tandem.ckpt.SafeTensors.Reader r = dev.tandem.ckpt.SafeTensors.read(model.resolve(ModelFiles.WEIGHTS))) {
            assertThat(r.entries()).doesNotContainKey("h.0.mlp.c_fc.weight");
            assertThat(r.entries().get("h.0.mlp.c_fc.qweight").shape()).containsExactly(c, 4 * c * 4 / 8);
            assertThat(r.entries().get("h.0.mlp.c_fc.qweight").dtype()).isEqualTo(dev.tandem.tensor.DType.U8);
            assertThat(r.entries().get("h.0.mlp.c_fc.scales").shape()).containsExactly(4 * c);
            assertThat(r.entries().get("h.0.mlp.c_fc.zeros").shape()).containsExactly(4 * c);
        }
        assertThat(Files.readString(model.resolve(ModelFiles.CONFIG))).contains("\"quant_method\" : \"peqa\"", "\"bits\" : 4");
        try (var loaded = dev.tandem.api.TrainedModel.load(model)) {
            assertThat(loaded.generate("ROMEO:", 5)).isNotNull();
        }
        // Against the base model quantized afresh: the same codes and zero points, trained scales.
        try (dev.tandem.nn.GPT packed = ModelFiles.load(model); dev.tandem.nn.GPT fresh = ModelFiles.load(base.modelDir())) {
            dev.tandem.nn.Peqa.apply(fresh, 4);
            for (dev.tandem.nn.Parameter p : packed.parameters()) {
                if (p.quantized() == null) continue;
                dev.tandem.nn.Parameter f = fresh.param(p.name());
                assertThat(p.quantized().bits()).isEqualTo(4);
                assertThat(bytes(p.quantized().codes())).as(p.name()).isEqualTo(bytes(f.quantized().codes()));
                assertThat(bytes(p.quantized().zeros())).as(p.name()).isEqualTo(bytes(f.quantized().zeros()));
                assertThat(p.value().toFloatArray()).as(p.name()).isNotEqualTo(f.value().toFloatArray());
            }
            assertThat(bytes(packed.param("wte.weight").value())).isEqualTo(bytes(fresh.param("wte.weight").value()));
        }
    }

    /**
     * A PEQA run stopped after half its steps and resumed from its checkpoint gives the same losses
     * and the same final scales, bit for bit, as one without a stop; the integer codes and zero
     * points are those of the base model quantized afresh, in both.
     */
    @Test
    void peqaResumesBitExactlyWithItsCodesUnchanged() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 10)).build().run();
        Map<String, String> cfg = TinyRun.config(tmp, "whole", 6);
        cfg.keySet().removeIf(k -> k.startsWith("model."));
        cfg.put("model.init_from", base.modelDir().toString());
        cfg.put("model.peqa", "3");
        cfg.put("optim.lr", "1e-2");
        TrainingResult second = resumesBitExactly(cfg);
        try (dev.tandem.nn.GPT resumed = ModelFiles.load(second.modelDir()); dev.tandem.nn.GPT fresh = ModelFiles.load(base.modelDir())) {
            dev.tandem.nn.Peqa.apply(fresh, 3);
            int quantized = 0;
            for (dev.tandem.nn.Parameter p : resumed.parameters()) {
                if (p.quantized() == null) continue;
                quantized++;
                dev.tandem.nn.Parameter f = fresh.param(p.name());
                assertThat(bytes(p.quantized().codes())).as(p.name()).isEqualTo(bytes(f.quantized().codes()));
                assertThat(bytes(p.quantized().zeros())).as(p.name()).isEqualTo(bytes(f.quantized().zeros()));
                assertThat(p.value().toFloatArray()).as("%s: the scales trained", p.name()).isNotEqualTo(f.value().toFloatArray());
            }
            assertThat(quantized).isEqualTo(4);
        }
    }

    /**
     * A PEQA checkpoint exports to the PEQA model layout, equal to the run's own final model; resumed
     * with other bits it is refused, naming the key and the checkpoint's bits.
     */
    @Test
    void peqaCheckpointExportsAndRefusesOtherBits() throws Exception {
        Map<String, String> cfg = TinyRun.config(tmp, "peqa", 2);
        cfg.put("model.peqa", "4");
        cfg.put("checkpoint.every", "1");
        cfg.put("checkpoint.async", "false");
        TrainingResult run = Training.builder().set(cfg).build().run();
        Path exported = tmp.resolve("exported");
        try (dev.tandem.ckpt.Checkpoint c = dev.tandem.ckpt.HfExport.openAny(run.runDir().resolve("checkpoints"), m -> { })) {
            assertThat(c.step()).isEqualTo(2);
            dev.tandem.ckpt.HfExport.export(c, exported, null);
        }
        assertThat(Files.readAllBytes(exported.resolve(ModelFiles.WEIGHTS))).isEqualTo(Files.readAllBytes(run.modelDir().resolve(ModelFiles.WEIGHTS)));
        cfg.put("model.peqa", "3");
        cfg.put("run.steps", "3");
        cfg.put("checkpoint.resume", "latest");
        assertThatThrownBy(() -> Training.builder().set(cfg).build().run()).isInstanceOf(TandemException.class)
                .hasMessageContaining("holds a 4-bit PEQA model").hasMessageContaining("model.peqa = 3").hasMessageContaining("model.peqa = 4");
    }

    /**
     * A tokenizer of the same size but other ids (two tokens swapped): fine-tuning a model whose
     * config.json names another end-of-text id, and resuming a checkpoint trained with the original,
     * are refused naming the files.
     */
    @Test
    void aForeignTokenizerOfTheSameSizeIsRefused() throws Exception {
        Path swapped = tmp.resolve("swapped-tokenizer.json");
        Files.writeString(swapped, Files.readString(Path.of("data/tokenizer-shakespeare-2k.json"))
                .replace("\"ú\" : 250,", "\"ú\" : 251,").replace("\"û\" : 251,", "\"û\" : 250,"));
        assertThat(dev.tandem.data.TokenizerJson.load(swapped).vocabSize()).isEqualTo(2048);
        Map<String, String> cfg = TinyRun.config(tmp, "base", 2);
        cfg.put("checkpoint.every", "1");
        cfg.put("checkpoint.async", "false");
        TrainingResult base = Training.builder().set(cfg).build().run();

        cfg.put("run.steps", "3");
        cfg.put("checkpoint.resume", "latest");
        cfg.put("data.tokenizer", swapped.toString());
        assertThatThrownBy(() -> Training.builder().set(cfg).build().run()).isInstanceOf(TandemException.class)
                .hasMessageContaining("was trained with the tokenizer in").hasMessageContaining(swapped.toString());

        Path model = base.modelDir();
        Files.delete(model.resolve(ModelFiles.CHECKSUMS));
        Path config = model.resolve(ModelFiles.CONFIG);
        Files.writeString(config, Files.readString(config).replace("\"eos_token_id\" : 2047", "\"eos_token_id\" : 50256"));
        Map<String, String> tune = TinyRun.config(tmp, "tuned", 1);
        tune.keySet().removeIf(k -> k.startsWith("model."));
        tune.put("model.init_from", model.toString());
        assertThatThrownBy(() -> Training.builder().set(tune).build().run()).isInstanceOf(TandemException.class)
                .hasMessageContaining("<|endoftext|> is token 2047").hasMessageContaining("eos_token_id 50256");
    }

    private static byte[] bytes(dev.tandem.tensor.Tensor t) {
        return t.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** {@code model.parscale = 2}: trains through the trainer, writes the streams' parameters and config, and generates from them. */
    @Test
    void parScaleModelTrainsAndGenerates() throws Exception {
        Map<String, String> cfg = TinyRun.config(tmp, "parscale", 12);
        cfg.put("model.parscale", "2");
        cfg.put("model.parscale_prefix", "4");
        TrainingResult r = Training.builder().set(cfg).build().run();
        assertThat(r.steps().getLast().loss()).isLessThan(r.steps().getFirst().loss() - 0.3);
        assertThat(Files.readString(r.modelDir().resolve(ModelFiles.CONFIG))).contains("\"parscale_n\" : 2", "\"parscale_n_tokens\" : 4");
        try (dev.tandem.nn.GPT model = ModelFiles.load(r.modelDir())) {
            assertThat(model.config().parscale()).isEqualTo(2);
            assertThat(model.param("h.0.attn.prefix_k").value().shape()).containsExactly(2, 4, 32);
        }
        try (var loaded = dev.tandem.api.TrainedModel.load(r.modelDir())) {
            assertThat(loaded.generate("ROMEO:", 5)).isNotNull();
        }
    }

    /** A ParScale run stopped and resumed from its checkpoint gives the same losses and weights, bit for bit, as one without a stop. */
    @Test
    void parScaleResumesBitExactly() throws Exception {
        Map<String, String> cfg = TinyRun.config(tmp, "whole", 6);
        cfg.put("model.parscale", "2");
        cfg.put("model.parscale_prefix", "3");
        resumesBitExactly(cfg);
    }

    /**
     * Trains the 6 steps of {@code cfg} in one run, then again stopped after 3 and resumed from the
     * checkpoint; asserts the same 6 losses and byte-identical final weights. Returns the resumed run.
     */
    private TrainingResult resumesBitExactly(Map<String, String> cfg) throws Exception {
        cfg.put("checkpoint.async", "false");
        TrainingResult whole = Training.builder().set(cfg).build().run();
        cfg.put("run.name", "split");
        cfg.put("checkpoint.every", "3");
        cfg.put("run.stop_after", "3");
        TrainingResult first = Training.builder().set(cfg).build().run();
        cfg.remove("run.stop_after");
        cfg.put("checkpoint.resume", "latest");
        TrainingResult second = Training.builder().set(cfg).build().run();
        List<Double> joined = new java.util.ArrayList<>(first.steps().stream().map(s -> s.loss()).toList());
        joined.addAll(second.steps().stream().map(s -> s.loss()).toList());
        assertThat(joined).hasSize(6).isEqualTo(whole.steps().stream().map(s -> s.loss()).toList());
        assertThat(Files.readAllBytes(second.modelDir().resolve(ModelFiles.WEIGHTS)))
                .isEqualTo(Files.readAllBytes(whole.modelDir().resolve(ModelFiles.WEIGHTS)));
        return second;
    }

    @Test
    void aShapeKeyThatDisagreesWithTheDirectoryIsNamed() throws Exception {
        TrainingResult base = Training.builder().set(TinyRun.config(tmp, "base", 1)).build().run();
        Map<String, String> cfg = TinyRun.config(tmp, "tuned", 1);
        cfg.put("model.n_embd", "64");
        cfg.put("model.init_from", base.modelDir().toString());
        assertThatThrownBy(() -> Training.builder().set(cfg).build()).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.n_embd is 64 but the model in").hasMessageContaining("has 32");
    }
}
