package dev.tandem.comm;

import dev.tandem.TandemException;
import dev.tandem.tensor.ReductionKernels;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Builds the world group of one rank over TCP:
 * <ol>
 *   <li>rank 0 listens on MASTER_ADDR:MASTER_PORT; every other rank listens on an ephemeral port
 *       of its interface and registers (rank, host id, address) with rank 0;</li>
 *   <li>rank 0 answers everyone with the table of all ranks and a random job nonce;</li>
 *   <li>each pair connects (higher rank to lower): a control connection for heartbeats and, for
 *       peers on other hosts, a data connection; peers on the same host exchange shared-memory
 *       rings instead;</li>
 *   <li>listeners close: after setup nothing listens.</li>
 * </ol>
 * Every connection is authenticated with the job secret ({@link Handshake}); refused ones are
 * logged and do not count.
 */
public final class TcpRendezvous {
    private TcpRendezvous() {}

    /** One rank's registration: its host, where it listens, and the CPUs it may run on ({@link HostCpus}). */
    private record Entry(String hostId, String host, int port, String cpus) {}

    /** Joins the job {@code spec} describes, with the fast reductions. */
    public static ProcessGroup connect(BootstrapSpec spec) {
        return connect(spec, ReductionKernels.fast());
    }

    /** Joins the job {@code spec} describes; this rank's groups reduce with {@code reductions}. */
    public static ProcessGroup connect(BootstrapSpec spec, ReductionKernels reductions) {
        if (spec.worldSize() == 1) {
            return PeerGroup.world(new Endpoint(0, 1, new Link[1], spec.options(), reductions, PeerHealth.ALWAYS_OK, List.of(), false));
        }
        try {
            return new TcpRendezvous.Session(spec, reductions).run();
        } catch (IOException e) {
            throw new TandemException("rank " + spec.rank() + ": rendezvous failed: " + e.getMessage(), e);
        }
    }

    /** Identifies this host (and boot) so ranks on one host pick shared memory. */
    static String hostId() {
        String host = System.getenv("HOSTNAME");
        try {
            if (host == null) host = Files.readString(Path.of("/etc/hostname")).trim();
        } catch (IOException e) {
            host = "unknown";
        }
        try {
            return host + "/" + Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException e) {
            return host;
        }
    }

    private static final class Session {
        private final BootstrapSpec spec;
        private final int rank;
        private final int n;
        private final byte[] secret;
        private final long deadline;
        private final String master;
        private final ReductionKernels reductions;
        private int refused;

        Session(BootstrapSpec spec, ReductionKernels reductions) {
            this.spec = spec;
            this.reductions = reductions;
            this.rank = spec.rank();
            this.n = spec.worldSize();
            this.secret = spec.secret();
            this.deadline = System.nanoTime() + spec.rendezvousTimeout().toNanos();
            this.master = spec.masterAddr() + ":" + spec.masterPort();
        }

        ProcessGroup run() throws IOException {
            String hostId = hostId();
            Entry[] table;
            String nonce;
            ServerSocketChannel listener;
            if (rank == 0) {
                listener = bind(new InetSocketAddress(spec.masterAddr(), spec.masterPort()), true);
                table = new Entry[n];
                nonce = HexFormat.of().formatHex(random16()); // names this job's shared-memory files
                table[0] = new Entry(hostId, ((InetSocketAddress) listener.getLocalAddress()).getAddress().getHostAddress(),
                        ((InetSocketAddress) listener.getLocalAddress()).getPort(), HostCpus.allowedList());
                collectRegistrations(listener, table, nonce);
            } else {
                SocketChannel ch = connectTo(spec.masterAddr(), spec.masterPort(), 0, Handshake.REGISTER, true);
                String bindHost = spec.bindAddress() != null ? spec.bindAddress()
                        : ((InetSocketAddress) ch.getLocalAddress()).getAddress().getHostAddress();
                listener = bind(new InetSocketAddress(bindHost, 0), false);
                InetSocketAddress me = (InetSocketAddress) listener.getLocalAddress();
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                DataOutputStream out = new DataOutputStream(b);
                out.writeInt(n);
                out.writeUTF(hostId);
                out.writeUTF(me.getAddress().getHostAddress());
                out.writeInt(me.getPort());
                out.writeUTF(HostCpus.allowedList());
                out.writeUTF(spec.options().sharedSettings());
                Wire.sendFrame(ch, b.toByteArray(), deadline);
                DataInputStream in = new DataInputStream(new ByteArrayInputStream(recv(ch, "the table of ranks from rank 0")));
                if (in.readByte() != 0) throw new TandemException("rank " + rank + ": rank 0 rejected this rank: " + in.readUTF());
                nonce = in.readUTF();
                table = new Entry[n];
                for (int i = 0; i < n; i++) table[i] = new Entry(in.readUTF(), in.readUTF(), in.readInt(), in.readUTF());
                ch.close();
            }
            List<String> localCpus = new ArrayList<>();
            for (Entry e : table) if (e.hostId().equals(hostId)) localCpus.add(e.cpus());
            boolean oversubscribed = HostCpus.outnumbered(localCpus.size(), localCpus);
            Map<Integer, SocketChannel> control = new HashMap<>();
            Map<Integer, SocketChannel> data = new HashMap<>();
            boolean[] shm = new boolean[n];
            for (int p = 0; p < n; p++) shm[p] = p != rank && useShm(table[rank].hostId().equals(table[p].hostId()), p);
            try {
                for (int p = 0; p < rank; p++) {
                    control.put(p, connectTo(table[p].host(), table[p].port(), p, Handshake.CONTROL, false));
                    if (!shm[p]) data.put(p, connectTo(table[p].host(), table[p].port(), p, Handshake.DATA, false));
                }
                int expected = 0;
                for (int p = rank + 1; p < n; p++) expected += shm[p] ? 1 : 2;
                acceptPeers(listener, expected, control, data);
            } finally {
                listener.close(); // after setup nothing listens
            }
            Link[] links = new Link[n];
            List<AutoCloseable> resources = new ArrayList<>();
            setUpSharedMemory(shm, control, nonce, links, spec.options().ringCapacity(localCpus.size(), oversubscribed));
            for (var e : data.entrySet()) {
                SocketChannel ch = e.getValue();
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                links[e.getKey()] = new TcpLink(e.getKey(), ch);
            }
            Heartbeat hb = new Heartbeat(rank, control, spec.options().heartbeatInterval(), spec.options().heartbeatTimeout());
            resources.add(hb);
            return PeerGroup.world(new Endpoint(rank, n, links, spec.options(), reductions, hb, resources, oversubscribed));
        }

        private static byte[] random16() {
            byte[] b = new byte[16];
            new java.security.SecureRandom().nextBytes(b);
            return b;
        }

        private boolean useShm(boolean sameHost, int peer) {
            String t = spec.options().transport();
            if (t.equals("tcp")) return false;
            if (t.equals("shm") && !sameHost) {
                throw new TandemException("TANDEM_TRANSPORT=shm but rank " + peer + " is on another host");
            }
            return sameHost;
        }

        private ServerSocketChannel bind(InetSocketAddress addr, boolean isMaster) throws IOException {
            ServerSocketChannel s = ServerSocketChannel.open();
            try {
                s.bind(addr, 256);
            } catch (BindException e) {
                s.close();
                String what = addr.getHostString() + ":" + addr.getPort();
                throw new TandemException(isMaster
                        ? "rank 0 cannot listen on " + what + " for the rendezvous: " + e.getMessage()
                        + ". Another job may be using the port: set MASTER_PORT to a free one"
                        : "rank " + rank + " cannot listen on " + what + ": " + e.getMessage()
                        + ". Set TANDEM_BIND_ADDR to an address of this host");
            }
            s.configureBlocking(false);
            return s;
        }

        private byte[] recv(SocketChannel ch, String what) throws IOException {
            try {
                return Wire.recvFrame(ch, deadline);
            } catch (SocketTimeoutException e) {
                throw new TandemException("rank " + rank + ": timed out after " + secs() + " waiting for " + what);
            }
        }

        private String secs() {
            return String.format("%.1f s", spec.rendezvousTimeout().toNanos() / 1e9);
        }

        /** Connects and authenticates; retries while the listener is not up yet (rank 0 may start last). */
        private SocketChannel connectTo(String host, int port, int peer, int purpose, boolean retry) throws IOException {
            String where = "rank " + peer + " at " + host + ":" + port;
            while (true) {
                SocketChannel ch = SocketChannel.open();
                try {
                    long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                    ch.socket().connect(new InetSocketAddress(host, port), (int) Math.min(left, 10_000));
                    ch.configureBlocking(false);
                    Handshake.client(ch, secret, rank, purpose, deadline);
                    return ch;
                } catch (ConnectException | SocketTimeoutException e) {
                    ch.close();
                    if (!retry || System.nanoTime() - deadline > 0) {
                        throw new TandemException("rank " + rank + " could not reach " + where + " within " + secs()
                                + " (" + e.getMessage() + "): is it running, and do all ranks use the same MASTER_ADDR/MASTER_PORT?");
                    }
                    sleep(100);
                } catch (Handshake.Refused e) {
                    ch.close();
                    throw new TandemException("rank " + rank + ": " + where + " " + e.getMessage());
                } catch (IOException e) {
                    ch.close();
                    throw new TandemException("rank " + rank + ": connecting to " + where + " failed: " + e.getMessage());
                }
            }
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TandemException("interrupted during rendezvous");
            }
        }

        /** Accepts one authenticated connection, or null after logging a refused one. */
        private Map.Entry<Handshake.Peer, SocketChannel> acceptOne(ServerSocketChannel listener, Selector sel,
                                                                   String waitingFor) throws IOException {
            while (true) {
                SocketChannel ch = listener.accept();
                if (ch == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TandemException("rank " + rank + ": rendezvous timed out after " + secs() + ": "
                                + waitingFor + (refused > 0 ? " (" + refused + " connection(s) refused: wrong secret)" : ""));
                    }
                    sel.select(Math.max(1, left / 1_000_000));
                    sel.selectedKeys().clear();
                    continue;
                }
                ch.configureBlocking(false);
                try {
                    return Map.entry(Handshake.server(ch, secret, Math.min(deadline, System.nanoTime() + 10_000_000_000L)), ch);
                } catch (IOException e) {
                    refused++;
                    System.err.println("tandem: rank " + rank + " refused a connection from " + remote(ch) + ": " + e.getMessage());
                    ch.close();
                    return null;
                }
            }
        }

        private static String remote(SocketChannel ch) {
            try {
                return String.valueOf(ch.getRemoteAddress());
            } catch (IOException e) {
                return "?";
            }
        }

        private void collectRegistrations(ServerSocketChannel listener, Entry[] table, String nonce) throws IOException {
            Map<Integer, SocketChannel> regs = new HashMap<>();
            String problem = null;
            try (Selector sel = Selector.open()) {
                listener.register(sel, SelectionKey.OP_ACCEPT);
                while (regs.size() < n - 1) {
                    TreeSet<Integer> missing = new TreeSet<>();
                    for (int r = 1; r < n; r++) if (!regs.containsKey(r)) missing.add(r);
                    var got = acceptOne(listener, sel, "rank(s) " + missing + " never registered with rank 0 at " + master);
                    if (got == null) continue;
                    int r = got.getKey().rank();
                    SocketChannel ch = got.getValue();
                    if (got.getKey().purpose() != Handshake.REGISTER || r <= 0 || r >= n || regs.containsKey(r)) {
                        System.err.println("tandem: rank 0 ignored an unexpected connection claiming rank " + r);
                        ch.close();
                        continue;
                    }
                    DataInputStream in = new DataInputStream(new ByteArrayInputStream(recv(ch, "the registration of rank " + r)));
                    int theirN = in.readInt();
                    table[r] = new Entry(in.readUTF(), in.readUTF(), in.readInt(), in.readUTF());
                    String settings = in.readUTF();
                    if (theirN != n && problem == null) {
                        problem = "rank " + r + " says WORLD_SIZE=" + theirN + " but rank 0 has WORLD_SIZE=" + n;
                    }
                    if (!settings.equals(spec.options().sharedSettings()) && problem == null) problem = settingsDiffer(r, settings);
                    regs.put(r, ch);
                }
                listener.keyFor(sel).cancel();
                sel.selectNow();
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(b);
            if (problem != null) {
                out.writeByte(1);
                out.writeUTF(problem);
            } else {
                out.writeByte(0);
                out.writeUTF(nonce);
                for (Entry e : table) {
                    out.writeUTF(e.hostId());
                    out.writeUTF(e.host());
                    out.writeInt(e.port());
                    out.writeUTF(e.cpus());
                }
            }
            for (SocketChannel ch : regs.values()) {
                Wire.sendFrame(ch, b.toByteArray(), deadline);
                ch.close();
            }
            if (problem != null) throw new TandemException(problem);
        }

        /** The lines of a rank's communication settings ({@link CommOptions#sharedSettings}) that differ from rank 0's. */
        private String settingsDiffer(int r, String theirs) {
            List<String> mine = spec.options().sharedSettings().lines().toList(), their = theirs.lines().toList();
            List<String> differ = new ArrayList<>();
            for (int i = 0; i < mine.size(); i++) { // the same variables in the same order on every rank
                String m = mine.get(i);
                if (!m.equals(their.get(i))) differ.add(their.get(i) + " where rank 0 has " + m.substring(m.indexOf('=') + 1));
            }
            return "rank " + r + " runs with other communication settings than rank 0: " + String.join(", ", differ)
                    + ". Every rank of a job needs the same ones: set these variables alike for all ranks";
        }

        private void acceptPeers(ServerSocketChannel listener, int expected, Map<Integer, SocketChannel> control,
                                 Map<Integer, SocketChannel> data) throws IOException {
            int got = 0;
            try (Selector sel = Selector.open()) {
                listener.register(sel, SelectionKey.OP_ACCEPT);
                while (got < expected) {
                    TreeSet<Integer> missing = new TreeSet<>();
                    for (int p = rank + 1; p < n; p++) if (!control.containsKey(p)) missing.add(p);
                    var c = acceptOne(listener, sel, "rank(s) " + missing + " did not connect to rank " + rank);
                    if (c == null) continue;
                    int p = c.getKey().rank();
                    Map<Integer, SocketChannel> into = c.getKey().purpose() == Handshake.CONTROL ? control
                            : c.getKey().purpose() == Handshake.DATA ? data : null;
                    if (p <= rank || p >= n || into == null || into.containsKey(p)) {
                        System.err.println("tandem: rank " + rank + " ignored an unexpected connection from rank " + p);
                        c.getValue().close();
                        continue;
                    }
                    into.put(p, c.getValue());
                    got++;
                }
                listener.keyFor(sel).cancel();
                sel.selectNow();
            }
        }

        /**
         * For same-host peers: each rank creates the ring it reads from (one file per sender),
         * both sides map both rings (publishing their process id in the ring they write), then each
         * unlinks what it created and tests whether it can read the writer's memory for the
         * single-copy path ({@link ProcessMemory}). Four phases of write-to-all then
         * read-from-all, so the order of peers cannot deadlock.
         */
        private static void release(Map<Integer, ShmFile> inbox, Map<Integer, ShmFile> outbox) {
            inbox.values().forEach(f -> {
                f.unlink();
                f.close();
            });
            outbox.values().forEach(ShmFile::close);
        }

        private void setUpSharedMemory(boolean[] shm, Map<Integer, SocketChannel> control, String nonce, Link[] links,
                                       long ringCapacity) throws IOException {
            Path dir = spec.options().shmDirectory();
            long directMin = spec.options().singleCopyFrom(ringCapacity, true);
            long bytes = ByteRing.segmentBytes(ringCapacity);
            Map<Integer, ShmFile> inbox = new HashMap<>();
            Map<Integer, ShmFile> outbox = new HashMap<>();
            try {
                for (int p = 0; p < n; p++) {
                    if (!shm[p]) continue;
                    inbox.put(p, ShmFile.createReserved(dir.resolve("tandem-" + nonce + "-" + p + "to" + rank), bytes));
                    Wire.sendFrame(control.get(p), new byte[] {'R'}, deadline);
                }
                for (int p = 0; p < n; p++) {
                    if (!shm[p]) continue;
                    recv(control.get(p), "rank " + p + " to create its shared-memory ring");
                    outbox.put(p, ShmFile.open(dir.resolve("tandem-" + nonce + "-" + rank + "to" + p), bytes));
                    // Only where the path is on: loading it lets siblings read this process (PR_SET_PTRACER_ANY).
                    if (directMin != Long.MAX_VALUE) {
                        new ByteRing(outbox.get(p).segment()).publishWriter(ProcessHandle.current().pid(), ProcessMemory.probeWord());
                    }
                    Wire.sendFrame(control.get(p), new byte[] {'O'}, deadline);
                }
                for (int p = 0; p < n; p++) {
                    if (!shm[p]) continue;
                    recv(control.get(p), "rank " + p + " to map its shared-memory ring");
                    inbox.get(p).unlink();
                    // Can this rank read p's memory? p published its process id and a probe word in the ring p writes.
                    ByteRing ring = new ByteRing(inbox.get(p).segment());
                    String why = directMin == Long.MAX_VALUE ? "not used"
                            : ring.writerPid() == 0 ? "it did not offer it; is TANDEM_DIRECT_MIN_BYTES the same on every rank?"
                            : ProcessMemory.probe(ring.writerPid(), ring.writerProbe());
                    ring.setReaderCanRead(why == null);
                    if (why != null && directMin != Long.MAX_VALUE) {
                        System.err.println("tandem: rank " + rank + " cannot read rank " + p + "'s memory (" + why + "); its large "
                                + "messages will be copied through the shared-memory ring (twice) instead of read in place (once)");
                    }
                    Wire.sendFrame(control.get(p), new byte[] {'D'}, deadline);
                }
                for (int p = 0; p < n; p++) {
                    if (!shm[p]) continue;
                    recv(control.get(p), "rank " + p + " to test reading this rank's memory");
                }
            } catch (java.io.UncheckedIOException e) {
                release(inbox, outbox);
                long peers = java.util.stream.IntStream.range(0, n).filter(p -> shm[p]).count();
                throw new TandemException("rank " + rank + ": shared memory setup failed: " + e.getMessage() + " (each rank's rings take "
                        + bytes * peers + " bytes in " + dir + "; free space there, point TANDEM_SHM_DIR at a larger "
                        + "RAM-backed folder, lower TANDEM_RING_BYTES, or set TANDEM_TRANSPORT=tcp to avoid shared memory)");
            } catch (IOException | RuntimeException e) { // a peer failed meanwhile: leave no ring behind in /dev/shm
                release(inbox, outbox);
                throw e;
            }
            for (var e : inbox.entrySet()) {
                int p = e.getKey();
                ShmFile in = e.getValue(), out = outbox.get(p);
                ByteRing outRing = new ByteRing(out.segment()), inRing = new ByteRing(in.segment());
                DirectPath toPeer = outRing.readerCanRead() ? new ProcessMemory(ProcessHandle.current().pid(), rank) : null;
                DirectPath fromPeer = inRing.readerCanRead() ? new ProcessMemory(inRing.writerPid(), p) : null;
                links[p] = new RingLink(p, "shm", outRing, inRing, () -> {
                    in.close();
                    out.close();
                }, toPeer, fromPeer, directMin);
            }
        }
    }
}
