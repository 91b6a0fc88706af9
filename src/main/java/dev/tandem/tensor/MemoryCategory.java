package dev.tandem.tensor;

/** What an allocation is for; the memory accounting keeps one counter per category. */
public enum MemoryCategory {
    PARAMETERS, GRADIENTS, OPTIMIZER_STATE, ACTIVATIONS, COMMUNICATION, OTHER
}
