package dev.tandem.plan;

/** A well-formed plan that cannot run, with its predicted memory and the reason in one line. */
public record Rejection(Plan plan, MemoryBreakdown memory, String reason) {}
