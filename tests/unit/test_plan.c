/*
 * test_plan.c: every random choice of a run (rsa/plan.c): request seeds, parent
 * subsets (without and with replacement) and the generator, for determinism,
 * range and distribution.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/plan.h"

/* chi_square: sum (obs - exp)^2 / exp over k cells of equal expectation. */
static double chi_square(const long *obs, int k, double expected)
{
    double x = 0;
    for (int i = 0; i < k; i++) {
        double d = (double)obs[i] - expected;
        x += d * d / expected;
    }
    return x;
}

/* Upper 0.001 quantiles of chi-square: df 3 -> 16.27, df 15 -> 37.70, df 2 -> 13.82. Every
   draw below is seeded, so a test either always passes or always fails; the thresholds
   make a false failure of a correct sampler improbable for any seed, while a biased
   sampler (off-by-one range, modulo bias on small n, self-exclusion, fixed position)
   lands far above them. */
#define CHI2_DF2 13.82
#define CHI2_DF3 16.27
#define CHI2_DF15 37.70

/* ===== request seeds ===== */

static void test_request_seed_deterministic_and_in_range(void **state)
{
    (void)state;
    int64_t a = plan_request_seed(1234, "p1", 0, 1, 2);
    int64_t b = plan_request_seed(1234, "p1", 0, 1, 2);
    assert_true(a == b);
    long distinct_hi = 0;
    for (int r = 0; r < 8; r++) {
        for (int s = 0; s < 64; s++) {
            int64_t x = plan_request_seed(-5 + r, "problem", r, r, s);
            assert_true(x >= 0);
            assert_true(x <= 2147483647LL);
            distinct_hi += x >= (1LL << 30);
        }
    }
    /* about half of 512 seeds are in the top half of the range (all 31 bits used) */
    assert_in_range(distinct_hi, 180, 332);
    /* extreme run seeds are fine too */
    int64_t big = plan_request_seed(INT64_MAX, "", 0, 0, 0);
    int64_t neg = plan_request_seed(INT64_MIN, "", 0, 0, 0);
    assert_true(big >= 0 && big <= 2147483647LL);
    assert_true(neg >= 0 && neg <= 2147483647LL);
}

static void test_request_seed_depends_on_every_coordinate(void **state)
{
    (void)state;
    int64_t base = plan_request_seed(1234, "p1", 0, 1, 2);
    assert_true(plan_request_seed(1235, "p1", 0, 1, 2) != base);
    assert_true(plan_request_seed(1234, "p2", 0, 1, 2) != base);
    assert_true(plan_request_seed(1234, "p1", 1, 1, 2) != base);
    assert_true(plan_request_seed(1234, "p1", 0, 2, 2) != base);
    assert_true(plan_request_seed(1234, "p1", 0, 1, 3) != base);
    /* swapping coordinates gives another seed */
    assert_true(plan_request_seed(1234, "p1", 0, 2, 1) != base);
    assert_true(plan_request_seed(1234, "p1", 1, 0, 2) != base);

    /* no collisions over a grid of 2 x 2 x 3 x 4 x 64 coordinates (prob. of any ~ 1e-5) */
    enum { NSEED = 2, NPROB = 2, NREP = 3, NROUND = 4, NSLOT = 64 };
    static int64_t all[NSEED * NPROB * NREP * NROUND * NSLOT];
    int n = 0;
    const char *probs[NPROB] = {"aime/1", "aime/2"};
    for (int sd = 0; sd < NSEED; sd++)
        for (int p = 0; p < NPROB; p++)
            for (int rep = 0; rep < NREP; rep++)
                for (int rd = 0; rd < NROUND; rd++)
                    for (int sl = 0; sl < NSLOT; sl++)
                        all[n++] = plan_request_seed(sd, probs[p], rep, rd, sl);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (all[i] == all[j])
                fail_msg("request seeds %d and %d collide (%lld)", i, j, (long long)all[i]);
}

/* ===== parents without replacement ===== */

static void assert_distinct_in_range(const int *v, int c, int n)
{
    for (int i = 0; i < c; i++) {
        assert_in_range(v[i], 0, n - 1);
        for (int j = i + 1; j < c; j++)
            if (v[i] == v[j])
                fail_msg("parent %d repeated at positions %d and %d", v[i], i, j);
    }
}

static void test_parents_without_replacement_basic(void **state)
{
    (void)state;
    static const int shapes[][2] = {{2, 2}, {3, 2}, {4, 2}, {8, 3}, {16, 4}, {16, 15}, {64, 8}, {4096, 16}};
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        int n = shapes[k][0], c = shapes[k][1];
        for (int round = 1; round <= 3; round++) {
            for (int slot = 0; slot < (n < 32 ? n : 32); slot++) {
                int a[16], b[16];
                plan_parents(77, "prob", 0, round, slot, n, c, SUBSET_WITHOUT_REPLACEMENT, a);
                assert_distinct_in_range(a, c, n);
                plan_parents(77, "prob", 0, round, slot, n, c, SUBSET_WITHOUT_REPLACEMENT, b);
                assert_memory_equal(a, b, (size_t)c * sizeof(int)); /* deterministic */
            }
        }
    }
}

/* count how many of the given calls produce distinct subsets */
static int count_distinct(int (*v)[4], int m)
{
    int d = 0;
    for (int i = 0; i < m; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = memcmp(v[i], v[j], sizeof(v[i])) == 0;
        d += !seen;
    }
    return d;
}

static void test_parents_vary_with_coordinates(void **state)
{
    (void)state;
    /* 16*15*14*13 = 43680 ordered subsets: 16 calls that differ in one coordinate should
       almost all differ (one collision at most, for any seeds) */
    int v[16][4];
    for (int s = 0; s < 16; s++)
        plan_parents(1, "p", 0, 1, s, 16, 4, SUBSET_WITHOUT_REPLACEMENT, v[s]);
    assert_true(count_distinct(v, 16) >= 15);
    for (int r = 0; r < 16; r++)
        plan_parents(1, "p", 0, r + 1, 3, 16, 4, SUBSET_WITHOUT_REPLACEMENT, v[r]);
    assert_true(count_distinct(v, 16) >= 15);
    for (int sd = 0; sd < 16; sd++)
        plan_parents(sd * 1000003LL, "p", 0, 1, 3, 16, 4, SUBSET_WITHOUT_REPLACEMENT, v[sd]);
    assert_true(count_distinct(v, 16) >= 15);
    for (int rep = 0; rep < 16; rep++)
        plan_parents(1, "p", rep, 1, 3, 16, 4, SUBSET_WITHOUT_REPLACEMENT, v[rep]);
    assert_true(count_distinct(v, 16) >= 15);
    for (int p = 0; p < 16; p++) {
        char id[32];
        snprintf(id, sizeof(id), "prob-%d", p);
        plan_parents(1, id, 0, 1, 3, 16, 4, SUBSET_WITHOUT_REPLACEMENT, v[p]);
    }
    assert_true(count_distinct(v, 16) >= 15);
}

static void test_parents_c1_is_own_slot(void **state)
{
    (void)state;
    for (int slot = 0; slot < 16; slot++) {
        int out = -1;
        plan_parents(5, "p", 0, 1, slot, 16, 1, SUBSET_WITHOUT_REPLACEMENT, &out);
        assert_int_equal(out, slot);
        out = -1;
        plan_parents(5, "p", 2, 7, slot, 16, 1, SUBSET_WITH_REPLACEMENT, &out);
        assert_int_equal(out, slot);
    }
}

static void test_parents_c_equals_n_is_permutation(void **state)
{
    (void)state;
    int non_identity = 0;
    for (int slot = 0; slot < 16; slot++) {
        int v[16];
        plan_parents(9, "p", 0, 1, slot, 16, 16, SUBSET_WITHOUT_REPLACEMENT, v);
        int seen[16] = {0};
        for (int i = 0; i < 16; i++) {
            assert_in_range(v[i], 0, 15);
            seen[v[i]]++;
        }
        for (int i = 0; i < 16; i++)
            assert_int_equal(seen[i], 1);
        for (int i = 0; i < 16; i++)
            if (v[i] != i) {
                non_identity++;
                break;
            }
    }
    assert_true(non_identity >= 15); /* random order, not the identity */
}

static void test_parents_distribution_without_replacement(void **state)
{
    (void)state;
    enum { N = 16, C = 4, DRAWS = 20000 };
    long freq[N] = {0};       /* how often each slot is a parent */
    long pos[C][N];           /* value counts per position in the subset */
    long self = 0;            /* how often a trace sees its own slot's previous trace */
    memset(pos, 0, sizeof(pos));
    int d = 0;
    for (int round = 1; d < DRAWS; round++) {
        for (int slot = 0; slot < N && d < DRAWS; slot++, d++) {
            int v[C];
            plan_parents(2024, "dist", round % 7, round, slot, N, C, SUBSET_WITHOUT_REPLACEMENT, v);
            assert_distinct_in_range(v, C, N);
            for (int i = 0; i < C; i++) {
                freq[v[i]]++;
                pos[i][v[i]]++;
                self += v[i] == slot;
            }
        }
    }
    double expect = (double)DRAWS * C / N; /* 5000 */
    for (int s = 0; s < N; s++)
        if (freq[s] < expect * 0.9 || freq[s] > expect * 1.1)
            fail_msg("slot %d is a parent %ld times, expected about %.0f", s, freq[s], expect);
    assert_true(chi_square(freq, N, expect) < CHI2_DF15);
    for (int i = 0; i < C; i++) {
        double e = (double)DRAWS / N; /* 1250 */
        for (int s = 0; s < N; s++)
            if (pos[i][s] < e * 0.85 || pos[i][s] > e * 1.15)
                fail_msg("position %d holds slot %d %ld times, expected about %.0f", i, s, pos[i][s], e);
        if (chi_square(pos[i], N, e) >= CHI2_DF15)
            fail_msg("position %d is not uniform (chi2 %.1f)", i, chi_square(pos[i], N, e));
    }
    /* own slot is not special: chosen with probability C/N like any other */
    assert_in_range(self, (long)(DRAWS * C / N * 0.9), (long)(DRAWS * C / N * 1.1));
}

/* ===== parents with replacement ===== */

static void test_parents_with_replacement(void **state)
{
    (void)state;
    enum { N = 4, C = 4, DRAWS = 8000 };
    long freq[N] = {0};
    long pos[C][N];
    memset(pos, 0, sizeof(pos));
    long with_repeat = 0;
    for (int d = 0; d < DRAWS; d++) {
        int v[C], w[C];
        plan_parents(31337, "repl", 0, 1 + d / N, d % N, N, C, SUBSET_WITH_REPLACEMENT, v);
        plan_parents(31337, "repl", 0, 1 + d / N, d % N, N, C, SUBSET_WITH_REPLACEMENT, w);
        assert_memory_equal(v, w, sizeof(v));
        int rep = 0;
        for (int i = 0; i < C; i++) {
            assert_in_range(v[i], 0, N - 1);
            freq[v[i]]++;
            pos[i][v[i]]++;
            for (int j = 0; j < i; j++)
                rep |= v[i] == v[j];
        }
        with_repeat += rep;
    }
    /* P(some repeat) = 1 - 4!/4^4 = 0.906 */
    assert_in_range(with_repeat, (long)(DRAWS * 0.88), (long)(DRAWS * 0.93));
    double e = (double)DRAWS * C / N;
    assert_true(chi_square(freq, N, e) < CHI2_DF3);
    for (int i = 0; i < C; i++)
        assert_true(chi_square(pos[i], N, (double)DRAWS / N) < CHI2_DF3);
}

static void test_parents_subset_above_population_draws_with_replacement(void **state)
{
    (void)state;
    /* allowed only when no round draws (config check); plan still stays in range */
    for (int slot = 0; slot < 8; slot++) {
        int v[5];
        plan_parents(3, "p", 0, 1, slot, 2, 5, SUBSET_WITHOUT_REPLACEMENT, v);
        for (int i = 0; i < 5; i++)
            assert_in_range(v[i], 0, 1);
    }
}

/* ===== the generator ===== */

static void test_rng_deterministic(void **state)
{
    (void)state;
    struct plan_rng a, b, c;
    plan_rng_seed(&a, 42);
    plan_rng_seed(&b, 42);
    plan_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = plan_rng_next(&a), y = plan_rng_next(&b), z = plan_rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ >= 99);
    /* seed 0 does not produce a stuck all-zero state */
    plan_rng_seed(&a, 0);
    uint64_t ors = 0;
    for (int i = 0; i < 4; i++)
        ors |= plan_rng_next(&a);
    assert_true(ors != 0);
}

static void test_rng_below(void **state)
{
    (void)state;
    struct plan_rng r;
    plan_rng_seed(&r, 7);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(plan_rng_below(&r, 1), 0);

    long c3[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint32_t x = plan_rng_below(&r, 3);
        assert_true(x < 3);
        c3[x]++;
    }
    assert_true(chi_square(c3, 3, 10000) < CHI2_DF2);

    /* n = 2^31: never >= n, both halves hit evenly */
    long halves[2] = {0};
    for (int i = 0; i < 20000; i++) {
        uint32_t x = plan_rng_below(&r, 1u << 31);
        assert_true(x < (1u << 31));
        halves[x >= (1u << 30)]++;
    }
    assert_true(chi_square(halves, 2, 10000) < 10.83);

    /* n just above a power of two and the largest n: the rejection path */
    long thirds[3] = {0};
    uint32_t n3 = 3u << 30; /* 3 * 2^30: a third of the 2^32 range must be rejected */
    for (int i = 0; i < 30000; i++) {
        uint32_t x = plan_rng_below(&r, n3);
        assert_true(x < n3);
        thirds[x >> 30]++;
    }
    assert_true(chi_square(thirds, 3, 10000) < CHI2_DF2);
    for (int i = 0; i < 1000; i++)
        assert_true(plan_rng_below(&r, UINT32_MAX) < UINT32_MAX);
    for (int i = 0; i < 1000; i++)
        assert_true(plan_rng_below(&r, (1u << 31) + 1) <= (1u << 31));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_seed_deterministic_and_in_range),
        cmocka_unit_test(test_request_seed_depends_on_every_coordinate),
        cmocka_unit_test(test_parents_without_replacement_basic),
        cmocka_unit_test(test_parents_vary_with_coordinates),
        cmocka_unit_test(test_parents_c1_is_own_slot),
        cmocka_unit_test(test_parents_c_equals_n_is_permutation),
        cmocka_unit_test(test_parents_distribution_without_replacement),
        cmocka_unit_test(test_parents_with_replacement),
        cmocka_unit_test(test_parents_subset_above_population_draws_with_replacement),
        cmocka_unit_test(test_rng_deterministic),
        cmocka_unit_test(test_rng_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
