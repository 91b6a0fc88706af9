package dev.tandem.plan;

/** A well-formed plan that cannot run, with its predicted memory and the reason in one line. */
public record Rejection(PlanCandidate plan, MemoryBreakdown memory, String reason) {}
