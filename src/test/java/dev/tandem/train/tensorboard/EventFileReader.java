package dev.tandem.train.tensorboard;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a TensorBoard event file with code of its own, to check what {@link EventFile} writes: the
 * TFRecord framing with its own bitwise CRC32C and unmasking, and each Event parsed as a {@link
 * DynamicMessage} against a descriptor built here from TensorBoard's published schema (event.proto
 * {@code Event}: wall_time 1 double, step 2 int64, oneof what {file_version 3 string, summary 5};
 * summary.proto {@code Summary}: repeated Value value 1; {@code Value}: tag 1 string, oneof value
 * {simple_value 2 float}) — not the classes generated from Tandem's .proto.
 */
final class EventFileReader {
    /** One record: the file version (first record) or the scalars of one step. */
    record Event(double wallTime, long step, String fileVersion, Map<String, Float> scalars) {}

    /** A record whose framing, checksums or contents do not hold. */
    static final class CorruptEventFile extends IOException {
        CorruptEventFile(String message) {
            super(message);
        }
    }

    static final Descriptor EVENT;
    private static final FieldDescriptor WALL_TIME, STEP, FILE_VERSION, SUMMARY, VALUE, TAG, SIMPLE_VALUE;

    static {
        DescriptorProto value = DescriptorProto.newBuilder().setName("Value")
                .addField(field("tag", 1, Type.TYPE_STRING))
                .addField(field("simple_value", 2, Type.TYPE_FLOAT).setOneofIndex(0))
                .addOneofDecl(OneofDescriptorProto.newBuilder().setName("value"))
                .build();
        DescriptorProto summary = DescriptorProto.newBuilder().setName("Summary").addNestedType(value)
                .addField(field("value", 1, Type.TYPE_MESSAGE).setLabel(Label.LABEL_REPEATED).setTypeName(".tensorflow.Summary.Value"))
                .build();
        DescriptorProto event = DescriptorProto.newBuilder().setName("Event")
                .addField(field("wall_time", 1, Type.TYPE_DOUBLE))
                .addField(field("step", 2, Type.TYPE_INT64))
                .addField(field("file_version", 3, Type.TYPE_STRING).setOneofIndex(0))
                .addField(field("summary", 5, Type.TYPE_MESSAGE).setTypeName(".tensorflow.Summary").setOneofIndex(0))
                .addOneofDecl(OneofDescriptorProto.newBuilder().setName("what"))
                .build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder().setName("event.proto").setPackage("tensorflow").setSyntax("proto3")
                .addMessageType(event).addMessageType(summary).build();
        try {
            FileDescriptor fd = FileDescriptor.buildFrom(file, new FileDescriptor[0]);
            EVENT = fd.findMessageTypeByName("Event");
            Descriptor sum = fd.findMessageTypeByName("Summary");
            Descriptor val = sum.findNestedTypeByName("Value");
            WALL_TIME = EVENT.findFieldByNumber(1);
            STEP = EVENT.findFieldByNumber(2);
            FILE_VERSION = EVENT.findFieldByNumber(3);
            SUMMARY = EVENT.findFieldByNumber(5);
            VALUE = sum.findFieldByNumber(1);
            TAG = val.findFieldByNumber(1);
            SIMPLE_VALUE = val.findFieldByNumber(2);
        } catch (DescriptorValidationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private EventFileReader() {}

    private static FieldDescriptorProto.Builder field(String name, int number, Type type) {
        return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type).setLabel(Label.LABEL_OPTIONAL);
    }

    /** Every record of {@code file}, in order; any length, checksum or parse error is a {@link CorruptEventFile} naming the offset. */
    static List<Event> read(Path file) throws IOException {
        return read(Files.readAllBytes(file));
    }

    static List<Event> read(byte[] bytes) throws CorruptEventFile {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> out = new ArrayList<>();
        while (in.hasRemaining()) {
            int at = in.position();
            if (in.remaining() < 12) throw new CorruptEventFile("truncated record header at byte " + at);
            long length = in.getLong();
            if (unmask(in.getInt()) != crc32c(bytes, at, 8)) throw new CorruptEventFile("length CRC mismatch at byte " + at);
            if (length < 0 || length > in.remaining() - 4) throw new CorruptEventFile("truncated record at byte " + at + " (length " + length + ")");
            int data = in.position();
            in.position(data + (int) length);
            if (unmask(in.getInt()) != crc32c(bytes, data, (int) length)) throw new CorruptEventFile("data CRC mismatch at byte " + at);
            try {
                out.add(event(DynamicMessage.parseFrom(EVENT, ByteString.copyFrom(bytes, data, (int) length))));
            } catch (InvalidProtocolBufferException e) {
                throw new CorruptEventFile("record at byte " + at + " is not an Event: " + e.getMessage());
            }
        }
        return out;
    }

    private static Event event(DynamicMessage m) {
        Map<String, Float> scalars = new LinkedHashMap<>();
        if (m.hasField(SUMMARY)) {
            DynamicMessage summary = (DynamicMessage) m.getField(SUMMARY);
            for (int i = 0; i < summary.getRepeatedFieldCount(VALUE); i++) {
                DynamicMessage v = (DynamicMessage) summary.getRepeatedField(VALUE, i);
                if (!v.hasField(SIMPLE_VALUE)) throw new IllegalStateException("value " + v.getField(TAG) + " has no simple_value");
                scalars.put((String) v.getField(TAG), (Float) v.getField(SIMPLE_VALUE));
            }
        }
        return new Event((Double) m.getField(WALL_TIME), (Long) m.getField(STEP),
                m.hasField(FILE_VERSION) ? (String) m.getField(FILE_VERSION) : null, scalars);
    }

    /** CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit. */
    static int crc32c(byte[] b, int off, int len) {
        int crc = ~0;
        for (int i = off; i < off + len; i++) {
            crc ^= b[i] & 0xff;
            for (int k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82F63B78 & -(crc & 1));
        }
        return ~crc;
    }

    /** The inverse of TFRecord's mask (rotate right by 15, add 0xa282ead8). */
    static int unmask(int masked) {
        int rotated = masked - 0xa282ead8;
        return (rotated >>> 17) | (rotated << 15);
    }

    /** The event files of a {@code tb/} folder, in name order (the order TensorBoard reads them). */
    static List<Path> files(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().contains("tfevents")).sorted().toList();
        }
    }
}
