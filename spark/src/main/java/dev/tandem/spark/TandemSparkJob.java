package dev.tandem.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.reflect.ClassTag$;

/**
 * {@code spark-submit --class dev.tandem.spark.TandemSparkJob tandem-spark.jar train [--config FILE]
 * [--section.key value ...]}: one Tandem training as one Spark barrier stage, with the arguments
 * of {@code tandem train}. Settings of the Spark side ({@code --conf}):
 * <ul>
 *   <li>{@code spark.tandem.home}: the Tandem installation on every node (else TANDEM_HOME);</li>
 *   <li>{@code spark.tandem.javaHome}: the JDK 25 for the ranks (else the launcher finds one);</li>
 *   <li>{@code spark.tandem.ranksPerTask} (default 1): ranks each barrier task starts; with
 *       {@code spark.task.cpus} set to a node's cores, one task per node starts that node's ranks;</li>
 *   <li>{@code spark.tandem.slotsWaitSeconds} (default 60): how long to wait for executors to
 *       register enough task slots before refusing.</li>
 * </ul>
 * Before the stage: the run's settings are resolved by Tandem itself ({@code --print-config}),
 * the cluster's free barrier slots are counted, and the checkpoint directory is probed from every
 * task; each problem ends the job with a message that says what to change. A rank that fails
 * fails the stage, and Spark retries it ({@code spark.stage.maxConsecutiveAttempts}, 4 by
 * default), resuming from the newest checkpoint.
 */
public final class TandemSparkJob {
    private TandemSparkJob() {}

    public static void main(String[] args) {
        SparkContext sc = null;
        int code = 0;
        try {
            List<String> trainArgs = trainArgs(args);
            sc = SparkContext.getOrCreate(new SparkConf().setAppName("tandem train"));
            run(sc, trainArgs);
        } catch (TandemSparkException e) {
            System.err.println("tandem-spark: " + e.getMessage());
            code = 1;
        } finally {
            if (sc != null) sc.stop();
        }
        if (code != 0) System.exit(code);
    }

    /** The {@code tandem} command line each rank is started with: {@code train} and its arguments. */
    static List<String> trainArgs(String[] args) {
        if (args.length == 0 || !args[0].equals("train")) {
            throw new TandemSparkException("usage: spark-submit ... tandem-spark.jar train [--config FILE] [--section.key value ...] "
                    + "(the arguments of `tandem train`)");
        }
        return List.of(args);
    }

    static void run(SparkContext sc, List<String> trainArgs) {
        SparkConf conf = sc.getConf();
        TandemInstallation tandem = TandemInstallation.of(conf.get("spark.tandem.home", System.getenv("TANDEM_HOME")),
                conf.get("spark.tandem.javaHome", null));
        Path workDir = Path.of("").toAbsolutePath();
        RunSettings run = RunSettings.parse(tandem.printConfig(trainArgs), workDir);
        int perTask = conf.getInt("spark.tandem.ranksPerTask", 1);
        if (perTask < 1 || run.ranks() % perTask != 0) {
            throw new TandemSparkException("spark.tandem.ranksPerTask=" + perTask + " must divide the run's " + run.ranks()
                    + " ranks (the plan's islands·dp·tp·pp)");
        }
        int tasks = run.ranks() / perTask;
        BarrierSlots.require(sc, tasks, run.ranks(), conf.getInt("spark.tandem.slotsWaitSeconds", 60));
        if (!run.checkpoints()) {
            System.err.println("tandem-spark: the run saves no checkpoints (checkpoint.every = 0): a retried stage starts again from step 0");
        }
        // The ranks run elsewhere: paths the driver resolved relative to its directory are passed as absolute ones.
        List<String> args = new ArrayList<>(trainArgs);
        args.addAll(List.of("--run.runs_dir", run.runDir().getParent().toString(), "--checkpoint.dir", run.checkpointDir().toString()));
        CheckpointProbe probe = CheckpointProbe.place(run.checkpointDir());
        System.out.printf("tandem-spark: %d rank(s) in %d barrier task(s); run %s; checkpoints %s%n", run.ranks(), tasks, run.runDir(),
                run.checkpointDir());
        try {
            // Spark retries a failed barrier stage only when it is a shuffle-map stage (a failed result stage
            // aborts the job), so the tasks' results cross a shuffle on their way to the driver.
            RDD<String> training = new JavaSparkContext(sc).parallelize(IntStream.range(0, tasks).boxed().toList(), tasks).rdd()
                    .barrier()
                    .mapPartitions(new BarrierTrainTask(tandem, args, run.ranks(), perTask, probe), false,
                            ClassTag$.MODULE$.apply(String.class));
            List<String> results = JavaRDD.fromRDD(training, ClassTag$.MODULE$.apply(String.class)).repartition(1).collect();
            List<String> problems = new ArrayList<>();
            for (String r : results) if (!BarrierTrainTask.OK.equals(r)) problems.add(r);
            if (!problems.isEmpty()) throw new TandemSparkException("not started: " + problems.get(0));
        } catch (TandemSparkException e) {
            throw e;
        } catch (Exception e) { // a SparkException (Scala declares none): the stage failed on its last attempt
            throw new TandemSparkException("training failed: " + firstLine(e.getMessage()), e);
        } finally {
            probe.remove();
        }
        System.out.println("tandem-spark: training finished; run files in " + run.runDir());
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
