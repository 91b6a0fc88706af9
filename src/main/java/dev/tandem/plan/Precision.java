package dev.tandem.plan;

/** Number formats whose peak throughput a device lists. Mixed-precision training runs its GEMMs in FP16 or BF16. */
public enum Precision {
    FP32, TF32, FP16, BF16, FP8
}
