package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.Split;
import dev.tandem.plan.Plan;
import dev.tandem.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint opened for loading. {@link #open} trusts nothing: the manifest must parse and name
 * only files inside the directory; every file must have the size the manifest says; every tensor
 * must sit where the manifest says, with the dtype and shape it says, and its bytes must match
 * their CRC32C. Any failure is a {@link TandemException} naming the file and tensor. The pieces
 * stay mapped until {@link #close()}.
 */
public final class Checkpoint implements AutoCloseable {
    private final Path dir;
    private final JsonNode manifest;
    private final List<Piece> pieces = new ArrayList<>();
    private final List<SafeTensors.Reader> readers = new ArrayList<>();

    private Checkpoint(Path dir, JsonNode manifest) {
        this.dir = dir;
        this.manifest = manifest;
    }

    public static Checkpoint open(Path dir) {
        Path file = dir.resolve(Manifest.FILE);
        if (!Files.isDirectory(dir)) throw new TandemException("checkpoint " + dir + " does not exist");
        if (!Files.isRegularFile(file)) {
            throw new TandemException("checkpoint " + dir + " has no " + Manifest.FILE + ": it is incomplete (its save did not finish)");
        }
        JsonNode m;
        try {
            m = Manifest.JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TandemException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (!Manifest.FORMAT.equals(m.path("format").asText())) {
            throw new TandemException(file + ": not a Tandem checkpoint manifest (format is '" + m.path("format").asText() + "')");
        }
        if (m.path("format_version").asInt() > Manifest.FORMAT_VERSION) {
            throw new TandemException(file + ": format version " + m.path("format_version").asInt()
                    + " is newer than this Tandem reads (" + Manifest.FORMAT_VERSION + ")");
        }
        if (!m.path("step").canConvertToLong()) throw new TandemException(file + ": missing 'step'");
        Checkpoint c = new Checkpoint(dir, m);
        try {
            c.verify();
        } catch (RuntimeException | IOException e) {
            c.close();
            if (e instanceof TandemException te) throw te;
            throw new TandemException("checkpoint " + dir + ": " + e.getMessage(), e);
        }
        return c;
    }

    private void verify() throws IOException {
        Map<String, SafeTensors.Reader> byFile = new LinkedHashMap<>();
        JsonNode files = manifest.path("files");
        if (!files.isObject() || files.isEmpty()) throw new TandemException(dir.resolve(Manifest.FILE) + ": lists no files");
        for (Iterator<Map.Entry<String, JsonNode>> it = files.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Path f = inside(e.getKey());
            if (!Files.isRegularFile(f)) throw new TandemException("checkpoint " + dir + ": file " + e.getKey() + " is missing");
            long size = Files.size(f), expected = e.getValue().path("bytes").asLong(-1);
            if (size != expected) {
                throw new TandemException(f + ": " + size + " bytes, but the manifest says " + expected + " (truncated or replaced)");
            }
            SafeTensors.Reader r = SafeTensors.read(f);
            readers.add(r);
            byFile.put(e.getKey(), r);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("tensors").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            pieces.add(piece(e.getKey(), e.getValue(), byFile));
        }
    }

    /** The file {@code name} in this checkpoint's directory; anything that would lead elsewhere is refused. */
    private Path inside(String name) {
        Path base = dir.toAbsolutePath().normalize();
        Path f = base.resolve(name).normalize();
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || !f.getParent().equals(base)) {
            throw new TandemException(dir.resolve(Manifest.FILE) + ": file name '" + name + "' escapes the checkpoint directory " + dir);
        }
        return f;
    }

    private Piece piece(String name, JsonNode t, Map<String, SafeTensors.Reader> byFile) {
        String file = t.path("file").asText();
        SafeTensors.Reader r = byFile.get(file);
        if (r == null) {
            inside(file);
            throw new TandemException(dir.resolve(Manifest.FILE) + ": tensor '" + name + "' is in file '" + file
                    + "', which the manifest does not list");
        }
        Path f = dir.resolve(file);
        SafeTensors.Entry e = r.entries().get(name);
        if (e == null) throw new TandemException(f + ": has no tensor '" + name + "' (the manifest says it does)");
        DType dtype = SafeTensors.dtype(t.path("dtype").asText(), f, name);
        int[] shape = new int[t.path("shape").size()];
        for (int i = 0; i < shape.length; i++) shape[i] = t.path("shape").get(i).asInt();
        long begin = t.path("data_offsets").path(0).asLong(-1), end = t.path("data_offsets").path(1).asLong(-1);
        if (dtype != e.dtype() || !Arrays.equals(shape, e.shape()) || end - begin != e.bytes().byteSize()) {
            throw new TandemException(f + ": tensor '" + name + "' is " + e.dtype() + Arrays.toString(e.shape()) + " ("
                    + e.bytes().byteSize() + " bytes) but the manifest says " + dtype + Arrays.toString(shape) + " ("
                    + (end - begin) + " bytes)");
        }
        long length = t.path("length").asLong(-1), offset = t.path("offset").asLong(-1);
        String param = t.path("param").asText(null);
        if (param == null || offset < 0 || length < 0) {
            throw new TandemException(dir.resolve(Manifest.FILE) + ": tensor '" + name + "' lacks param/offset/length");
        }
        String crc = Crc.of(e.bytes());
        if (!crc.equals(t.path("crc32c").asText())) {
            throw new TandemException(f + ": tensor '" + name + "' fails its checksum (CRC32C " + crc + ", manifest says "
                    + t.path("crc32c").asText() + "): the file is corrupt");
        }
        String state = t.path("state").isTextual() ? t.path("state").asText() : null;
        String key = t.path("key").isTextual() ? t.path("key").asText() : null;
        return new Piece(name, param, offset, length, state, key, dtype, shape, e.bytes(), split(name, t.path("split"), offset + length));
    }

    /** A tensor-parallel part ("split" in the manifest), or null for a piece of a whole parameter. */
    private Split split(String name, JsonNode n, long end) {
        if (n.isMissingNode() || n.isNull()) return null;
        String where = dir.resolve(Manifest.FILE) + ": tensor '" + name + "'";
        JsonNode full = n.path("full_shape");
        for (String k : new String[] {"dim", "blocks", "index", "count"}) {
            if (!n.path(k).canConvertToInt()) throw new TandemException(where + ": split." + k + " is missing");
        }
        if (!full.isArray() || full.isEmpty()) throw new TandemException(where + ": split.full_shape is missing");
        int[] shape = new int[full.size()];
        for (int i = 0; i < shape.length; i++) shape[i] = full.get(i).asInt(-1);
        Split s;
        try {
            s = new Split(shape, n.get("dim").asInt(), n.get("blocks").asInt(), n.get("index").asInt(), n.get("count").asInt());
        } catch (IllegalArgumentException e) {
            throw new TandemException(where + ": invalid split (" + e.getMessage() + ")");
        }
        if (end > s.localNumel()) throw new TandemException(where + ": elements up to " + end + " lie outside its part (" + s + ")");
        return s;
    }

    public Path dir() {
        return dir;
    }

    /** Optimizer steps completed when this checkpoint was taken. */
    public long step() {
        return manifest.path("step").asLong();
    }

    /** The whole manifest (model, plan, optimizer, rng, train_config, files, tensors). */
    public JsonNode manifest() {
        return manifest;
    }

    /** Every verified piece in the checkpoint. */
    public List<Piece> pieces() {
        return pieces;
    }

    /** The plan that wrote this checkpoint, or null for a checkpoint of format 1 or 2 (which did not store it whole). */
    public Plan plan() {
        if (manifest.path("format_version").asInt() < 3) return null;
        JsonNode p = manifest.path("plan");
        if (!(p instanceof ObjectNode o)) throw new TandemException(dir.resolve(Manifest.FILE) + ": 'plan' is missing");
        try {
            return Plan.fromJson(o, Plan.SINGLE);
        } catch (TandemException e) {
            throw new TandemException(dir.resolve(Manifest.FILE) + ": plan: " + e.getMessage(), e);
        }
    }

    /** Who wrote this checkpoint, in words: "4 rank(s), dp=2 tp=2 ..." (the label), or what a format 1–2 manifest says. */
    public String planDescription() {
        Plan p = plan();
        if (p != null) return p.worldSize() + " rank(s), " + p.label();
        JsonNode old = manifest.path("plan");
        int tp = old.path("tensor_parallel").asInt(1), pp = old.path("pipeline_parallel").asInt(1);
        return old.path("world_size").asInt() + " rank(s), ZeRO stage " + old.path("zero_stage").asInt() + (tp > 1 ? ", tp " + tp : "")
                + (pp > 1 ? ", pp " + pp : "");
    }

    public GPTConfig modelConfig() {
        JsonNode n = manifest.path("model");
        for (String k : new String[] {"n_layer", "n_head", "n_embd", "vocab_size", "block_size"}) {
            if (!n.path(k).canConvertToInt()) throw new TandemException(dir.resolve(Manifest.FILE) + ": model." + k + " is missing");
        }
        return MoEJson.read(n, new GPTConfig(n.get("n_layer").asInt(), n.get("n_head").asInt(), n.get("n_embd").asInt(),
                n.get("vocab_size").asInt(), n.get("block_size").asInt(), n.path("stable_embedding").asBoolean(false))
                .withParScale(n.path("parscale").asInt(1), n.path("parscale_prefix").asInt(0)));
    }

    /** The bits of the quantized linear layers of a PEQA run (manifest {@code model.peqa}), or 0 for a float model. */
    public int peqaBits() {
        return manifest.path("model").path("peqa").asInt(0);
    }

    /** The tokenizer.json saved with the checkpoint, or null. */
    public Path tokenizer() {
        String name = manifest.path("tokenizer").asText(null);
        if (name == null) return null;
        Path f = inside(name);
        return Files.isRegularFile(f) ? f : null;
    }

    @Override
    public void close() {
        readers.forEach(SafeTensors.Reader::close);
        readers.clear();
    }
}
