package dev.tandem.tensor;

/**
 * What an allocation is for; the memory accounting keeps one counter per category. {@link
 * #OFFLOADED} is state moved out of the fast tier into RAM standing for a slower tier (the RAM or
 * CXL-like tier of {@code dev.tandem.offload}): it is memory, but outside the fast tier's budget.
 */
public enum MemoryCategory {
    PARAMETERS, GRADIENTS, OPTIMIZER_STATE, ACTIVATIONS, COMMUNICATION, OTHER, OFFLOADED
}
