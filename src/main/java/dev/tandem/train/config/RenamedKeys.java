package dev.tandem.train.config;

import java.util.Map;

/** The flat keys of the earlier config form and where each lives now, so an old file or option gets its new spelling. */
final class RenamedKeys {
    private RenamedKeys() {}

    private static final Map<String, String> NEW = Map.ofEntries(
            Map.entry("n_layer", "model.n_layer"), Map.entry("n_head", "model.n_head"), Map.entry("n_embd", "model.n_embd"),
            Map.entry("block_size", "model.block_size"), Map.entry("stable_embedding", "model.stable_embedding"),
            Map.entry("corpus", "data.corpus"), Map.entry("tokenizer", "data.tokenizer"), Map.entry("vocab_size", "data.vocab_size"),
            Map.entry("val_fraction", "data.val_fraction"), Map.entry("batch_size", "data.batch_size"),
            Map.entry("optimizer", "optim.name"), Map.entry("lr", "optim.lr"), Map.entry("min_lr", "optim.min_lr"),
            Map.entry("warmup_steps", "optim.warmup_steps"), Map.entry("schedule", "optim.schedule"),
            Map.entry("decay_fraction", "optim.decay_fraction"), Map.entry("weight_decay", "optim.weight_decay"),
            Map.entry("beta1", "optim.beta1"), Map.entry("beta2", "optim.beta2"), Map.entry("grad_clip", "optim.grad_clip"),
            Map.entry("optimizer_options", "optim.options"), Map.entry("param_groups", "optim.param_groups"),
            Map.entry("nproc", "parallel.dp (the number of ranks is dp·tp·pp)"), Map.entry("zero", "parallel.zero"),
            Map.entry("tp", "parallel.tp"), Map.entry("pp", "parallel.pp"), Map.entry("micro_batches", "parallel.micro_batches"),
            Map.entry("recompute", "parallel.recompute"), Map.entry("offload", "parallel.offload"),
            Map.entry("sequence_parallel", "parallel.sequence_parallel"), Map.entry("pp_schedule", "parallel.schedule"),
            Map.entry("virtual_stages", "parallel.virtual_stages"), Map.entry("pp_layers", "parallel.stage_layers"),
            Map.entry("plan", "parallel.plan"),
            Map.entry("eval_every", "eval.every"), Map.entry("eval_batches", "eval.batches"),
            Map.entry("ckpt_every", "checkpoint.every"), Map.entry("ckpt_steps", "checkpoint.steps"), Map.entry("ckpt_dir", "checkpoint.dir"),
            Map.entry("keep_last", "checkpoint.keep_last"), Map.entry("keep_every", "checkpoint.keep_every"),
            Map.entry("resume", "checkpoint.resume"), Map.entry("async_ckpt", "checkpoint.async"),
            Map.entry("steps", "run.steps"), Map.entry("stop_after", "run.stop_after"), Map.entry("seed", "run.seed"),
            Map.entry("threads", "run.threads"), Map.entry("log_every", "run.log_every"), Map.entry("max_restarts", "run.max_restarts"), Map.entry("name", "run.name"),
            Map.entry("runs_dir", "run.runs_dir"));

    /** Where flat key {@code key} lives now, or null if it never was one. */
    static String newKey(String key) {
        return NEW.get(key);
    }
}
