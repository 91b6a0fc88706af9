package dev.tandem.nn;

/**
 * One router decision over a call's tokens: softmax over the experts' logits, top-k choice,
 * capacity and dropping, the packed row of every kept assignment, and the two router losses.
 * Pure arithmetic on arrays, so tests can check it against hand-computed values.
 *
 * <ul>
 *   <li>Choice: the k most probable experts; a tie goes to the lower expert index.</li>
 *   <li>Gates: top-1 uses the probability itself (Switch); top-2 renormalises the two chosen
 *       probabilities to sum to 1 (GShard, Mixtral). A dropped assignment keeps its place in the
 *       renormalisation: the other gate does not grow.</li>
 *   <li>Capacity: all first choices in token order, then all second choices (GShard's priority);
 *       an assignment to an expert that already holds {@code capacity} rows is dropped.</li>
 *   <li>Load-balancing loss (Switch): {@code E · Σᵢ fᵢ·Pᵢ}, fᵢ = assignments chosen for expert i
 *       (before dropping) / (tokens·k), Pᵢ = mean router probability of i; 1 when balanced.</li>
 *   <li>Router z-loss (ST-MoE): mean over tokens of logsumexp(logits)².</li>
 * </ul>
 *
 * Assignment {@code a = t·k + j} is token t's j-th choice. Packed rows are grouped by expert in
 * expert order, and within an expert in assignment priority order.
 *
 * @param expert  per assignment, the chosen expert
 * @param gate    per assignment, the weight of the expert's output
 * @param row     per assignment, its packed row, or −1 when dropped
 * @param counts  per expert, rows it computes (kept assignments)
 * @param chosen  per expert, assignments that chose it (kept or dropped)
 */
public record Routing(int tokens, int experts, int topK, float[] probs, double[] logSumExp, int[] expert, float[] gate,
                      int[] row, int[] counts, int[] chosen, double auxLoss, double zLoss) {

    /** Routes {@code tokens} rows of {@code logits} [tokens, experts] as {@code cfg} says. */
    public static Routing of(float[] logits, int tokens, MoEConfig cfg) {
        int e = cfg.nExperts(), k = cfg.topK();
        float[] probs = new float[tokens * e];
        double[] lse = new double[tokens];
        int[] expert = new int[tokens * k];
        float[] gate = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            int o = t * e;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < e; i++) max = Math.max(max, logits[o + i]);
            double sum = 0;
            for (int i = 0; i < e; i++) sum += Math.exp(logits[o + i] - max);
            lse[t] = max + Math.log(sum);
            for (int i = 0; i < e; i++) probs[o + i] = (float) Math.exp(logits[o + i] - lse[t]);
            int first = argmax(probs, o, e, -1);
            expert[t * k] = first;
            if (k == 1) {
                gate[t] = probs[o + first];
            } else {
                int second = argmax(probs, o, e, first);
                expert[t * k + 1] = second;
                double s = (double) probs[o + first] + probs[o + second];
                gate[t * k] = (float) (probs[o + first] / s);
                gate[t * k + 1] = (float) (probs[o + second] / s);
            }
        }
        int capacity = cfg.capacity(tokens);
        int[] counts = new int[e], chosen = new int[e], slot = new int[tokens * k];
        for (int j = 0; j < k; j++) {
            for (int t = 0; t < tokens; t++) {
                int a = t * k + j, x = expert[a];
                chosen[x]++;
                slot[a] = counts[x] < capacity ? counts[x]++ : -1;
            }
        }
        int[] offset = new int[e];
        for (int i = 1; i < e; i++) offset[i] = offset[i - 1] + counts[i - 1];
        int[] row = new int[tokens * k];
        for (int a = 0; a < row.length; a++) row[a] = slot[a] < 0 ? -1 : offset[expert[a]] + slot[a];
        double aux = 0;
        for (int i = 0; i < e; i++) aux += (double) chosen[i] / ((double) tokens * k) * meanProb(probs, tokens, e, i);
        double z = 0;
        for (int t = 0; t < tokens; t++) z += lse[t] * lse[t];
        return new Routing(tokens, e, k, probs, lse, expert, gate, row, counts, chosen, e * aux, tokens == 0 ? 0 : z / tokens);
    }

    private static int argmax(float[] p, int offset, int n, int skip) {
        int best = -1;
        for (int i = 0; i < n; i++) if (i != skip && (best < 0 || p[offset + i] > p[offset + best])) best = i;
        return best;
    }

    private static double meanProb(float[] probs, int tokens, int e, int i) {
        double s = 0;
        for (int t = 0; t < tokens; t++) s += probs[t * e + i];
        return tokens == 0 ? 0 : s / tokens;
    }

    /** Rows the experts compute in total. */
    public int keptRows() {
        int n = 0;
        for (int c : counts) n += c;
        return n;
    }

    /** Assignments dropped for lack of capacity. */
    public int dropped() {
        return tokens * topK - keptRows();
    }

    /** The first packed row of each expert (and the total at index {@code experts}). */
    public int[] offsets() {
        int[] o = new int[experts + 1];
        for (int i = 0; i < experts; i++) o[i + 1] = o[i] + counts[i];
        return o;
    }

    /**
     * Gradient of the logits [tokens, experts] given the gates' gradient {@code dGate} (per
     * assignment; 0 for dropped ones) plus {@code auxWeight}·d(aux)/d(logits) and
     * {@code zWeight}·d(z)/d(logits). The choice and fᵢ are constants (not differentiable).
     */
    public float[] logitGradient(float[] dGate, double auxWeight, double zWeight) {
        int e = experts, k = topK;
        float[] out = new float[tokens * e];
        double[] dp = new double[e];
        for (int t = 0; t < tokens; t++) {
            int o = t * e;
            for (int i = 0; i < e; i++) dp[i] = auxWeight * e * chosen[i] / ((double) tokens * k) / tokens;
            if (k == 1) {
                dp[expert[t]] += dGate[t];
            } else {
                int a0 = t * 2, a1 = a0 + 1;
                double p0 = probs[o + expert[a0]], p1 = probs[o + expert[a1]], s = p0 + p1;
                double cross = (dGate[a0] * p0 + dGate[a1] * p1) / (s * s);
                dp[expert[a0]] += dGate[a0] / s - cross;
                dp[expert[a1]] += dGate[a1] / s - cross;
            }
            double dot = 0;
            for (int i = 0; i < e; i++) dot += probs[o + i] * dp[i];
            for (int i = 0; i < e; i++) {
                double p = probs[o + i];
                out[o + i] = (float) (p * (dp[i] - dot) + zWeight * 2 * logSumExp[t] * p / tokens);
            }
        }
        return out;
    }
}
