package dev.tandem.launch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * "Hosts" for tests that must cross a real network: one Linux network namespace per host, each
 * joined to a bridge of its own by a veth pair, addresses 10.231.X.(h+1)/24. Ranks started in a
 * host talk to the others over TCP through the kernel's network stack, where traffic control can
 * slow a host's link ({@link #limitAll}) or only its traffic towards one other host
 * ({@link #limitTowards}). Needs root and the {@code ip} and {@code tc} tools; {@link #unavailable}
 * says why not where they are missing. Everything made is removed by {@link #close}.
 */
final class VirtualHosts implements AutoCloseable {
    private final String id;
    private final int subnet;
    private final int hosts;
    private final List<String> made = new ArrayList<>();

    private VirtualHosts(int hosts) {
        this.hosts = hosts;
        this.subnet = (int) (ProcessHandle.current().pid() % 200) + 20;
        this.id = Integer.toString(subnet);
    }

    /** Why namespaces cannot be made here (not root, no {@code ip}/{@code tc}, no permission), or null when they can. */
    static String unavailable() {
        if (!"root".equals(System.getProperty("user.name"))) return "network namespaces need root (running as " + System.getProperty("user.name") + ")";
        try {
            if (run("tc", "-V") != 0) return "no working 'tc' tool";
            String ns = "tandem-probe-" + ProcessHandle.current().pid();
            if (run("ip", "netns", "add", ns) != 0) return "'ip netns add' failed (no permission to make network namespaces)";
            run("ip", "netns", "del", ns);
            return null;
        } catch (IOException e) {
            return "no 'ip' or 'tc' tool: " + e.getMessage();
        }
    }

    /** Makes {@code hosts} namespaces on one bridge. */
    static VirtualHosts create(int hosts) throws IOException {
        VirtualHosts v = new VirtualHosts(hosts);
        try {
            v.must("ip", "link", "add", v.bridge(), "type", "bridge");
            v.made.add("link:" + v.bridge());
            v.must("ip", "link", "set", v.bridge(), "up");
            for (int h = 0; h < hosts; h++) {
                String ns = v.namespace(h), outside = "tv" + v.id + "h" + h;
                v.must("ip", "netns", "add", ns);
                v.made.add("netns:" + ns);
                v.must("ip", "link", "add", outside, "type", "veth", "peer", "name", v.device(h));
                v.made.add("link:" + outside);
                v.must("ip", "link", "set", v.device(h), "netns", ns);
                v.must("ip", "link", "set", outside, "master", v.bridge());
                v.must("ip", "link", "set", outside, "up");
                v.must("ip", "netns", "exec", ns, "ip", "addr", "add", v.address(h) + "/24", "dev", v.device(h));
                v.must("ip", "netns", "exec", ns, "ip", "link", "set", v.device(h), "up");
                v.must("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            }
        } catch (IOException | RuntimeException e) {
            v.close();
            throw e;
        }
        return v;
    }

    String address(int host) {
        return "10.231." + subnet + "." + (host + 1);
    }

    /** Limits everything host {@code host} sends to {@code rate} (tc syntax, e.g. "4mbit"): a slow endpoint. */
    void limitAll(int host, String rate) throws IOException {
        must("ip", "netns", "exec", namespace(host), "tc", "qdisc", "add", "dev", device(host), "root", "tbf", "rate", rate,
                "burst", "1600", "latency", "2s");
    }

    /** Limits only what host {@code host} sends to host {@code to}: one slow link. */
    void limitTowards(int host, int to, String rate) throws IOException {
        String ns = namespace(host), dev = device(host);
        must("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10");
        must("ip", "netns", "exec", ns, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
        must("ip", "netns", "exec", ns, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:20", "htb", "rate", rate);
        must("ip", "netns", "exec", ns, "tc", "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                "match", "ip", "dst", address(to) + "/32", "flowid", "1:20");
    }

    /** Starts {@code command} in host {@code host} with {@code env} added to this process's environment. */
    Process start(int host, List<String> command, Map<String, String> env, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace(host)));
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    int hosts() {
        return hosts;
    }

    private String bridge() {
        return "tb" + id;
    }

    private String namespace(int host) {
        return "tandem-" + id + "-h" + host;
    }

    private String device(int host) {
        return "tv" + id + "p" + host;
    }

    private void must(String... cmd) throws IOException {
        int rc = run(cmd);
        if (rc != 0) throw new IOException(String.join(" ", cmd) + " exited with " + rc);
    }

    private static int run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return -1;
        }
    }

    /** Removes the namespaces (and with them their ends of the veth pairs) and the bridge. */
    @Override
    public void close() {
        for (String m : made.reversed()) {
            try {
                if (m.startsWith("netns:")) run("ip", "netns", "del", m.substring(6));
                else run("ip", "link", "del", m.substring(5));
            } catch (IOException e) {
                // best effort: the next item may still go
            }
        }
    }
}
