package dev.tandem.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Causal multi-head self-attention, {@code softmax(q·kᵀ/√d)·v} per (sequence, head), on float32
 * rows: {@code qkv} is [batch·time, 3C] with q | k | v side by side and each one's heads
 * contiguous (head h in columns h·d .. h·d + d − 1, d = C / heads); the output is [batch·time, C]
 * with the heads merged the same way.
 *
 * <p>What the forward pass saves for the backward pass, in {@code saved}: with
 * {@code keepProbabilities}, the probability rows, [batch·heads·time, time] (row (b, h, i) holds
 * query i's probabilities in its first i + 1 columns; the others are not written); else one
 * log-sum-exp of the scaled scores per query, [batch·heads·time], from which the backward pass
 * recomputes each probability row.
 *
 * <p>Working memory: the caller passes {@code scratch} of at least {@link #scratchBytes} bytes
 * and owns it; its contents need not be anything on entry and are garbage on return. Callers
 * allocate it for the one call and free it after (it is the kernel's own working set, O(T·d)
 * per thread, not an activation kept between passes).
 */
public interface AttentionKernels {

    /** The sizes of one attention call. */
    record Shape(int batch, int time, int heads, int channels) {
        public Shape {
            if (batch < 0 || time < 0 || heads < 1 || channels % heads != 0) {
                throw new IllegalArgumentException("attention shape: batch " + batch + ", time " + time + ", heads " + heads
                        + ", channels " + channels + " (channels must divide by heads)");
            }
        }

        /** Channels per head, d. */
        public int headDim() {
            return channels / heads;
        }

        /** (sequence, head) pairs: the independent attention problems. */
        public int problems() {
            return batch * heads;
        }

        /** {@code 1/√d}, in float as the kernels use it. */
        public float scale() {
            return (float) (1.0 / Math.sqrt(headDim()));
        }
    }

    /** Bytes of {@code scratch} that {@link #forward} and {@link #backward} need for {@code shape}. */
    long scratchBytes(Shape shape);

    /** Writes {@code out} and {@code saved} (see the class comment) from {@code qkv}. */
    void forward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keepProbabilities,
                 MemorySegment scratch);

    /**
     * Accumulates ({@code +=}) the gradient of the loss with respect to {@code qkv} into
     * {@code dQkv}, given the forward pass's input, output, what it saved (and whether those were
     * probabilities) and the output's gradient {@code dOut}.
     */
    void backward(Shape shape, MemorySegment qkv, MemorySegment out, MemorySegment saved, boolean keptProbabilities,
                  MemorySegment dOut, MemorySegment dQkv, MemorySegment scratch);

    /**
     * One block of ring attention: {@code queries} query rows against a run of {@code keys} key and
     * value rows, key j visible to query i when {@code j <= i + offset} (the keys' and queries'
     * global positions differ by {@code offset}: large for an earlier chunk, 0 for the diagonal).
     */
    record Block(int queries, int keys, int heads, int channels, int offset) {
        public Block {
            if (queries < 0 || keys < 0 || heads < 1 || channels % heads != 0) {
                throw new IllegalArgumentException("attention block: queries " + queries + ", keys " + keys + ", heads " + heads
                        + ", channels " + channels);
            }
        }

        public int headDim() {
            return channels / heads;
        }

        /** {@code 1/√d}, in float as the kernels use it. */
        public float scale() {
            return (float) (1.0 / Math.sqrt(headDim()));
        }

        /** How many keys query i sees (the first ones): {@code clamp(i + offset + 1, 0, keys)}. */
        public int visible(int i) {
            return (int) Math.max(0, Math.min(keys, (long) i + offset + 1));
        }
    }

    /**
     * Merges one block into a running attention result by online softmax. Rows: query i, head h,
     * element e of q is {@code q[i·ldq + h·d + e]}, of k and v {@code [j·ldkv + h·d + e]}, of out
     * {@code [i·C + h·d + e]}; {@code lse} holds one log-sum-exp per (h, i) at {@code h·queries + i},
     * −∞ before any key was seen (out 0). With the block's own {@code l_i} and normalized output
     * {@code o_i}: {@code lse' = log(e^lse + e^l)}, {@code out' = out·e^(lse − lse') + o·e^(l − lse')}.
     * A query that sees no key of the block keeps its values.
     */
    void blockForward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment out,
                      MemorySegment lse);

    /**
     * Accumulates ({@code +=}) one block's share of the gradients: given each query's final
     * log-sum-exp over all blocks ({@code lse}) and {@code delta[h·queries + i] = dO_i·O_i} (its
     * output's gradient dotted with its final output, head h), {@code p_ij = exp(s_ij − lse_i)},
     * {@code ds_ij = p_ij·(dO_i·v_j − delta_i)}, {@code dq_i += Σ_j ds_ij·k_j/√d},
     * {@code dk_j += Σ_i ds_ij·q_i/√d}, {@code dv_j += Σ_i p_ij·dO_i}. dq has q's layout, dk and
     * dv k's; dOut has out's.
     */
    void blockBackward(Block b, MemorySegment q, int ldq, MemorySegment k, MemorySegment v, int ldkv, MemorySegment lse,
                       MemorySegment delta, MemorySegment dOut, MemorySegment dq, MemorySegment dk, MemorySegment dv);
}
