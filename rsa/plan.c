/* plan.c: see plan.h. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void plan_rng_seed(struct plan_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = util_mix64(x);
    }
}

uint64_t plan_rng_next(struct plan_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t plan_rng_below(struct plan_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift with rejection. */
    uint64_t m = (uint64_t)(uint32_t)(plan_rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (low < t) {
            m = (uint64_t)(uint32_t)(plan_rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* coord_hash: a stable hash of (purpose, run seed, problem id, repeat, round, slot). */
static uint64_t coord_hash(uint64_t purpose, int64_t run_seed, const char *problem_id, int repeat, int round,
                           int slot)
{
    uint64_t h = util_mix64(purpose ^ util_mix64((uint64_t)run_seed));
    h = util_mix64(h ^ util_hash_str(problem_id));
    h = util_mix64(h ^ (uint64_t)(uint32_t)repeat);
    h = util_mix64(h ^ ((uint64_t)(uint32_t)round << 20));
    h = util_mix64(h ^ ((uint64_t)(uint32_t)slot << 40));
    return h;
}

int64_t plan_request_seed(int64_t run_seed, const char *problem_id, int repeat, int round, int slot)
{
    return (int64_t)(coord_hash(0x5eed, run_seed, problem_id, repeat, round, slot) & 0x7fffffffULL);
}

void plan_parents(int64_t run_seed, const char *problem_id, int repeat, int round, int slot, int population,
                  int subset, enum subset_sampling how, int *out)
{
    if (subset == 1) {
        out[0] = slot;
        return;
    }
    struct plan_rng r;
    plan_rng_seed(&r, coord_hash(0xa11e, run_seed, problem_id, repeat, round, slot));
    if (how == SUBSET_WITH_REPLACEMENT || subset > population) {
        for (int i = 0; i < subset; i++)
            out[i] = (int)plan_rng_below(&r, (uint32_t)population);
        return;
    }
    /* Partial Fisher-Yates over [0, population): the first `subset` picks, in draw order
       (a uniformly random ordered subset, like Python's random.sample). */
    int perm[PLAN_MAX_POPULATION];
    for (int i = 0; i < population; i++)
        perm[i] = i;
    for (int i = 0; i < subset; i++) {
        int j = i + (int)plan_rng_below(&r, (uint32_t)(population - i));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        out[i] = perm[i];
    }
}
