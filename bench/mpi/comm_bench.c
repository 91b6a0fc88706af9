/*
 * Open MPI peer for `tandem bench comm`: times MPI_Allreduce (float sum), MPI_Reduce_scatter_block
 * and MPI_Allgather over the same sizes and with the same method as Tandem's worker (warm-up,
 * then trials of back-to-back calls; per trial the slowest rank's mean time; median of trials).
 * Prints "RESULT <op> <bytes> <median_us> <min_us> <max_us>" lines from rank 0.
 * Sizes follow nccl-tests: all_reduce = the buffer, reduce_scatter = the input, all_gather = the output.
 * The all-reduce works in place (MPI_IN_PLACE) on the buffer the other operations then read, as
 * Tandem's does; a fourth argument "out-of-place" makes it read `in` and write `out` instead
 * (the peer before 2026-11-26 21:20 UTC, see docs/BENCHMARKS.md, Round 6).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIALS 5

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int outOfPlace;

static void run(int op, float *in, float *out, long count, int n) {
    long per = count / n;
    if (op == 0 && outOfPlace) MPI_Allreduce(in, out, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    else if (op == 0) MPI_Allreduce(MPI_IN_PLACE, in, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    else if (op == 1) MPI_Reduce_scatter_block(in, out, (int)per, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    else MPI_Allgather(in, (int)per, MPI_FLOAT, out, (int)per, MPI_FLOAT, MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    long minBytes = argc > 1 ? atol(argv[1]) : 1024;
    long maxBytes = argc > 2 ? atol(argv[2]) : 256L << 20;
    outOfPlace = argc > 3 && strcmp(argv[3], "out-of-place") == 0;
    const char *names[] = {"all_reduce", "reduce_scatter", "all_gather"};
    float *in = malloc(maxBytes), *out = malloc(maxBytes);
    /* The same values as Tandem's worker, written element by element: malloc + memset(0) is
     * compiled into calloc, whose untouched pages all map the kernel's zero page, and reading
     * that one cached page made this peer's all-gather and reductions look about twice as fast. */
    for (long i = 0; i < maxBytes / 4; i++) {
        in[i] = 1e-3f * (float)(i % 1000);
        out[i] = (float)(i % 7);
    }
    for (int op = 0; op < 3; op++) {
        for (long bytes = minBytes; bytes <= maxBytes; bytes *= 4) {
            long count = bytes / 4 / n * n; /* divisible by n, as in Tandem's worker */
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            run(op, in, out, count, n);
            double warm = MPI_Wtime() - t0;
            MPI_Allreduce(MPI_IN_PLACE, &warm, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            int iters = warm > 0 ? (int)(0.05 / warm) : 1000;
            if (iters < 1) iters = 1;
            if (iters > 1000) iters = 1000;
            double t[TRIALS];
            for (int k = 0; k < TRIALS; k++) {
                MPI_Barrier(MPI_COMM_WORLD);
                double s = MPI_Wtime();
                for (int i = 0; i < iters; i++) run(op, in, out, count, n);
                t[k] = (MPI_Wtime() - s) / iters;
                MPI_Allreduce(MPI_IN_PLACE, &t[k], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            }
            qsort(t, TRIALS, sizeof(double), cmp);
            if (rank == 0) {
                printf("RESULT %s %ld %.3f %.3f %.3f\n", names[op], count * 4, t[TRIALS / 2] * 1e6, t[0] * 1e6,
                       t[TRIALS - 1] * 1e6);
                fflush(stdout);
            }
        }
    }
    free(in);
    free(out);
    MPI_Finalize();
    return 0;
}
