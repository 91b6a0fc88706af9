package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PlanCommandTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        StringWriter out = new StringWriter(), err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof dev.tandem.TandemException te) {
                commandLine.getErr().println("tandem: " + te.getMessage());
                return te.exitCode();
            }
            throw ex;
        });
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void printsRankedPlansWithBreakdownAndExplanation() {
        Run r = run("plan", "--model", "gpt3-1.3b", "--cluster", "16xA100-80G", "--global-batch", "256", "--top", "3");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Search", "Best plan:", "memory per device", "params", "activations",
                "exposed comm", "bubble", "MFU", "Why the next plans lose:", "#2 (");
    }

    @Test
    void jsonOutputParsesAndComparesAGivenPlan() throws Exception {
        Run r = run("plan", "--model", "megatron-7.5b", "--cluster", "128xA100-80GB", "--global-batch", "512", "--json",
                "--top", "2", "--compare", "tp=4 micro_batches=1 recompute=full");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertThat(root.get("plans")).hasSize(2);
        JsonNode best = root.get("plans").get(0);
        assertThat(best.get("timeSeconds").get("total").asDouble()).isPositive();
        assertThat(best.get("memoryBytes").get("total").asDouble()).isLessThanOrEqualTo(80e9);
        JsonNode compared = root.get("compared");
        assertThat(compared.get("plan").get("tp").asInt()).isEqualTo(4);
        assertThat(compared.get("timeSeconds").get("total").asDouble())
                .isGreaterThanOrEqualTo(best.get("timeSeconds").get("total").asDouble());
        assertThat(compared.get("vsBest").asText()).contains("slower");
        assertThat(compared.get("plan").get("dp").asInt()).as("dp fills the cluster").isEqualTo(32);
        assertThat(compared.get("plan").get("precision").asText()).isEqualTo("mixed");
    }

    @Test
    void aLabelOfTheEarlierFormIsAnsweredWithTheNewSpelling() {
        Run r = run("plan", "--model", "megatron-7.5b", "--cluster", "128xA100-80GB", "--global-batch", "512",
                "--compare", "tp=4 pp=1 mb=16");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("key 'mb' is now micro_batches").doesNotContain("Exception");
    }

    @Test
    void readsACustomTomlModel(@TempDir Path dir) throws Exception {
        Path toml = dir.resolve("tiny.toml");
        Files.writeString(toml, "[model]\nname = \"tiny\"\nlayers = 4\nhidden = 256\nheads = 4\nvocab = 1024\nseq = 128\n");
        Run r = run("plan", "--model", toml.toString(), "--cluster", "2xA100-40GB", "--global-batch", "8", "--top", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("tiny: 4 layers, hidden 256");
    }

    @Test
    void userErrorsAreOneLineWithExitTwo(@TempDir Path dir) throws Exception {
        assertThat(run("plan", "--model", "gpt5", "--cluster", "8xA100").err()).contains("unknown model 'gpt5'");
        assertThat(run("plan", "--model", "gpt3-125m", "--cluster", "8xTPU").exit()).isEqualTo(2);
        assertThat(run("plan", "--model", "gpt3-125m", "--cluster", "lots").err()).contains("1024xA100-80GB");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"layers\": 2, \"hidden\": 64, \"heads\": 4, \"vocab\": 100}");
        Run r = run("plan", "--model", bad.toString(), "--cluster", "1xA100");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("missing key 'seq'").hasLineCount(1);
        assertThat(run("plan", "--model", "gpt3-175b", "--cluster", "8xV100-32GB", "--global-batch", "8").err())
                .contains("no plan fits");
    }

    @Test
    void servePlansRankATraceAndRefuseABadOne(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("t.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 40; i++) lines.append("{\"arrival\": ").append(0.05 * i).append(", \"prompt\": 300, \"output\": 20}\n");
        Files.writeString(trace, lines);
        Run r = run("plan", "--serve", "--model", "llama2-7b", "--cluster", "4xH100", "--trace", trace.toString(), "--objective", "tpot");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Ranked by p90 time per output token").contains("dp=4 tp=1 pp=1").contains("TTFT p50 / p90 / p99");
        Files.writeString(trace, "{\"arrival\": 0, \"prompt\": 3, \"out\": 2}\n");
        Run bad = run("plan", "--serve", "--model", "llama2-7b", "--cluster", "4xH100", "--trace", trace.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown key 'out'").hasLineCount(1);
        assertThat(run("plan", "--serve", "--model", "llama2-7b", "--cluster", "4xH100").err()).contains("--serve needs --trace");
    }

    @Test
    void fp8AndFlashAttentionPlansAreComparedOnHopper() {
        Run r = run("plan", "--model", "llama3-8b", "--cluster", "8xH100", "--global-batch", "64", "--precision", "fp8", "--top", "1",
                "--compare", "zero=1 attention=flash recompute=none");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("precision fp8").contains("Your plan:").contains("attention=flash").contains("(8 for K and V), swiglu MLP");
        assertThat(run("plan", "--model", "llama3-8b", "--cluster", "8xA100", "--precision", "fp8", "--top", "1").err())
                .contains("FP8 GEMMs, which A100-80GB does not have");
    }
}
