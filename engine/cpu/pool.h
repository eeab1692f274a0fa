/*
 * pool.h: a fixed pthread pool for data-parallel loops. The calling thread takes part, so a
 * pool of n threads starts n-1 workers. No allocation after pool_create.
 */
#ifndef ENGINE_CPU_POOL_H
#define ENGINE_CPU_POOL_H

#include "rsa/err.h"

struct pool;

/* pool_task_fn: run task number `task` (0..ntasks-1) on thread `thread` (0..pool_size-1). */
typedef void (*pool_task_fn)(void *arg, int task, int thread);

/* pool_create: n >= 1 threads in all (0 = the number of online CPUs). */
enum rsa_err pool_create(int n, struct pool **out, char *err, size_t errlen);
/* pool_size: threads in all, caller included. */
int pool_size(const struct pool *p);
/* pool_run: run fn for every task in [0, ntasks), tasks handed out dynamically (atomic counter);
 * returns when all are done. Not reentrant: one pool_run at a time per pool. */
void pool_run(struct pool *p, pool_task_fn fn, void *arg, int ntasks);
/* pool_destroy: join the workers and free; NULL is fine. */
void pool_destroy(struct pool *p);

#endif
