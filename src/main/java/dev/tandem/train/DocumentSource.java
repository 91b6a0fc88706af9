package dev.tandem.train;

import dev.tandem.TandemException;
import dev.tandem.data.DataSource;
import dev.tandem.data.DocumentTokens;
import dev.tandem.data.TokenDataset;
import dev.tandem.data.Tokenizer;
import dev.tandem.data.TokenizerJson;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A corpus of separate documents ({@code data.documents}: a folder of text files or a JSONL file
 * with a "text" field) and its tokenizer file ({@code data.tokenizer}, which must exist): encoded
 * once into a token cache that keeps the document boundaries (under {@code <run.runs_dir>/cache}),
 * the last {@code val_fraction} of the documents held out whole for validation. The trainer packs
 * each split into rows with per-document attention and positions.
 */
final class DocumentSource implements DataSource {
    private final String documents;
    private final String tokenizer;
    private final Path home;

    DocumentSource(String documents, String tokenizer, Path home) {
        this.documents = documents;
        this.tokenizer = tokenizer;
        this.home = home;
    }

    @Override
    public TokenDataset open(Context ctx) {
        Path docs = InputPaths.resolve(documents, "data.documents", home);
        Path tokFile = InputPaths.resolveOutput(tokenizer, home);
        if (!Files.isRegularFile(tokFile)) {
            throw new TandemException("data.tokenizer " + tokFile + " does not exist; a document corpus is encoded with an existing "
                    + "tokenizer: train one with './tandem tokenizer train' or point data.tokenizer at a tokenizer.json");
        }
        Tokenizer tok = TokenizerJson.load(tokFile);
        ctx.log().accept(String.format("tokenizer: %s (vocab %d)", tokFile, tok.vocabSize()));
        Path cache = ctx.cacheDir().resolve(docs.getFileName() + "." + tok.fingerprint().substring(0, 12) + ".docs");
        return TokenDataset.documents(DocumentTokens.openOrBuild(docs, tok, cache, ctx.log()), tok, ctx.validationFraction());
    }

    @Override
    public Path tokenizerFile() {
        return InputPaths.resolveOutput(tokenizer, home);
    }

    @Override
    public String describe() {
        try {
            return "documents in " + InputPaths.resolve(documents, "data.documents", home);
        } catch (TandemException e) {
            return "documents in " + documents;
        }
    }
}
