package dev.tandem.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes Hugging Face {@code tokenizer.json} files for byte-level BPE: model type
 * "BPE" with {@code vocab} (token string → id) and {@code merges} (either the old "a b" strings or
 * the newer ["a", "b"] pairs), a ByteLevel pre-tokenizer and decoder, and {@code added_tokens}.
 * GPT-2's own file has this shape, so it loads from a local path.
 *
 * <p>Settings we do not implement (a normalizer, add_prefix_space, BPE dropout, subword prefixes)
 * are refused with a message naming the key, rather than silently encoding differently.
 */
public final class TokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** One vocab entry and one merge per line, like Hugging Face writes it: readable, diffable. */
    private static final DefaultPrettyPrinter PRETTY = new DefaultPrettyPrinter()
            .withArrayIndenter(new DefaultIndenter("  ", "\n"))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"));

    private TokenizerJson() {}

    public static Tokenizer load(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new TandemException("tokenizer file " + file + " does not exist");
        } catch (JsonProcessingException e) {
            throw new TandemException(file + " is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ")");
        } catch (IOException e) {
            throw new TandemException("cannot read tokenizer file " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new TandemException(file + ": not a tokenizer.json object");
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new TandemException(file + ": " + e.getMessage(), e);
        }
    }

    public static Tokenizer parse(String json) {
        try {
            return parse(JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new TandemException("not valid tokenizer JSON: " + e.getOriginalMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new TandemException("tokenizer JSON: " + e.getMessage(), e);
        }
    }

    static Tokenizer parse(JsonNode root) {
        JsonNode model = root.path("model");
        if (!model.isObject()) throw new IllegalArgumentException("no \"model\" object");
        // GPT-2's file predates the "type" tag; a model with vocab and merges is BPE.
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw new IllegalArgumentException("model.type is \"" + type + "\"; only \"BPE\" is supported");
        requireNullOrEmpty(root, "normalizer");
        requireNullOrEmpty(model, "dropout");
        requireNullOrEmpty(model, "continuing_subword_prefix");
        requireNullOrEmpty(model, "end_of_word_suffix");
        if (model.path("ignore_merges").asBoolean(false)) {
            throw new IllegalArgumentException("model.ignore_merges is true; Tandem always applies merges (as GPT-2 does)");
        }
        checkByteLevel(root.path("pre_tokenizer"), "pre_tokenizer");
        checkByteLevel(root.path("decoder"), "decoder");

        Map<Integer, String> specials = new HashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            if (!t.path("id").canConvertToInt() || t.path("id").asInt() < 0 || !t.path("content").isTextual()) {
                throw new IllegalArgumentException("added_tokens entry " + t + " needs a non-negative \"id\" and a \"content\"");
            }
            specials.put(t.path("id").asInt(), t.path("content").asText());
        }

        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject()) throw new IllegalArgumentException("model.vocab is missing or not an object");
        Map<String, Integer> vocab = new HashMap<>();
        List<byte[]> tokenBytes = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            int id = e.getValue().asInt(-1);
            if (id < 0) throw new IllegalArgumentException("model.vocab[\"" + e.getKey() + "\"] is not a non-negative id");
            vocab.put(e.getKey(), id);
            if (specials.containsKey(id)) continue; // GPT-2 lists <|endoftext|> in both places
            byte[] bytes = ByteLevel.decode(e.getKey());
            if (bytes == null) {
                throw new IllegalArgumentException("model.vocab token \"" + e.getKey() + "\" has characters outside the byte-level alphabet");
            }
            while (tokenBytes.size() <= id) tokenBytes.add(null);
            if (tokenBytes.get(id) != null) throw new IllegalArgumentException("model.vocab uses id " + id + " twice");
            tokenBytes.set(id, bytes);
        }

        List<Merge> merges = new ArrayList<>();
        int rank = 0;
        for (JsonNode m : model.path("merges")) {
            String left;
            String right;
            if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else if (m.isTextual()) {
                // Byte-level token strings never contain a real space (it maps to 'Ġ').
                String[] parts = m.asText().split(" ", -1);
                if (parts.length != 2) throw new IllegalArgumentException("model.merges[" + rank + "] \"" + m.asText() + "\" is not \"left right\"");
                left = parts[0];
                right = parts[1];
            } else {
                throw new IllegalArgumentException("model.merges[" + rank + "] is neither \"a b\" nor [\"a\", \"b\"]");
            }
            Integer l = vocab.get(left);
            Integer r = vocab.get(right);
            Integer joined = vocab.get(left + right);
            if (l == null || r == null || joined == null) {
                throw new IllegalArgumentException("model.merges[" + rank + "] (\"" + left + "\", \"" + right
                        + "\") refers to a token not in model.vocab");
            }
            merges.add(new Merge(l, r, joined));
            rank++;
        }
        List<SpecialToken> specialTokens = new ArrayList<>();
        specials.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> specialTokens.add(new SpecialToken(e.getKey(), e.getValue())));
        return new Tokenizer(tokenBytes, merges, specialTokens);
    }

    private static void requireNullOrEmpty(JsonNode parent, String key) {
        JsonNode v = parent.path(key);
        if (v.isMissingNode() || v.isNull() || (v.isTextual() && v.asText().isEmpty())) return;
        throw new IllegalArgumentException("\"" + key + "\" is " + v + "; Tandem's BPE does not support it");
    }

    private static void checkByteLevel(JsonNode node, String key) {
        if (node.isMissingNode() || node.isNull()) return; // decoding bytes is what we do anyway
        if (!node.path("type").asText().equals("ByteLevel")) {
            throw new IllegalArgumentException(key + ".type is " + node.path("type") + "; only ByteLevel is supported");
        }
        if (node.path("add_prefix_space").asBoolean(false) && key.equals("pre_tokenizer")) {
            throw new IllegalArgumentException("pre_tokenizer.add_prefix_space is true; Tandem encodes without a prefix space");
        }
        if (!node.path("use_regex").asBoolean(true)) {
            throw new IllegalArgumentException(key + ".use_regex is false; Tandem always splits with GPT-2's pattern");
        }
    }

    /** The tokenizer as tokenizer.json text, with merges in the "a b" form every reader accepts. */
    public static String toJson(Tokenizer tok) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (SpecialToken s : tok.specialTokens()) {
            ObjectNode t = added.addObject();
            t.put("id", s.id());
            t.put("content", s.content());
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        root.set("post_processor", byteLevel(true, false));
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        List<byte[]> ordinary = tok.ordinaryTokens();
        for (int id = 0; id < ordinary.size(); id++) {
            if (ordinary.get(id) != null) vocab.put(ByteLevel.encode(ordinary.get(id)), id);
        }
        ArrayNode merges = model.putArray("merges");
        for (Merge m : tok.merges()) {
            merges.add(ByteLevel.encode(ordinary.get(m.left())) + " " + ByteLevel.encode(ordinary.get(m.right())));
        }
        try {
            return JSON.writer(PRETTY).writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", true);
        return n;
    }

    /** Writes {@code tokenizer.json} atomically (temp file, then rename) so a crash leaves no half file. */
    public static void save(Tokenizer tok, Path file) {
        dev.tandem.io.AtomicFiles.writeString(file, toJson(tok));
    }
}
