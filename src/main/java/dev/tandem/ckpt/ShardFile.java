package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writes one rank's pieces as a safetensors file, atomically: a temporary name, fsync, rename,
 * fsync of the directory. The header's {@code __metadata__} carries what rank 0 needs to build
 * the manifest without talking to the other ranks: each piece's logical range and CRC32C, and the
 * id of the save (so a file left by an earlier, crashed attempt at the same step is never mistaken
 * for this one's).
 */
final class ShardFile {
    static final String META_PIECES = "tandem.pieces";
    static final String META_SAVE_ID = "tandem.save_id";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ShardFile() {}

    /** Writes {@code pieces} to {@code file}; {@code crcs} holds each piece's CRC32C (same order). */
    static void write(Path file, List<Piece> pieces, List<String> crcs, String saveId, CrashPoint crash) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        ArrayNode described = JSON.createArrayNode();
        long offset = 0;
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            ObjectNode n = header.putObject(p.name());
            n.put("dtype", SafeTensors.code(p.dtype()));
            ArrayNode shape = n.putArray("shape");
            for (int d : p.shape()) shape.add(d);
            long size = p.bytes().byteSize();
            n.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
            ObjectNode d = described.addObject();
            d.put("name", p.name());
            d.put("param", p.param());
            d.put("offset", p.offset());
            d.put("length", p.length());
            d.put("state", p.state());
            d.put("key", p.key());
            d.put("crc32c", crcs.get(i));
            if (p.split() != null) d.set("split", splitJson(p.split()));
        }
        meta.put(META_PIECES, JSON.writeValueAsString(described));
        meta.put(META_SAVE_ID, saveId);
        byte[] json = JSON.writeValueAsBytes(header);
        int pad = (8 - json.length % 8) % 8; // tensor data stays 8-byte aligned
        ByteBuffer head = ByteBuffer.allocate(8 + json.length + pad).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(json.length + pad).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        crash.reach("shard:open");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, head);
            crash.reach("shard:header");
            for (Piece p : pieces) {
                long chunk = 1L << 30;
                for (long at = 0; at < p.bytes().byteSize(); at += chunk) {
                    writeFully(ch, p.bytes().asSlice(at, Math.min(chunk, p.bytes().byteSize() - at)).asByteBuffer());
                }
                crash.reach("shard:tensor " + p.name());
            }
            ch.force(true);
        }
        crash.reach("shard:fsynced");
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        crash.reach("shard:renamed");
        syncDirectory(file.getParent());
    }

    /** A tensor-parallel part as the manifest records it. */
    private static ObjectNode splitJson(dev.tandem.nn.Split s) {
        ObjectNode n = JSON.createObjectNode();
        ArrayNode full = n.putArray("full_shape");
        for (int d : s.fullShape()) full.add(d);
        n.put("dim", s.dim());
        n.put("blocks", s.blocks());
        n.put("index", s.index());
        n.put("count", s.count());
        return n;
    }

    static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** Makes a rename durable: fsync the directory that holds the new name (a no-op where the OS refuses). */
    static void syncDirectory(Path dir) {
        dev.tandem.io.AtomicFiles.syncDirectory(dir);
    }
}
