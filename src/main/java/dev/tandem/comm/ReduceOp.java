package dev.tandem.comm;

/**
 * Element-wise reductions. AVG is SUM followed by a division by the group size on each rank
 * (integer types divide with truncation toward zero, as NCCL does).
 */
public enum ReduceOp {
    SUM, AVG, MAX
}
