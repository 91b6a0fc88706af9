package dev.tandem.plan.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Iteration-level batching (Orca, vLLM) on one replica: before every iteration the scheduler
 * admits waiting requests in arrival order while the batch has room ({@value #MAX_SEQUENCES}
 * sequences, {@value #MAX_PREFILL_TOKENS} prompt tokens per iteration, vLLM's defaults) and the KV
 * cache can hold the request's prompt and whole output (reserved on admission, so nothing is ever
 * preempted); admitted requests prefill their prompt and emit their first token at the end of that
 * iteration, running ones decode one token each; a request leaves, freeing its cache, with its
 * last token. A request larger than the whole cache is rejected.
 */
final class ReplicaSimulator {
    static final int MAX_SEQUENCES = 256;
    static final int MAX_PREFILL_TOKENS = 8192;

    /** What happened to one request: when its first and last token came out (NaN when rejected). */
    record Served(ServeRequest request, double firstToken, double finish) {
        boolean rejected() {
            return Double.isNaN(finish);
        }
    }

    /** The replica's log: each request's times, and the integral of requests in the system over time. */
    record Log(List<Served> served, double requestSeconds, double busySeconds, double end) {}

    private static final class Running {
        final ServeRequest r;
        int generated;
        double first;

        Running(ServeRequest r) {
            this.r = r;
        }
    }

    private ReplicaSimulator() {}

    static Log run(List<ServeRequest> requests, IterationCost cost, double kvTokens) {
        Deque<ServeRequest> arriving = new ArrayDeque<>(requests);
        Deque<ServeRequest> waiting = new ArrayDeque<>();
        List<Running> running = new ArrayList<>();
        List<Served> served = new ArrayList<>();
        double t = 0, kvUsed = 0, inSystemSeconds = 0, busy = 0;
        while (!arriving.isEmpty() || !waiting.isEmpty() || !running.isEmpty()) {
            while (!arriving.isEmpty() && arriving.peekFirst().arrival() <= t) waiting.addLast(arriving.pollFirst());
            if (waiting.isEmpty() && running.isEmpty()) {
                t = arriving.peekFirst().arrival();
                continue;
            }
            List<Running> admitted = new ArrayList<>();
            int prefillTokens = 0;
            while (!waiting.isEmpty() && running.size() + admitted.size() < MAX_SEQUENCES) {
                ServeRequest r = waiting.peekFirst();
                if (r.maxTokens() > kvTokens) { // can never fit: rejected, not queued forever
                    waiting.pollFirst();
                    served.add(new Served(r, Double.NaN, Double.NaN));
                    continue;
                }
                boolean first = admitted.isEmpty();
                if (kvUsed + r.maxTokens() > kvTokens || (!first && prefillTokens + r.prompt() > MAX_PREFILL_TOKENS)) break;
                waiting.pollFirst();
                kvUsed += r.maxTokens();
                prefillTokens += r.prompt();
                admitted.add(new Running(r));
            }
            if (admitted.isEmpty() && running.isEmpty()) {
                if (!waiting.isEmpty()) continue; // the head was rejected; look again
                t = arriving.isEmpty() ? t : Math.max(t, arriving.peekFirst().arrival());
                continue;
            }
            int[] prefill = admitted.stream().mapToInt(x -> x.r.prompt()).toArray();
            int[] decode = running.stream().mapToInt(x -> x.r.prompt() + x.generated).toArray();
            double dt = cost.seconds(prefill, decode);
            // Requests in the system during the iteration: those in the batch and those waiting,
            // plus each arrival during it from its arrival on.
            inSystemSeconds += (running.size() + admitted.size() + waiting.size()) * dt;
            double end = t + dt;
            for (ServeRequest a : arriving) {
                if (a.arrival() >= end) break;
                inSystemSeconds += end - a.arrival();
            }
            t = end;
            busy += dt;
            List<Running> next = new ArrayList<>();
            for (Running x : running) {
                x.generated++;
                if (x.generated == x.r.output()) {
                    served.add(new Served(x.r, x.first, t));
                    kvUsed -= x.r.maxTokens();
                } else {
                    next.add(x);
                }
            }
            for (Running x : admitted) {
                x.generated = 1;
                x.first = t;
                if (x.r.output() == 1) {
                    served.add(new Served(x.r, t, t));
                    kvUsed -= x.r.maxTokens();
                } else {
                    next.add(x);
                }
            }
            running = next;
        }
        return new Log(served, inSystemSeconds, busy, t);
    }
}
