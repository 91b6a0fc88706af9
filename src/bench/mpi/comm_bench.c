/*
 * Open MPI peer for `tandem bench comm`: times MPI_Allreduce (float sum), MPI_Reduce_scatter_block
 * and MPI_Allgather over the same sizes and with the same method as Tandem's worker (warm-up,
 * then trials of back-to-back calls; per trial the slowest rank's mean time; median of trials).
 * Prints "TRIAL <op> <bytes> <k> <us>" per trial and "RESULT <op> <bytes> <median_us> <min_us> <max_us>"
 * lines from rank 0.
 * Sizes follow nccl-tests: all_reduce = the buffer, reduce_scatter = the input, all_gather = the output.
 * The all-reduce works in place (MPI_IN_PLACE) on the buffer the other operations then read, as
 * Tandem's does; the argument "out-of-place" makes it read `in` and write `out` instead
 * (the peer before 2026-11-26 21:20 UTC, see docs/notes/benchmarks-history.md, Round 6).
 * "--ops LIST" measures only the named operations (comma-separated; default all three), in that order.
 * "--turns FILE SIDE" makes it take turns with Tandem, one trial each: the layout of FILE and the
 * protocol are those of Tandem's BenchTurns (per side: int turns given, int turns done).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TRIALS 5

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int outOfPlace;
static volatile int *turns; /* NULL when nothing paces the run */
static int side;

/* Sleeps (1 ms between looks, as Tandem's ranks do) until the driver has given this side `turn`. */
static void awaitTurn(int turn) {
    if (!turns) return;
    struct timespec ms = {0, 1000000};
    for (long waited = 0; __atomic_load_n(&turns[side * 2], __ATOMIC_SEQ_CST) <= turn; waited++) {
        if (waited > 600000) { /* 10 minutes: the driver or the other side has stopped */
            fprintf(stderr, "comm_bench: waited 10 minutes for turn %d; giving up\n", turn);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        nanosleep(&ms, NULL);
    }
}

static void turnDone(int turn) {
    if (turns) __atomic_store_n(&turns[side * 2 + 1], turn + 1, __ATOMIC_SEQ_CST);
}

static void joinTurns(const char *path) {
    int fd = open(path, O_RDWR);
    void *m = fd < 0 ? MAP_FAILED : mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        perror(path);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    close(fd);
    turns = m;
}

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
    const char *names[] = {"all_reduce", "reduce_scatter", "all_gather"};
    int ops[3] = {0, 1, 2}, nops = 3;
    for (int a = 3; a < argc; a++) {
        if (strcmp(argv[a], "out-of-place") == 0) outOfPlace = 1;
        else if (strcmp(argv[a], "--ops") == 0 && a + 1 < argc) {
            nops = 0;
            for (char *name = strtok(argv[++a], ","); name; name = strtok(NULL, ",")) {
                int found = -1;
                for (int op = 0; op < 3; op++) if (strcmp(name, names[op]) == 0) found = op;
                if (found < 0 || nops == 3) {
                    if (rank == 0) fprintf(stderr, "comm_bench: unknown operation %s\n", name);
                    MPI_Abort(MPI_COMM_WORLD, 2);
                }
                ops[nops++] = found;
            }
        } else if (strcmp(argv[a], "--turns") == 0 && a + 2 < argc) {
            joinTurns(argv[a + 1]);
            side = atoi(argv[a + 2]);
            a += 2;
        } else {
            if (rank == 0) fprintf(stderr, "comm_bench: unknown argument %s\n", argv[a]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    float *in = malloc(maxBytes), *out = malloc(maxBytes);
    /* The same values as Tandem's worker, written element by element: malloc + memset(0) is
     * compiled into calloc, whose untouched pages all map the kernel's zero page, and reading
     * that one cached page made this peer's all-gather and reductions look about twice as fast. */
    for (long i = 0; i < maxBytes / 4; i++) {
        in[i] = 1e-3f * (float)(i % 1000);
        out[i] = (float)(i % 7);
    }
    int turn = 0; /* turn 0 is Tandem's warm-up; this peer has none beyond each size's first call */
    awaitTurn(turn);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) turnDone(turn);
    for (int o = 0; o < nops; o++) {
        int op = ops[o];
        for (long bytes = minBytes; bytes <= maxBytes; bytes *= 4) {
            long count = bytes / 4 / n * n; /* divisible by n, as in Tandem's worker */
            int iters = 1;
            double t[TRIALS];
            for (int k = 0; k < TRIALS; k++) {
                awaitTurn(++turn);
                if (k == 0) { /* sizes the trials, inside the first trial's turn */
                    MPI_Barrier(MPI_COMM_WORLD);
                    double t0 = MPI_Wtime();
                    run(op, in, out, count, n);
                    double warm = MPI_Wtime() - t0;
                    MPI_Allreduce(MPI_IN_PLACE, &warm, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
                    iters = warm > 0 ? (int)(0.05 / warm) : 1000;
                    if (iters < 1) iters = 1;
                    if (iters > 1000) iters = 1000;
                }
                MPI_Barrier(MPI_COMM_WORLD);
                double s = MPI_Wtime();
                for (int i = 0; i < iters; i++) run(op, in, out, count, n);
                t[k] = (MPI_Wtime() - s) / iters;
                MPI_Allreduce(MPI_IN_PLACE, &t[k], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
                if (rank == 0) {
                    turnDone(turn);
                    printf("TRIAL %s %ld %d %.3f\n", names[op], count * 4, k, t[k] * 1e6);
                }
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
