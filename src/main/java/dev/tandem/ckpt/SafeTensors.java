package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.TandemException;
import dev.tandem.tensor.DType;
import dev.tandem.tensor.Tensor;
import dev.tandem.io.AtomicFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors file format: an 8-byte little-endian header length, a JSON header mapping
 * each tensor name to its dtype, shape and byte range, then the raw little-endian bytes. No code
 * runs on load. Writes go to a temporary file that is fsynced and renamed, so a reader never
 * sees half a file.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Header size limit, as other readers of the format impose, against hostile files. */
    private static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {}

    /** A tensor read from a file: its dtype, shape and bytes (a slice of the mapped file). */
    public record Entry(DType dtype, int[] shape, MemorySegment bytes) {
        public Tensor asTensor() {
            return Tensor.wrap(bytes, dtype, shape);
        }
    }

    static String code(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case BF16 -> "BF16";
            case F16 -> "F16";
            case I8 -> "I8";
            case U8 -> "U8";
            case I32 -> "I32";
        };
    }

    static DType dtype(String code, Path file, String name) {
        return switch (code) {
            case "F32" -> DType.F32;
            case "BF16" -> DType.BF16;
            case "F16" -> DType.F16;
            case "I8" -> DType.I8;
            case "U8" -> DType.U8;
            case "I32" -> DType.I32;
            default -> throw new TandemException(file + ": tensor '" + name + "' has unsupported dtype " + code);
        };
    }

    /** Writes {@code tensors} (in map order) and string {@code metadata} atomically to {@code file}. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", code(t.dtype()));
            var shape = n.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            n.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int pad = (8 - json.length % 8) % 8; // keep tensor data 8-byte aligned
        byte[] padded = new byte[json.length + pad];
        System.arraycopy(json, 0, padded, 0, json.length);
        for (int i = json.length; i < padded.length; i++) padded[i] = ' ';

        AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(padded));
                for (Tensor t : tensors.values()) writeFully(ch, t.data().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** A mapped safetensors file; entries stay valid until {@link #close()}. */
    public static final class Reader implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final Map<String, Entry> entries = new LinkedHashMap<>();
        private final Map<String, String> metadata = new LinkedHashMap<>();

        private Reader(Path file) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 8) throw new TandemException(file + ": not a safetensors file (only " + size + " bytes)");
                MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
                if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                    throw new TandemException(file + ": corrupt safetensors header length " + headerLen + " (file is " + size + " bytes)");
                }
                byte[] json = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
                JsonNode header = JSON.readTree(new String(json, StandardCharsets.UTF_8));
                MemorySegment data = all.asSlice(8 + headerLen);
                for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getKey().equals("__metadata__")) {
                        e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                        continue;
                    }
                    entries.put(e.getKey(), entry(file, e.getKey(), e.getValue(), data));
                }
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                arena.close();
                throw new TandemException(file + ": safetensors header is not valid JSON (" + e.getOriginalMessage() + ")");
            } catch (RuntimeException | IOException e) {
                arena.close();
                throw e;
            }
        }

        private static Entry entry(Path file, String name, JsonNode n, MemorySegment data) {
            DType dtype = dtype(n.path("dtype").asText(), file, name);
            JsonNode shapeNode = n.path("shape");
            int[] shape = new int[shapeNode.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asInt(-1);
                if (shape[i] < 0) throw new TandemException(file + ": tensor '" + name + "' has a negative dimension");
                numel = Math.multiplyExact(numel, shape[i]);
            }
            long begin = n.path("data_offsets").path(0).asLong(-1), end = n.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end < begin || end > data.byteSize()) {
                throw new TandemException(file + ": tensor '" + name + "' claims bytes [" + begin + ", " + end
                        + ") but the file holds " + data.byteSize() + " data bytes (truncated or corrupt)");
            }
            if (end - begin != dtype.bytes(numel)) {
                throw new TandemException(file + ": tensor '" + name + "' has " + (end - begin) + " bytes for shape "
                        + java.util.Arrays.toString(shape) + " " + dtype);
            }
            return new Entry(dtype, shape, data.asSlice(begin, end - begin));
        }

        public Map<String, Entry> entries() {
            return entries;
        }

        public Map<String, String> metadata() {
            return metadata;
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    public static Reader read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new TandemException("checkpoint file not found: " + file);
        return new Reader(file);
    }
}
