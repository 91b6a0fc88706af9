package dev.tandem.comm;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mutual authentication of every connection with the per-job secret (HMAC-SHA256 challenge and
 * response; the secret itself never crosses the wire):
 * <pre>
 *   server → client: "TNDM", nonce S
 *   client → server: nonce C, rank, purpose, HMAC(secret, "client" S C rank purpose)
 *   server → client: status (0 = accepted, 1 = refused), then if accepted HMAC(secret, "server" C S)
 * </pre>
 */
final class Handshake {
    static final int REGISTER = 0, CONTROL = 1, DATA = 2;
    private static final byte[] MAGIC = {'T', 'N', 'D', 'M'};
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Who connected and why. */
    record Peer(int rank, int purpose) {}

    /** The other side's credentials did not check out. */
    static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    private Handshake() {}

    static Peer server(SocketChannel ch, byte[] secret, long deadline) throws IOException {
        byte[] s = nonce();
        Wire.sendFrame(ch, concat(MAGIC, s), deadline);
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(Wire.recvFrame(ch, deadline)));
        byte[] c = in.readNBytes(32);
        int rank = in.readInt(), purpose = in.readInt();
        byte[] mac = in.readAllBytes();
        if (c.length != 32 || !MessageDigest.isEqual(mac, hmac(secret, "client", s, c, ints(rank, purpose)))) {
            Wire.sendFrame(ch, new byte[] {1}, deadline);
            throw new Refused("authentication failed (wrong TANDEM_JOB_SECRET?)");
        }
        Wire.sendFrame(ch, concat(new byte[] {0}, hmac(secret, "server", c, s)), deadline);
        return new Peer(rank, purpose);
    }

    static void client(SocketChannel ch, byte[] secret, int rank, int purpose, long deadline) throws IOException {
        byte[] hello = Wire.recvFrame(ch, deadline);
        if (hello.length != 36 || hello[0] != 'T' || hello[1] != 'N' || hello[2] != 'D' || hello[3] != 'M') {
            throw new IOException("the other side is not a Tandem rank");
        }
        byte[] s = java.util.Arrays.copyOfRange(hello, 4, 36);
        byte[] c = nonce();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(c);
        out.writeInt(rank);
        out.writeInt(purpose);
        out.write(hmac(secret, "client", s, c, ints(rank, purpose)));
        Wire.sendFrame(ch, bytes.toByteArray(), deadline);
        byte[] reply = Wire.recvFrame(ch, deadline);
        if (reply.length == 0 || reply[0] != 0) throw new Refused("refused our credentials: all ranks need the same TANDEM_JOB_SECRET");
        byte[] mac = java.util.Arrays.copyOfRange(reply, 1, reply.length);
        if (!MessageDigest.isEqual(mac, hmac(secret, "server", c, s))) {
            throw new Refused("failed to prove it knows the job secret: not our job's rank");
        }
    }

    private static byte[] nonce() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return b;
    }

    private static byte[] ints(int a, int b) {
        return java.nio.ByteBuffer.allocate(8).putInt(a).putInt(b).array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static byte[] hmac(byte[] secret, String role, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update(role.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            for (byte[] p : parts) mac.update(p);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
