/*
 * plan.h: every random choice of a run, derived from the run seed and the trace
 * coordinates (problem id, repeat, round, slot) alone. Nothing depends on timing,
 * thread order or what was resumed, so a resumed run makes the same choices.
 */
#ifndef RSA_PLAN_H
#define RSA_PLAN_H

#include <stdint.h>

#include "config.h"

/* Upper bound on rsa.population (the config table enforces it). */
#define PLAN_MAX_POPULATION 4096

/* A small seeded generator (xoshiro256**). */
struct plan_rng {
    uint64_t s[4];
};

/* plan_rng_seed: seed from a 64-bit value (expanded with splitmix64). */
void plan_rng_seed(struct plan_rng *r, uint64_t seed);
uint64_t plan_rng_next(struct plan_rng *r);
/* plan_rng_below: uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t plan_rng_below(struct plan_rng *r, uint32_t n);

/* plan_request_seed: the "seed" sent with the request of trace (problem_id, repeat, round, slot);
   in [0, 2^31 - 1] so that every server accepts it. */
int64_t plan_request_seed(int64_t run_seed, const char *problem_id, int repeat, int round, int slot);

/* plan_parents: the slots of round `round - 1` shown to trace (round, slot), in prompt order.
   out must hold `subset` ints. C = 1 continues the slot's own trace (Delethink-style).
   Without replacement: `subset` distinct slots in random order (like Python's random.sample);
   with replacement: independent uniform draws. Requires round >= 1. */
void plan_parents(int64_t run_seed, const char *problem_id, int repeat, int round, int slot, int population,
                  int subset, enum subset_sampling how, int *out);

#endif
