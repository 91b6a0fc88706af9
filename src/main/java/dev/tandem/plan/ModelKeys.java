package dev.tandem.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The keys a model file may use, so that a key the planner does not know is an error rather than
 * silently ignored. Each quantity has Tandem's name and the names of a Tandem training config
 * ({@code [model]}) and of Hugging Face {@code config.json} files (GPT-2, Llama, Mistral, Mixtral).
 * A few keys change nothing the cost model prices (dropout rates, token ids, norm epsilons, the
 * initialisation); they are accepted and listed here by name.
 */
final class ModelKeys {
    private ModelKeys() {}

    /** Tandem's name → the other names of the same quantity. */
    static final Map<String, List<String>> ALIASES = aliases();

    private static Map<String, List<String>> aliases() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("name", List.of("_name_or_path"));
        m.put("layers", List.of("n_layer", "num_hidden_layers"));
        m.put("hidden", List.of("n_embd", "hidden_size"));
        m.put("heads", List.of("n_head", "num_attention_heads"));
        m.put("kv_heads", List.of("num_key_value_heads", "n_kv_heads", "n_kv_head"));
        m.put("vocab", List.of("vocab_size"));
        m.put("seq", List.of("block_size", "n_positions", "max_position_embeddings", "n_ctx"));
        m.put("ffn_hidden", List.of("n_inner", "intermediate_size"));
        m.put("mlp", List.of("hidden_act", "activation_function"));
        m.put("experts", List.of("n_experts", "num_local_experts", "num_experts"));
        m.put("top_k", List.of("num_experts_per_tok"));
        m.put("capacity_factor", List.of());
        m.put("dropless", List.of());
        m.put("moe_every", List.of());
        m.put("tied_head", List.of("tie_word_embeddings"));
        m.put("positions", List.of("position_embedding_type"));
        m.put("parscale", List.of());
        m.put("parscale_prefix", List.of());
        return m;
    }

    /** Keys that do not change memory or time, accepted as they come in training configs and Hugging Face files. */
    static final Set<String> NO_COST = Set.of(
            // training config [model]
            "stable_embedding", "init_from", "peqa", "aux_loss_coef", "z_loss_coef", "router_skew",
            // Hugging Face config.json
            "architectures", "model_type", "torch_dtype", "transformers_version", "bos_token_id", "eos_token_id", "pad_token_id",
            "initializer_range", "layer_norm_epsilon", "layer_norm_eps", "rms_norm_eps", "rope_theta", "rope_scaling", "attention_bias",
            "attention_dropout", "attn_pdrop", "embd_pdrop", "resid_pdrop", "summary_activation", "summary_first_dropout",
            "summary_proj_to_labels", "summary_type", "summary_use_proj", "task_specific_params", "use_cache", "pretraining_tp",
            "scale_attn_weights", "reorder_and_upcast_attn", "scale_attn_by_inverse_layer_idx", "sliding_window", "mlp_bias",
            "head_dim", "router_aux_loss_coef", "output_router_logits", "router_jitter_noise", "id2label", "label2id");

    /** Tandem's name for {@code key}, or null when it is no model key at all. */
    static String canonical(String key) {
        for (var e : ALIASES.entrySet()) {
            if (e.getKey().equals(key) || e.getValue().contains(key)) return e.getKey();
        }
        return null;
    }

    /** The accepted keys, Tandem's names first, for an error message. */
    static String accepted() {
        StringBuilder b = new StringBuilder();
        ALIASES.forEach((k, v) -> {
            if (b.length() > 0) b.append(", ");
            b.append(k);
            if (!v.isEmpty()) b.append(" (").append(String.join("/", v)).append(')');
        });
        return b + "; and, ignored because they cost nothing: " + String.join(", ", NO_COST.stream().sorted().toList());
    }
}
