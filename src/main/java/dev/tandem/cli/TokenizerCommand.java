package dev.tandem.cli;

import dev.tandem.TandemException;
import dev.tandem.data.BpeTrainer;
import dev.tandem.data.CorpusReader;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import dev.tandem.train.Durations;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem tokenizer}: byte-level BPE tokenizers. */
@Command(name = "tokenizer", mixinStandardHelpOptions = true, header = "Train byte-level BPE tokenizers.",
        subcommands = {TokenizerCommand.Train.class})
final class TokenizerCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code tandem tokenizer train}: learns merges on a corpus and writes DIR/tokenizer.json. */
    @Command(name = "train", mixinStandardHelpOptions = true, header = "Learn a byte-level BPE on a UTF-8 corpus.",
            description = "Learn a GPT-2 style byte-level BPE on a UTF-8 corpus; writes DIR/tokenizer.json.")
    static final class Train implements Runnable {
        @Spec
        CommandSpec spec;

        @Option(names = "--corpus", required = true, paramLabel = "FILE", description = "UTF-8 text to learn from.")
        Path corpus;

        @Option(names = "--vocab-size", required = true, paramLabel = "N",
                description = "Total ids including 256 byte tokens and <|endoftext|> (257..1048576).")
        int vocabSize;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for tokenizer.json (created).")
        Path outDir;

        @Override
        public void run() {
            if (vocabSize < BpeTrainer.MIN_VOCAB || vocabSize > BpeTrainer.MAX_VOCAB) {
                throw new TandemException("--vocab-size " + vocabSize + " is out of range: it needs at least "
                        + BpeTrainer.MIN_VOCAB + " (256 byte tokens + <|endoftext|>) and at most " + BpeTrainer.MAX_VOCAB);
            }
            PrintWriter err = spec.commandLine().getErr();
            PrintWriter out = spec.commandLine().getOut();
            long t0 = System.nanoTime();
            Map<String, Long> words = new HashMap<>();
            long[] chars = {0};
            CorpusReader.Summary text = CorpusReader.read(corpus, chunk -> {
                BpeTrainer.countWords(chunk, words);
                long before = chars[0];
                chars[0] += chunk.length();
                if (chars[0] >> 26 != before >> 26) { // a line per 64 M characters on big corpora
                    err.printf("counting words: %,d M characters, %,d distinct words%n", chars[0] >> 20, words.size());
                    err.flush();
                }
            });
            if (text.bytes() == 0) throw new TandemException("corpus " + corpus + " is empty");
            err.printf("read %s: %,d bytes, %,d distinct words (%.1f s)%n", corpus, text.bytes(), words.size(), seconds(t0));
            err.flush();
            Tokenizer tok = BpeTrainer.train(words, vocabSize, new Progress(err));
            Path file = outDir.resolve("tokenizer.json");
            TokenizerJson.save(tok, file);
            int merges = tok.merges().size();
            long[] tokens = {0};
            CorpusReader.read(corpus, chunk -> tok.encode(chunk, id -> tokens[0]++));
            err.printf("the corpus encodes to %,d tokens (%.2f bytes/token)%n", tokens[0], (double) text.bytes() / tokens[0]);
            if (tok.vocabSize() < vocabSize) {
                err.printf("note: the corpus ran out of pairs to merge; vocabulary is %,d, not %,d%n", tok.vocabSize(), vocabSize);
            }
            out.printf("wrote %s: vocab %,d (%,d merges) in %.1f s%n", file, tok.vocabSize(), merges, seconds(t0));
            out.flush();
        }

        private static double seconds(long t0) {
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    /** Prints a line every 10% of merges, with the time left at the pace so far (a terminal would otherwise sit silent). */
    private static final class Progress implements BpeTrainer.Progress {
        private final PrintWriter err;
        private final long start = System.nanoTime();

        Progress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void merged(int done, int total) {
            int step = Math.max(1, total / 10);
            if (done % step == 0 || done == total) {
                double elapsed = (System.nanoTime() - start) / 1e9;
                err.printf("merges %,d/%,d (ETA %s)%n", done, total, Durations.clock(elapsed / done * (total - done)));
                err.flush();
            }
        }
    }
}
