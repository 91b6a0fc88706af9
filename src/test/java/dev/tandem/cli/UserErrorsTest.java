package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every command, given what a user gets wrong: the exit code, a message that names the key or the
 * file (and the fix where there is one), and no stack trace. {@code {tmp}} stands for a fresh folder.
 */
class UserErrorsTest {
    @TempDir Path tmp;

    private record Run(int exit, String out, String err) {}

    private Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "train --run.steps many | 2 | config key 'run.steps' has a value of the wrong type",
            "train --steps 5 | 2 | --steps is now --run.steps",
            "train --parallel.dp 0 | 2 | dp, tp and pp must be >= 1",
            "train --parallel.precision mixed | 2 | the runtime trains in float32",
            "train --config {tmp}/missing.toml | 2 | config file not found: {tmp}/missing.toml",
            "train --run.runs_dir {tmp} --data.batch_size 100000 --eval.batches 1 | 2 | the planner predicts",
            "train --run.runs_dir {tmp} --data.corpus {tmp}/none.txt | 2 | {tmp}/none.txt",
            "generate --checkpoint {tmp}/none --prompt hi | 2 | {tmp}/none",
            "generate --checkpoint {tmp}/none | 2 | Missing required option: '--prompt",
            "export --hf {tmp}/hf --checkpoint {tmp}/none | 2 | {tmp}/none",
            "tokenizer train --corpus {tmp}/none.txt --vocab-size 300 --out {tmp}/tok | 2 | {tmp}/none.txt",
            "tokenizer train --corpus {tmp}/none.txt --vocab-size 10 --out {tmp}/tok | 2 | 257",
            "plan --model gpt5 --cluster 8xA100-80GB | 2 | unknown model 'gpt5'",
            "plan --model gpt3-125m --cluster lots | 2 | 1024xA100-80GB",
            "plan --model gpt3-125m --cluster 8xA100-80GB --compare mb=2 | 2 | key 'mb' is now micro_batches",
            "plan --model gpt3-125m --cluster 2xCPU | 2 | --calibrate",
            "bench optim --optimizers adam | 2 | unknown optimizer 'adam'",
            "finetune --from {tmp}/none | 2 | model directory {tmp}/none does not exist",
            "finetune --from {tmp} | 2 | no config.json in {tmp}",
            "finetune --from {tmp} --peqa 5 | 2 | no config.json in {tmp}",
            "no-such-command | 2 | Unmatched argument",
    })
    void aMistakeIsNamedWithoutAStackTrace(String command, int exit, String message) {
        String[] args = Arrays.stream(command.split(" ")).map(a -> a.replace("{tmp}", tmp.toString())).toArray(String[]::new);
        Run r = run(args);
        assertThat(r.exit()).as("exit code of %s: %s", command, r.err()).isEqualTo(exit);
        assertThat(r.err()).contains(message.replace("{tmp}", tmp.toString())).doesNotContain("Exception", "\tat ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"train", "finetune", "generate", "export", "tokenizer", "tokenizer train", "plan", "bench", "bench comm", "bench optim",
            "bench ckpt"})
    void everyCommandAnswersHelp(String command) {
        String[] args = (command + " --help").split(" ");
        Run r = run(args);
        assertThat(r.exit()).as("%s --help: %s", command, r.err()).isZero();
        assertThat(r.out()).contains("Usage: tandem " + command);
    }

    @org.junit.jupiter.api.Test
    void helpListsEveryCommandWithAnExample() {
        Run r = run("help");
        assertThat(r.exit()).isZero();
        for (String c : new String[] {"train", "generate", "export", "tokenizer", "plan", "bench"}) {
            assertThat(r.out()).containsPattern("(?m)^  " + c + " +\\S").contains("./tandem " + c);
        }
    }
}
