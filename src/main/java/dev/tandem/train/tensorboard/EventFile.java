package dev.tandem.train.tensorboard;

import dev.tandem.TandemException;
import dev.tandem.train.tensorboard.proto.Event;
import dev.tandem.train.tensorboard.proto.Summary;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file being written: a sequence of TFRecords, each one protobuf {@link Event}
 * (messages generated from {@code src/main/proto/tensorboard_event.proto}), framed as
 *
 * <pre>
 *   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | length bytes of Event | uint32 masked CRC32C of them
 * </pre>
 *
 * with masked CRC = ((crc >>> 15) | (crc << 17)) + 0xa282ead8. The first record is the file
 * version {@value #FILE_VERSION}. Each record goes to the operating system in one write before
 * {@link #scalars} returns, so a run that dies keeps every record written before it; a record that
 * could not be written whole is the last one (nothing is appended after it), which TensorBoard reads
 * as a file that ends early.
 */
public final class EventFile implements AutoCloseable {
    /** The file-version record every TensorBoard event file starts with. */
    public static final String FILE_VERSION = "brain.Event:2";
    /** What TensorBoard looks for in a file name to read it as events. */
    public static final String NAME_PREFIX = "events.out.tfevents.";

    private static final int MASK_DELTA = 0xa282ead8;

    private final Path path;
    private final FileChannel channel;
    private boolean broken; // a write failed part-way: the file ends there

    private EventFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /**
     * A new event file in {@code dir} (created if missing), named {@code
     * events.out.tfevents.<unix seconds>.<host>}, with {@code .1}, {@code .2}, ... appended if that
     * name is taken; a file of a later invocation sorts after the earlier ones, the order in which
     * TensorBoard reads a folder.
     */
    public static EventFile create(Path dir) {
        try {
            Files.createDirectories(dir);
            String base = NAME_PREFIX + System.currentTimeMillis() / 1000 + "." + hostName();
            for (int n = 0; ; n++) {
                Path p = dir.resolve(n == 0 ? base : base + "." + n);
                FileChannel channel;
                try {
                    channel = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException taken) {
                    continue; // the same second on the same host: the next suffix
                }
                EventFile f = new EventFile(p, channel);
                try {
                    f.write(Event.newBuilder().setWallTime(now()).setFileVersion(FILE_VERSION).build());
                } catch (IOException e) {
                    try (channel) {
                        throw e;
                    }
                }
                return f;
            }
        } catch (IOException e) {
            throw new TandemException("cannot create a TensorBoard event file in " + dir + ": " + e.getMessage()
                    + " (run.tensorboard = false turns TensorBoard files off)", e);
        }
    }

    public Path path() {
        return path;
    }

    /** Appends one record: the scalars {@code tag → value} at {@code step} (as float32, TensorBoard's precision), in map order. */
    public void scalars(long step, Map<String, Double> values) {
        Summary.Builder summary = Summary.newBuilder();
        values.forEach((tag, v) -> summary.addValue(Summary.Value.newBuilder().setTag(tag).setSimpleValue(v.floatValue())));
        try {
            write(Event.newBuilder().setWallTime(now()).setStep(step).setSummary(summary).build());
        } catch (IOException e) {
            throw new TandemException("cannot write TensorBoard events to " + path + ": " + e.getMessage()
                    + " (run.tensorboard = false turns TensorBoard files off)", e);
        }
    }

    private void write(Event event) throws IOException {
        if (broken) throw new IOException("an earlier record could not be written whole; the file ends there");
        byte[] data = event.toByteArray();
        ByteBuffer record = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        record.putLong(data.length);
        record.putInt(maskedCrc(record.array(), 0, 8));
        record.put(data);
        record.putInt(maskedCrc(data, 0, data.length));
        record.flip();
        broken = true;
        while (record.hasRemaining()) channel.write(record);
        broken = false;
    }

    /** The CRC32C of {@code len} bytes at {@code off}, masked as TFRecord files store it. */
    static int maskedCrc(byte[] b, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(b, off, len);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    private static double now() {
        return System.currentTimeMillis() / 1e3;
    }

    /** This host's name as a file name can hold it (TensorBoard's writers put it there); "localhost" if it cannot be had. */
    private static String hostName() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (IOException | SecurityException e) {
            h = System.getenv().getOrDefault("HOSTNAME", "localhost");
        }
        h = h.replaceAll("[^A-Za-z0-9._-]", "_");
        return h.isEmpty() ? "localhost" : h;
    }

    /** Forces what was written to the disk and closes the file. */
    @Override
    public void close() {
        try (channel) {
            if (!broken) channel.force(true);
        } catch (IOException e) {
            throw new TandemException("cannot close TensorBoard event file " + path + ": " + e.getMessage(), e);
        }
    }
}
