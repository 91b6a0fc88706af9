package dev.tandem.ckpt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.nn.GPTConfig;
import dev.tandem.nn.MoEConfig;

/**
 * The {@code moe} object of a model's config.json and of a checkpoint manifest's model, with the
 * config file's key names; absent for a dense model, so dense files stay GPT-2's.
 */
public final class MoEJson {
    private MoEJson() {}

    public static void write(ObjectNode model, MoEConfig m) {
        if (!m.sparse()) return;
        ObjectNode n = model.putObject("moe");
        n.put("n_experts", m.nExperts());
        n.put("top_k", m.topK());
        n.put("capacity_factor", m.capacityFactor());
        n.put("dropless", m.dropless());
        n.put("moe_every", m.moeEvery());
        n.put("aux_loss_coef", m.auxLossCoef());
        n.put("z_loss_coef", m.zLossCoef());
        if (m.routerSkew() > 0) n.put("router_skew", m.routerSkew());
    }

    /** {@code dense} with the experts {@code model.moe} describes, if any. */
    public static GPTConfig read(JsonNode model, GPTConfig dense) {
        JsonNode n = model.path("moe");
        if (n.isMissingNode() || n.isNull()) return dense;
        return dense.withMoe(new MoEConfig(n.path("n_experts").asInt(), n.path("top_k").asInt(1), n.path("capacity_factor").asDouble(),
                n.path("dropless").asBoolean(false), n.path("moe_every").asInt(1), n.path("aux_loss_coef").asDouble(),
                n.path("z_loss_coef").asDouble(), n.path("router_skew").asDouble(0)));
    }
}
