package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint commands from the command line: train with checkpoints, export --hf, and clear errors. */
class CheckpointCliTest {
    @TempDir Path tmp;

    private int run(StringWriter out, StringWriter err, String... args) {
        return Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    private String[] train(String... extra) {
        String[] base = {"train", "--run.runs_dir", tmp.toString(), "--run.name", "cli", "--run.steps", "2", "--model.n_layer", "1", "--model.n_embd", "16",
                "--model.n_head", "2", "--model.block_size", "8", "--data.batch_size", "2", "--eval.batches", "1", "--run.threads", "1"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void trainWithCheckpointsThenExportToHuggingFace() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(run(out, err, train("--checkpoint.every", "1"))).as("%s", err).isZero();
        Path ckpts = tmp.resolve("cli/checkpoints");
        assertThat(ckpts.resolve("step-00000002/manifest.json")).exists();
        Path hf = tmp.resolve("hf");
        StringWriter eout = new StringWriter(), eerr = new StringWriter();
        assertThat(run(eout, eerr, "export", "--hf", hf.toString(), "--checkpoint", ckpts.toString())).as("%s", eerr).isZero();
        assertThat(hf.resolve("model.safetensors")).exists();
        assertThat(hf.resolve("config.json")).exists();
        assertThat(hf.resolve("tokenizer.json")).exists();
    }

    /** A prompt longer than the model's context is refused before anything is printed. */
    @Test
    void aPromptLongerThanTheContextIsRefusedBeforeItIsPrinted() {
        assertThat(run(new StringWriter(), new StringWriter(), train())).isZero();
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        try {
            System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
            StringWriter err = new StringWriter();
            String longPrompt = "and so on ".repeat(40);
            assertThat(run(new StringWriter(), err, "generate", "--checkpoint", tmp.resolve("cli/model").toString(), "--prompt", longPrompt))
                    .isEqualTo(2);
            assertThat(err.toString()).contains("the prompt is", "block_size is 8", "shorten the prompt");
            assertThat(printed.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("and so on");
        } finally {
            System.setOut(saved);
        }
    }

    /** generate reads a checkpoint step directory, a checkpoints folder and a run directory as well as the model directory: the same text. */
    @Test
    void generateFromACheckpoint() throws Exception {
        assertThat(run(new StringWriter(), new StringWriter(), train("--checkpoint.every", "2"))).isZero();
        String fromModel = generate(tmp.resolve("cli/model"));
        assertThat(fromModel).startsWith("ROMEO:").hasSizeGreaterThan("ROMEO:".length());
        for (Path p : new Path[] {tmp.resolve("cli/checkpoints/step-00000002"), tmp.resolve("cli/checkpoints"), tmp.resolve("cli")}) {
            assertThat(generate(p)).as("generate --checkpoint %s", p).isEqualTo(fromModel);
        }
    }

    private String generate(Path from) throws Exception {
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream original = System.out;
        StringWriter err = new StringWriter();
        int code;
        try {
            System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            code = run(new StringWriter(), err, "generate", "--checkpoint", from.toString(), "--prompt", "ROMEO:", "--max-tokens", "5",
                    "--temperature", "0");
        } finally {
            System.setOut(original);
        }
        assertThat(code).as("%s", err).isZero();
        return captured.toString(java.nio.charset.StandardCharsets.UTF_8).strip();
    }

    @Test
    void resumeFromAMissingOrIncompleteCheckpointIsOneClearLine() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        assertThat(run(out, err, train("--checkpoint.resume", tmp.resolve("nope").toString()))).isNotZero();
        assertThat(err.toString().strip()).startsWith("tandem: ").contains("nope", "does not exist").doesNotContain("\tat ");
        Files.createDirectories(tmp.resolve("half/step-00000005"));
        StringWriter err2 = new StringWriter();
        assertThat(run(new StringWriter(), err2, train("--checkpoint.resume", tmp.resolve("half/step-00000005").toString()))).isNotZero();
        assertThat(err2.toString().strip()).contains("step-00000005", "incomplete");
        StringWriter err3 = new StringWriter();
        assertThat(run(new StringWriter(), err3, "export", "--hf", tmp.resolve("x").toString(), "--checkpoint",
                tmp.resolve("half/step-00000005").toString())).isNotZero();
        assertThat(err3.toString().strip()).startsWith("tandem: ").contains("incomplete");
    }
}
