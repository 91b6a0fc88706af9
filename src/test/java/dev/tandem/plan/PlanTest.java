package dev.tandem.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The one plan type: its label and JSON forms read back exactly, and one check refuses what does not compose, naming the key. */
class PlanTest {
    private static final ModelSpec SMALL = ModelSpec.gpt("small", 4, 64, 4, 256, 32);

    @Provide
    Arbitrary<Plan> plans() {
        Arbitrary<MeshShape> mesh = Combinators.combine(Arbitraries.integers().between(1, 64), Arbitraries.integers().between(1, 8),
                Arbitraries.integers().between(1, 16)).as(MeshShape::new);
        Arbitrary<Schedule> schedule = Arbitraries.oneOf(Arbitraries.just(new Schedule.GPipe()), Arbitraries.just(new Schedule.OneFOneB()),
                Arbitraries.integers().between(2, 8).map(Schedule.Interleaved::new));
        Arbitrary<RecomputePolicy> recompute = Arbitraries.oneOf(Arbitraries.of(Recompute.class).map(RecomputePolicy::every),
                Arbitraries.of(Recompute.class).list().ofMinSize(2).ofMaxSize(6).map(RecomputePolicy::perLayer));
        Arbitrary<List<Integer>> stages = Arbitraries.integers().between(1, 9).list().ofMaxSize(5);
        Arbitrary<OptimizerSpec> optimizer = Arbitraries.of(OptimizerSpec.NAMES).map(OptimizerSpec::named);
        Arbitrary<Plan> shape = Combinators.combine(mesh, Arbitraries.of(ZeroStage.class), Arbitraries.integers().between(1, 64), schedule,
                stages, recompute).as((m, z, micro, sch, st, rc) -> new Plan(m, z, micro, sch, st, rc, false, Offload.NONE,
                TrainingPrecision.FP32, OptimizerSpec.ADAMW));
        return Combinators.combine(shape, Arbitraries.of(true, false), Arbitraries.of(Offload.class), Arbitraries.of(TrainingPrecision.class),
                optimizer).as((p, sp, off, prec, opt) -> new Plan(p.mesh(), p.zero(), p.microBatches(), p.schedule(), p.stageLayers(),
                p.recompute(), sp, off, prec, opt));
    }

    @Property(tries = 300)
    void theLabelReadsBackToTheSamePlan(@ForAll("plans") Plan p) {
        assertThat(Plan.parse(p.label(), Plan.SINGLE)).isEqualTo(p);
        // Whatever the base: a label lists every key that is not implied by the others.
        Plan other = Plan.parse("dp=3 tp=2 pp=2 zero=3 schedule=interleaved virtual_stages=4 precision=mixed optimizer=lion", Plan.SINGLE);
        assertThat(Plan.parse(p.label(), other)).isEqualTo(p);
    }

    @Property(tries = 300)
    void theJsonFormReadsBackToTheSamePlan(@ForAll("plans") Plan p) {
        assertThat(Plan.fromJson(p.toJson(), Plan.SINGLE)).isEqualTo(p);
        assertThat(Plan.fromJson(p.toJson(), Plan.SINGLE).toJson()).isEqualTo(p.toJson());
    }

    @Test
    void theLabelNamesEveryField() {
        Plan p = Plan.parse("dp=2 tp=2 pp=2 zero=1 micro_batches=4 schedule=interleaved virtual_stages=2 stage_layers=1,1,1,1 "
                + "recompute=full,none,selective,full sequence_parallel=true offload=none precision=fp32 optimizer=adamw8bit", Plan.SINGLE);
        assertThat(p.mesh()).isEqualTo(new MeshShape(2, 2, 2));
        assertThat(p.worldSize()).isEqualTo(8);
        assertThat(p.zero()).isEqualTo(ZeroStage.ZERO1);
        assertThat(p.schedule()).isEqualTo(new Schedule.Interleaved(2));
        assertThat(p.stageLayers()).containsExactly(1, 1, 1, 1);
        assertThat(p.recompute().layer(1)).isEqualTo(Recompute.NONE);
        assertThat(p.recompute().heaviest()).isEqualTo(Recompute.FULL);
        assertThat(p.optimizer()).isEqualTo(new OptimizerSpec(OptimizerSpec.Family.ADAMW, OptimizerSpec.StatePrecision.INT8));
        assertThat(p.rowsPerMicroBatch(16)).isEqualTo(2);
        assertThat(p.label()).isEqualTo("dp=2 tp=2 pp=2 zero=1 micro_batches=4 schedule=interleaved virtual_stages=2 stage_layers=1,1,1,1 "
                + "recompute=full,none,selective,full sequence_parallel=true offload=none precision=fp32 optimizer=adamw8bit");
        assertThat(p.toJson().toString()).isEqualTo("{\"dp\":2,\"tp\":2,\"pp\":2,\"zero\":1,\"micro_batches\":4,\"schedule\":\"interleaved\","
                + "\"virtual_stages\":2,\"stage_layers\":[1,1,1,1],\"recompute\":\"full,none,selective,full\",\"sequence_parallel\":true,"
                + "\"offload\":\"none\",\"precision\":\"fp32\",\"optimizer\":\"adamw8bit\",\"islands\":1,\"outer\":\"none\",\"outer_steps\":50,"
                + "\"outer_lr\":0.7,\"outer_momentum\":0.9,\"noloco_alpha\":0.7,\"noloco_beta\":0.5,\"link_bandwidth\":\"0\",\"link_latency\":\"0\"}");
    }

    @Test
    void keysLeftOutKeepTheBase() {
        Plan base = Plan.SINGLE.withPrecision(TrainingPrecision.MIXED).withOptimizer(OptimizerSpec.named("lion"));
        Plan p = Plan.parse("dp=4 zero=2", base);
        assertThat(p.precision()).isEqualTo(TrainingPrecision.MIXED);
        assertThat(p.optimizer().name()).isEqualTo("lion");
        assertThat(p.dp()).isEqualTo(4);
        assertThat(Plan.parse("schedule=gpipe", Plan.parse("pp=2 schedule=interleaved virtual_stages=2", Plan.SINGLE)).virtualStages())
                .isEqualTo(1);
    }

    @Test
    void badLabelsAreRefusedNamingTheKey() {
        assertThatThrownBy(() -> Plan.parse("dp=2 foo=1", Plan.SINGLE)).hasMessageContaining("unknown key 'foo'").hasMessageContaining("micro_batches");
        assertThatThrownBy(() -> Plan.parse("dp=two", Plan.SINGLE)).hasMessageContaining("dp must be an integer");
        assertThatThrownBy(() -> Plan.parse("zero=4", Plan.SINGLE)).hasMessageContaining("zero (the ZeRO stage) must be 0, 1, 2 or 3");
        assertThatThrownBy(() -> Plan.parse("recompute=most", Plan.SINGLE)).hasMessageContaining("'most' is not a mode");
        assertThatThrownBy(() -> Plan.parse("schedule=zigzag", Plan.SINGLE)).hasMessageContaining("gpipe, 1f1b or interleaved");
        assertThatThrownBy(() -> Plan.parse("schedule=1f1b virtual_stages=2", Plan.SINGLE)).hasMessageContaining("needs schedule = interleaved");
        assertThatThrownBy(() -> Plan.parse("schedule=interleaved", Plan.SINGLE)).hasMessageContaining("virtual_stages >= 2");
        assertThatThrownBy(() -> Plan.parse("sequence_parallel=on", Plan.SINGLE)).hasMessageContaining("true or false");
        assertThatThrownBy(() -> Plan.parse("precision=bf16", Plan.SINGLE)).hasMessageContaining("fp32 or mixed");
        assertThatThrownBy(() -> Plan.parse("optimizer=adam", Plan.SINGLE)).hasMessageContaining("adamw, adamw8bit");
        assertThatThrownBy(() -> Plan.parse("dp=2 dp=4", Plan.SINGLE)).hasMessageContaining("sets dp twice");
        assertThatThrownBy(() -> Plan.parse("dp=2,tp=2", Plan.SINGLE)).hasMessageContaining("separate key=value pairs with spaces");
        assertThatThrownBy(() -> Plan.parse("micro_batches=0", Plan.SINGLE)).hasMessageContaining("micro_batches must be >= 1");
        assertThatThrownBy(() -> Plan.parse("dp=0", Plan.SINGLE)).hasMessageContaining("must be >= 1");
    }

    @Test
    void labelsOfTheEarlierFormGetTheNewSpelling() {
        assertThatThrownBy(() -> Plan.parse("tp=2 pp=1 dp=2 mb=4", Plan.SINGLE)).hasMessageContaining("key 'mb' is now micro_batches");
        assertThatThrownBy(() -> Plan.parse("v=2", Plan.SINGLE)).hasMessageContaining("schedule=interleaved virtual_stages=V");
        assertThatThrownBy(() -> Plan.parse("sp=on", Plan.SINGLE)).hasMessageContaining("sequence_parallel=true");
        assertThatThrownBy(() -> Plan.parse("offload=off", Plan.SINGLE)).hasMessageContaining("offload=none");
        assertThatThrownBy(() -> Plan.parse("pp_layers=3,1", Plan.SINGLE)).hasMessageContaining("stage_layers");
    }

    /** Each rule of {@link Plan#validate}, with the key its message must name. */
    @Test
    void optionsThatDoNotComposeAreRefusedByOneCheck() {
        List<String[]> cases = new ArrayList<>(List.of(
                new String[] {"dp=2", "1", "16", "dp·tp·pp = 2·1·1 = 2 ranks but the job has 1"},
                new String[] {"dp=2 micro_batches=3", "2", "16", "batch_size 16 is not divisible by dp·micro_batches"},
                new String[] {"tp=3", "3", "16", "tp = 3 must divide the heads (4)"},
                new String[] {"pp=5", "5", "15", "pp·virtual_stages = 5·1 = 5 stages but the model has 4 layers"},
                new String[] {"pp=2 schedule=interleaved virtual_stages=2 micro_batches=3", "2", "12", "micro_batches = 3 must be a multiple of pp = 2"},
                new String[] {"schedule=interleaved virtual_stages=2", "1", "16", "needs a pipeline"},
                new String[] {"pp=2 stage_layers=1,2,1", "2", "16", "stage_layers lists 3 stages but pp·virtual_stages = 2"},
                new String[] {"pp=2 stage_layers=1,2", "2", "16", "holds 3 layers but the model has 4"},
                new String[] {"pp=2 stage_layers=4,0", "2", "16", "every stage needs at least one"},
                new String[] {"sequence_parallel=true", "1", "16", "sequence_parallel = true needs tp > 1"},
                new String[] {"tp=2 optimizer=muon", "2", "16", "muon updates whole matrices"},
                new String[] {"tp=2 optimizer=soap", "2", "16", "soap updates whole matrices"},
                new String[] {"recompute=full,none", "1", "16", "lists 2 modes but the model has n_layer = 4"}));
        for (String[] c : cases) {
            Plan p = Plan.parse(c[0], Plan.SINGLE);
            assertThatThrownBy(() -> p.validate(SMALL, Integer.parseInt(c[1]), Integer.parseInt(c[2])))
                    .as(c[0]).isInstanceOf(PlanInputException.class).hasMessageContaining(c[3]);
        }
        Plan fine = Plan.parse("dp=2 tp=2 pp=2 zero=3 micro_batches=2 schedule=interleaved virtual_stages=2 sequence_parallel=true", Plan.SINGLE);
        fine.validate(SMALL, 8, 16);
        Plan zeroOnOneReplica = Plan.parse("tp=2 zero=2", Plan.SINGLE);
        zeroOnOneReplica.validate(SMALL, 2, 16); // nothing to shard, but nothing wrong either: the runtime runs it as stage 0
    }

    @Test
    void zeroStagesAnswerWhatTheyShard() {
        assertThat(ZeroStage.ZERO0.shardsOptimizer()).isFalse();
        assertThat(ZeroStage.ZERO1.shardsOptimizer()).isTrue();
        assertThat(ZeroStage.ZERO1.shardsGradients()).isFalse();
        assertThat(ZeroStage.ZERO2.shardsGradients()).isTrue();
        assertThat(ZeroStage.ZERO2.shardsParameters()).isFalse();
        assertThat(ZeroStage.ZERO3.shardsParameters()).isTrue();
        assertThat(List.of(ZeroStage.values()).stream().filter(ZeroStage::gathersUpdatedShards).toList())
                .containsExactly(ZeroStage.ZERO1, ZeroStage.ZERO2);
    }

    @Test
    void optimizerNamesReadBack() {
        for (String n : OptimizerSpec.NAMES) assertThat(OptimizerSpec.named(n).name()).isEqualTo(n);
        assertThat(OptimizerSpec.named("muon").updatesWholeMatrices()).isTrue();
        assertThat(OptimizerSpec.named("adamw8bit").updatesWholeMatrices()).isFalse();
        assertThatThrownBy(() -> new OptimizerSpec(OptimizerSpec.Family.SGD, OptimizerSpec.StatePrecision.INT8))
                .hasMessageContaining("8-bit optimizer state exists for adamw and lion only");
    }
}
