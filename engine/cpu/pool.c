/*
 * pool.c: a fixed pthread pool for data-parallel loops (see pool.h).
 *
 * pool_run publishes a job (fn, arg, ntasks), bumps a generation counter under the mutex and
 * wakes the workers; everyone, the caller included, then takes task numbers from one atomic
 * counter until they run out. Each worker checks in once per generation (an atomic countdown);
 * the last one to check in wakes the caller. Between runs the workers spin briefly on the
 * generation counter, then sleep on a condition variable, so an idle pool costs no CPU.
 * pool_run allocates nothing.
 */
#include "engine/cpu/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsa/util.h"

/* How many times a waiting thread polls before it sleeps (each poll is one pause, ~20-70 ns). */
#define POOL_SPIN 2000
/* The most threads a pool may have (a sanity bound on the argument). */
#define POOL_MAX_THREADS 1024

struct pool;

struct pool_worker {
    struct pool *pool;
    int id; /* 1..n-1 (the caller is 0) */
    pthread_t thread;
};

struct pool {
    int n;                       /* threads in all, caller included */
    struct pool_worker *workers; /* [n-1] */
    pthread_mutex_t mu;
    pthread_cond_t start_cv;     /* workers wait here for a new generation */
    pthread_cond_t done_cv;      /* the caller waits here for the last check-in */
    /* the current job; written by pool_run before the generation is bumped */
    pool_task_fn fn;
    void *arg;
    int ntasks;
    atomic_uint gen;             /* bumped once per job (under mu) */
    atomic_int next;             /* the next task number to hand out */
    atomic_int pending;          /* workers that have not finished the current job */
    atomic_int stop;             /* set by pool_destroy */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* run_tasks: take task numbers from p->next until none are left. */
static void run_tasks(struct pool *p, pool_task_fn fn, void *arg, int ntasks, int thread)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= ntasks)
            break;
        fn(arg, t, thread);
    }
}

static void *worker_main(void *vw)
{
    struct pool_worker *w = vw;
    struct pool *p = w->pool;
    unsigned seen = 0; /* gen at pool_create; a job may already be waiting when we start */
    for (;;) {
        /* wait for a new generation: spin a little, then sleep */
        unsigned g = seen;
        for (int i = 0; i < POOL_SPIN; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed))
                break;
            cpu_relax();
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                   !atomic_load_explicit(&p->stop, memory_order_relaxed))
                pthread_cond_wait(&p->start_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (g == seen) /* woken by stop with no new job */
            break;
        seen = g;
        /* fn/arg/ntasks were written before the release store of gen */
        run_tasks(p, p->fn, p->arg, p->ntasks, w->id);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

enum rsa_err pool_create(int n, struct pool **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)c;
    }
    if (n < 1 || n > POOL_MAX_THREADS) {
        util_errf(err, errlen, "pool: thread count %d out of range (0..%d)", n, POOL_MAX_THREADS);
        return RSA_ERR_CONFIG;
    }
    struct pool *p = calloc(1, sizeof(*p));
    if (!p) {
        util_errf(err, errlen, "pool: out of memory");
        return RSA_ERR_NOMEM;
    }
    p->n = n;
    atomic_init(&p->gen, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    int rc = pthread_mutex_init(&p->mu, NULL);
    if (rc != 0) {
        free(p);
        util_errf(err, errlen, "pool: pthread_mutex_init: %s", strerror(rc));
        return RSA_ERR_NOMEM;
    }
    if ((rc = pthread_cond_init(&p->start_cv, NULL)) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        util_errf(err, errlen, "pool: pthread_cond_init: %s", strerror(rc));
        return RSA_ERR_NOMEM;
    }
    if ((rc = pthread_cond_init(&p->done_cv, NULL)) != 0) {
        pthread_cond_destroy(&p->start_cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        util_errf(err, errlen, "pool: pthread_cond_init: %s", strerror(rc));
        return RSA_ERR_NOMEM;
    }
    if (n > 1) {
        p->workers = calloc((size_t)(n - 1), sizeof(*p->workers));
        if (!p->workers) {
            pool_destroy(p);
            util_errf(err, errlen, "pool: out of memory for %d workers", n - 1);
            return RSA_ERR_NOMEM;
        }
    }
    for (int i = 0; i < n - 1; i++) {
        p->workers[i].pool = p;
        p->workers[i].id = i + 1;
        rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
        if (rc != 0) {
            p->n = i + 1; /* pool_destroy joins only the workers that started */
            pool_destroy(p);
            util_errf(err, errlen, "pool: pthread_create (worker %d of %d): %s", i + 1, n - 1, strerror(rc));
            return RSA_ERR_NOMEM;
        }
    }
    *out = p;
    return RSA_OK;
}

int pool_size(const struct pool *p)
{
    return p->n;
}

void pool_run(struct pool *p, pool_task_fn fn, void *arg, int ntasks)
{
    if (ntasks <= 0)
        return;
    if (p->n == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++)
            fn(arg, t, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->ntasks = ntasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->start_cv);
    pthread_mutex_unlock(&p->mu);

    run_tasks(p, fn, arg, ntasks, 0);

    /* wait until every worker has checked in: spin a little, then sleep */
    for (int i = 0; i < POOL_SPIN; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void pool_destroy(struct pool *p)
{
    if (!p)
        return;
    if (p->workers) {
        pthread_mutex_lock(&p->mu);
        atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
        pthread_cond_broadcast(&p->start_cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n - 1; i++)
            pthread_join(p->workers[i].thread, NULL);
        free(p->workers);
    }
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->start_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
