package dev.tandem.spark;

import org.apache.spark.SparkContext;

/**
 * Whether the cluster has a task slot for every barrier task at once (a barrier stage starts all
 * of its tasks together or none). Spark would find out too, but only after retrying its own check
 * for minutes and with a message about SPARK-24819; this says it in Tandem's terms, at once.
 */
final class BarrierSlots {
    private BarrierSlots() {}

    /**
     * Waits up to {@code waitSeconds} for executors to register {@code tasks} slots (a cluster
     * that just started has none yet); throws naming the numbers and what to change.
     */
    static void require(SparkContext sc, int tasks, int ranks, int waitSeconds) {
        long until = System.nanoTime() + waitSeconds * 1_000_000_000L;
        int slots = slots(sc);
        while (slots < tasks && !sc.isLocal() && System.nanoTime() < until) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            slots = slots(sc);
        }
        if (slots < tasks) {
            throw new TandemSparkException("the run has " + ranks + " rank(s) in " + tasks + " barrier task(s), but the cluster offers "
                    + slots + " task slot(s) at once (executor cores / spark.task.cpus" + (sc.isLocal() ? ", local[N] gives N" : "")
                    + "): add executors or cores (e.g. --master local[" + tasks + "]), lower spark.task.cpus, "
                    + "raise spark.tandem.ranksPerTask, or plan fewer ranks");
        }
    }

    /**
     * Tasks of the default resource profile that can run at once, as Spark's barrier check counts
     * them. Both methods are {@code private[spark]} in Scala, which the bytecode leaves public:
     * the one count that matches Spark's own check, tied to the Spark version this module pins.
     */
    static int slots(SparkContext sc) {
        return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }
}
