/*
 * test_pool.c: the pthread pool (engine/cpu/pool.c): sizes and argument errors, every task run
 * exactly once with thread ids in range, real parallelism (a barrier that only n concurrent
 * threads can pass), many small runs in a row, runs after the workers went to sleep, and clean
 * create/destroy cycles. Also built with -fsanitize=thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "engine/cpu/pool.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct pool *make_pool(int n)
{
    struct pool *p = NULL;
    char err[256] = "";
    enum rsa_err e = pool_create(n, &p, err, sizeof(err));
    if (e != RSA_OK)
        fail_msg("pool_create(%d): %s", n, err);
    assert_non_null(p);
    return p;
}

/* ===== sizes and errors ===== */

static void test_create_sizes(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 4, 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct pool *p = make_pool(sizes[i]);
        assert_int_equal(pool_size(p), sizes[i]);
        pool_destroy(p);
    }
    struct pool *p = make_pool(0); /* the number of online CPUs */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(pool_size(p), cpus < 1 ? 1 : (int)cpus);
    pool_destroy(p);

    char err[256] = "";
    p = (struct pool *)&err; /* must be reset to NULL on failure */
    assert_int_equal(pool_create(-1, &p, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_null(p);
    assert_non_null(strstr(err, "-1"));
    err[0] = '\0';
    assert_int_equal(pool_create(1 << 20, &p, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_null(p);
    assert_true(err[0] != '\0');
    pool_destroy(NULL);
}

/* ===== every task exactly once ===== */

struct count_job {
    atomic_int *count; /* [ntasks] */
    int nthreads;
    atomic_int bad_thread;
    atomic_int calls;
};

static void count_task(void *arg, int task, int thread)
{
    struct count_job *j = arg;
    if (thread < 0 || thread >= j->nthreads)
        atomic_store(&j->bad_thread, 1);
    atomic_fetch_add(&j->count[task], 1);
    atomic_fetch_add(&j->calls, 1);
}

static void test_each_task_once(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 4};
    static const int ntasks_list[] = {0, 1, 2, 7, 1000};
    atomic_int *count = calloc(1000, sizeof(atomic_int));
    assert_non_null(count);
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        struct pool *p = make_pool(sizes[si]);
        for (int rep = 0; rep < 3; rep++)
            for (size_t ni = 0; ni < sizeof(ntasks_list) / sizeof(ntasks_list[0]); ni++) {
                int ntasks = ntasks_list[ni];
                for (int i = 0; i < 1000; i++)
                    atomic_init(&count[i], 0);
                struct count_job j = {.count = count, .nthreads = sizes[si]};
                atomic_init(&j.bad_thread, 0);
                atomic_init(&j.calls, 0);
                pool_run(p, count_task, &j, ntasks);
                assert_int_equal(atomic_load(&j.calls), ntasks);
                for (int i = 0; i < 1000; i++)
                    if (atomic_load(&count[i]) != (i < ntasks ? 1 : 0))
                        fail_msg("pool %d, %d tasks: task %d ran %d times", sizes[si], ntasks, i,
                                 atomic_load(&count[i]));
                assert_int_equal(atomic_load(&j.bad_thread), 0);
            }
        pool_destroy(p);
    }
    free(count);
}

/* ===== real parallelism ===== */

struct barrier_job {
    int n;
    atomic_int arrived;
    atomic_int timed_out;
    atomic_int seen[8]; /* tasks per thread id */
};

/* each task waits (up to 10 s) until all n tasks have started: only n threads at once pass */
static void barrier_task(void *arg, int task, int thread)
{
    (void)task;
    struct barrier_job *j = arg;
    atomic_fetch_add(&j->seen[thread], 1);
    atomic_fetch_add(&j->arrived, 1);
    double t0 = now_s();
    while (atomic_load(&j->arrived) < j->n) {
        if (now_s() - t0 > 10.0) {
            atomic_store(&j->timed_out, 1);
            return;
        }
        usleep(100);
    }
}

static void test_parallel(void **state)
{
    (void)state;
    static const int sizes[] = {2, 4};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        int n = sizes[si];
        struct pool *p = make_pool(n);
        for (int rep = 0; rep < 3; rep++) {
            struct barrier_job j = {.n = n};
            atomic_init(&j.arrived, 0);
            atomic_init(&j.timed_out, 0);
            for (int i = 0; i < 8; i++)
                atomic_init(&j.seen[i], 0);
            pool_run(p, barrier_task, &j, n);
            assert_int_equal(atomic_load(&j.timed_out), 0);
            /* n tasks on n distinct threads: every thread id exactly once */
            for (int i = 0; i < n; i++)
                assert_int_equal(atomic_load(&j.seen[i]), 1);
            if (rep == 1)
                usleep(50 * 1000); /* let the workers go to sleep before the next run */
        }
        pool_destroy(p);
    }
}

/* ===== many small runs ===== */

struct sum_job {
    atomic_long sum;
};

static void sum_task(void *arg, int task, int thread)
{
    (void)thread;
    struct sum_job *j = arg;
    atomic_fetch_add(&j->sum, task + 1);
}

static void test_repeated_runs(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 4};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        struct pool *p = make_pool(sizes[si]);
        struct sum_job j;
        atomic_init(&j.sum, 0);
        long want = 0;
        for (int i = 0; i < 10000; i++) {
            int ntasks = i % 6; /* 0..5, so some runs have fewer tasks than threads */
            pool_run(p, sum_task, &j, ntasks);
            want += (long)ntasks * (ntasks + 1) / 2;
            if (atomic_load(&j.sum) != want)
                fail_msg("pool %d, run %d: sum %ld, want %ld", sizes[si], i, atomic_load(&j.sum), want);
        }
        pool_destroy(p);
    }
}

/* ===== create / destroy cycles ===== */

static void test_create_destroy_cycles(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        struct pool *p = make_pool(1 + i % 4);
        if (i % 3 == 1) {
            struct sum_job j;
            atomic_init(&j.sum, 0);
            pool_run(p, sum_task, &j, 10);
            assert_int_equal(atomic_load(&j.sum), 55);
        }
        if (i % 5 == 2)
            usleep(2000); /* destroy sleeping workers too, not only spinning ones */
        pool_destroy(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_sizes),
        cmocka_unit_test(test_each_task_once),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_repeated_runs),
        cmocka_unit_test(test_create_destroy_cycles),
    };
    alarm(100); /* a deadlocked pool fails the binary instead of hanging it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
