package dev.tandem.data;

/** One BPE merge rule: tokens {@code left} and {@code right} become {@code merged}. Its rank is its index. */
public record Merge(int left, int right, int merged) {}
