package dev.tandem.parallel.context;

/**
 * One training sequence: input tokens and the targets they predict (the next tokens of the
 * document), of equal length. A target below 0 is not counted.
 */
public record TokenSequence(int[] inputs, int[] targets) {
    public TokenSequence {
        if (inputs.length != targets.length) throw new IllegalArgumentException(inputs.length + " inputs but " + targets.length + " targets");
        inputs = inputs.clone();
        targets = targets.clone();
    }

    /** A document of n + 1 tokens as a sequence of n: tokens 0 .. n − 1 predict 1 .. n. */
    public static TokenSequence of(int[] document) {
        if (document.length < 2) throw new IllegalArgumentException("a document of " + document.length + " tokens predicts nothing (needs >= 2)");
        return new TokenSequence(java.util.Arrays.copyOf(document, document.length - 1),
                java.util.Arrays.copyOfRange(document, 1, document.length));
    }

    public int length() {
        return inputs.length;
    }

    /** Targets that count (not negative). */
    public int counted() {
        int n = 0;
        for (int t : targets) if (t >= 0) n++;
        return n;
    }
}
