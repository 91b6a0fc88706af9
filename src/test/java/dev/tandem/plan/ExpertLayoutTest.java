package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.TandemException;
import dev.tandem.train.config.TrainConfig;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The expert axis of the plan: label and JSON forms, and the refusals of what does not compose. */
class ExpertLayoutTest {
    private static final ModelSpec MODEL = ModelSpec.gpt("t", 4, 64, 4, 100, 32);

    @Test
    void labelAndJsonCarryTheExpertAxisAndReadBack() {
        Plan p = Plan.parse("dp=4 ep=2 moe=ep", Plan.SINGLE);
        assertThat(p.ep()).isEqualTo(2);
        assertThat(p.experts().mode()).isEqualTo(ExpertLayout.Mode.EP);
        assertThat(p.label()).contains("ep=2 moe=ep");
        assertThat(Plan.parse(p.label(), Plan.SINGLE)).isEqualTo(p);
        assertThat(Plan.fromJson(p.toJson(), Plan.SINGLE)).isEqualTo(p);
        Plan f = Plan.parse("dp=4 ep=4 moe=fssdp", Plan.SINGLE);
        assertThat(f.toJson().get("moe").asText()).isEqualTo("fssdp");
        assertThat(Plan.SINGLE.label()).doesNotContain("ep=").doesNotContain("moe=");
        assertThat(Plan.SINGLE.toJson().has("ep")).isFalse();
        f.validate(MODEL, 4, 8);
    }

    @Test
    void planRulesRefuseWhatDoesNotCompose() {
        assertThat(Plan.parse("dp=4 ep=3", Plan.SINGLE).problem(MODEL, 4, 8)).contains("ep = 3 does not divide dp = 4");
        assertThat(Plan.parse("dp=2 tp=2 ep=2", Plan.SINGLE).problem(MODEL, 4, 8)).contains("not tp = 2").contains("use tp = 1 and pp = 1");
        assertThat(Plan.parse("dp=4 ep=2 moe=fssdp", Plan.SINGLE).problem(MODEL, 4, 8)).contains("set ep = dp (4)");
        assertThatThrownBy(() -> Plan.parse("dp=2 moe=sparse", Plan.SINGLE)).hasMessageContaining("moe must be ep or fssdp");
        assertThatThrownBy(() -> Plan.parse("ep=0", Plan.SINGLE)).hasMessageContaining("ep must be >= 1");
    }

    private static Map<String, String> cfg(String experts, String ep) {
        Map<String, String> m = new HashMap<>();
        m.put("model.n_experts", experts);
        m.put("parallel.dp", "4");
        m.put("parallel.ep", ep);
        m.put("data.batch_size", "8");
        return m;
    }

    @Test
    void configRefusesExpertsThatDoNotSpreadEvenly() {
        assertThatThrownBy(() -> TrainConfig.load(null, cfg("6", "4"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("model.n_experts = 6 is not divisible by parallel.ep = 4");
        assertThatThrownBy(() -> TrainConfig.load(null, cfg("0", "2"))).isInstanceOf(TandemException.class)
                .hasMessageContaining("the model has none");
        assertThat(TrainConfig.load(null, cfg("8", "4")).parallel().ep()).isEqualTo(4);
    }
}
