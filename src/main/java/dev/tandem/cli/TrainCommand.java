package dev.tandem.cli;

import dev.tandem.TandemException;
import picocli.CommandLine.Command;

/** {@code tandem train}: trains a GPT on the embedded default or a config file. */
@Command(name = "train", description = "Train a GPT (default: small GPT on the bundled corpus).")
final class TrainCommand implements Runnable {
    @Override
    public void run() {
        throw new TandemException("training is not built yet: the GPT model and trainer land with the next issue.");
    }
}
