/*
 * test_metrics.c: rsa/metrics.c against hand-computed values: pass@k and its edge cases,
 * greedy clustering, maj@k by enumeration (ties included), Monte-Carlo maj@k against the
 * hypergeometric formula, numpy-"linear" quantiles, and the (paired) bootstrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <math.h>

#include "rsa/metrics.h"

#define assert_near(a, b) assert_near_at((a), (b), 1e-12, __FILE__, __LINE__)
#define assert_close(a, b, tol) assert_near_at((a), (b), (tol), __FILE__, __LINE__)
static void assert_near_at(double a, double b, double tol, const char *file, int line)
{
    double d = a > b ? a - b : b - a;
    if (!(d <= tol))
        fail_msg("%s:%d: %.17g != %.17g", file, line, a, b);
}

/* ===== pass@k ===== */

static void test_pass_at_k(void **state)
{
    (void)state;
    assert_near(metrics_pass_at_k(5, 2, 2), 0.7);          /* 1 - C(3,2)/C(5,2) = 1 - 3/10 */
    assert_near(metrics_pass_at_k(5, 1, 1), 0.2);          /* pass@1 = c/n */
    assert_near(metrics_pass_at_k(10, 3, 5), 1.0 - 21.0 / 252.0); /* 1 - C(7,5)/C(10,5) */
    assert_near(metrics_pass_at_k(4, 1, 2), 0.5);          /* 1 - C(3,2)/C(4,2) = 1 - 3/6 */
    /* edge cases */
    assert_true(metrics_pass_at_k(5, 0, 3) == 0.0);        /* c = 0 */
    assert_true(metrics_pass_at_k(1, 0, 1) == 0.0);
    assert_true(metrics_pass_at_k(4, 4, 1) == 1.0);        /* c = n */
    assert_true(metrics_pass_at_k(5, 3, 3) == 1.0);        /* n - c = 2 < k = 3 */
    assert_true(metrics_pass_at_k(3, 1, 3) == 1.0);        /* k = n, any correct */
    /* invalid */
    assert_true(isnan(metrics_pass_at_k(5, 2, 0)));
    assert_true(isnan(metrics_pass_at_k(5, 2, 6)));
    assert_true(isnan(metrics_pass_at_k(5, 6, 2)));
    assert_true(isnan(metrics_pass_at_k(5, -1, 2)));
    assert_true(isnan(metrics_pass_at_k(0, 0, 1)));
}

/* ===== clustering ===== */

static int calls;

static int equiv_nocase(void *user, const char *rep, const char *ans)
{
    (void)user;
    calls++;
    return strcasecmp(rep, ans) == 0;
}

/* |rep - ans| <= 1: not transitive, shows that answers compare with the representative */
static int equiv_near(void *user, const char *rep, const char *ans)
{
    (void)user;
    return abs(atoi(rep) - atoi(ans)) <= 1;
}

static void test_cluster(void **state)
{
    (void)state;
    const char *a[] = {"A", "a", NULL, "b", "A", "B", "c"};
    int cl[7];
    calls = 0;
    assert_int_equal(metrics_cluster(a, 7, equiv_nocase, NULL, cl), 3);
    int want[] = {0, 0, -1, 1, 0, 1, 2};
    for (int i = 0; i < 7; i++)
        assert_int_equal(cl[i], want[i]);
    /* "a" vs A; "b" vs A; the second "A" is byte-identical (no call); "B" vs A, b; "c" vs A, b */
    assert_int_equal(calls, 6);

    const char *b[] = {"1", "2", "3", "2"};
    int cl2[4];
    assert_int_equal(metrics_cluster(b, 4, equiv_near, NULL, cl2), 2);
    assert_int_equal(cl2[0], 0);
    assert_int_equal(cl2[1], 0);
    assert_int_equal(cl2[2], 1); /* |3 - 1| = 2: the representative is "1", not "2" */
    assert_int_equal(cl2[3], 0);

    /* equiv NULL = byte equality; nothing to cluster */
    const char *c[] = {"x", "x ", NULL};
    int cl3[3];
    assert_int_equal(metrics_cluster(c, 3, NULL, NULL, cl3), 2);
    assert_int_equal(cl3[2], -1);
    assert_int_equal(metrics_cluster(c, 0, NULL, NULL, cl3), 0);
    const char *d[] = {NULL, NULL};
    int cl4[2];
    assert_int_equal(metrics_cluster(d, 2, NULL, NULL, cl4), 0);
    assert_int_equal(cl4[0], -1);
}

/* ===== maj@k ===== */

static void check_curve(const int *cl, int n, const int *ok, int ncl, const double *want)
{
    double curve[16];
    assert_int_equal(metrics_maj_curve(cl, n, ok, ncl, n, 1, curve), 0);
    for (int k = 1; k <= n; k++) {
        assert_near(curve[k - 1], want[k - 1]);
        assert_near(metrics_maj_at_k(cl, n, ok, ncl, k, 1), want[k - 1]);
    }
}

static void test_maj_small(void **state)
{
    (void)state;
    /* answers 1 2 2 1, "1" correct. k=2: {0,1} {0,2} go to cluster 0 (earliest slot 0),
       {0,3} both "1"; {1,2} "2"; {1,3} tie, "2" has the earlier slot (1 < 3); {2,3} tie,
       "2" (2 < 3): 3/6. k=3: {0,1,3} {0,2,3} win, {0,1,2} {1,2,3} lose: 2/4. k=4: tie 2-2, slot 0. */
    int cl_a[] = {0, 1, 1, 0}, ok_a[] = {1, 0};
    double want_a[] = {0.5, 0.5, 0.5, 1.0};
    check_curve(cl_a, 4, ok_a, 2, want_a);

    /* answers -, x, y, y, z with y correct (cluster 1), slot 0 does not vote.
       k=1: {2} {3} of 5 = 0.4; {0} has no votes and scores 0.
       k=2 (10 subsets): {0,2} {0,3} {2,3} {2,4} {3,4} = 0.5 ({1,2} {1,3} are ties won by x).
       k=3 (10): {0,2,3} {0,2,4} {0,3,4} {1,2,3} {2,3,4} = 0.5.
       k=4 (5): without 0, 1 or 4 y has 2 votes; without 2 or 3 it is a 1-1-1 tie won by x: 0.6.
       k=5: y has 2 votes: 1. */
    int cl_b[] = {-1, 0, 1, 1, 2}, ok_b[] = {0, 1, 0};
    double want_b[] = {0.4, 0.5, 0.5, 0.6, 1.0};
    check_curve(cl_b, 5, ok_b, 3, want_b);

    /* nobody votes: 0 for every k */
    int cl_c[] = {-1, -1, -1}, ok_c[] = {0};
    double want_c[] = {0, 0, 0};
    check_curve(cl_c, 3, ok_c, 0, want_c);

    /* invalid arguments */
    assert_true(isnan(metrics_maj_at_k(cl_a, 4, ok_a, 2, 0, 1)));
    assert_true(isnan(metrics_maj_at_k(cl_a, 4, ok_a, 2, 5, 1)));
    assert_true(isnan(metrics_maj_at_k(cl_a, 4, ok_a, 1, 2, 1))); /* cluster 1 out of range */
    double curve[8];
    assert_int_equal(metrics_maj_curve(cl_a, 4, ok_a, 2, 5, 1, curve), -1);
}

/* P(the correct cluster of size a wins a k-vote against one wrong cluster of size n - a), k odd */
static double hypergeom_win(int n, int a, int k)
{
    double total = 0, win = 0;
    for (int j = 0; j <= k; j++) {
        if (j > a || k - j > n - a)
            continue;
        double w = exp(lgamma(a + 1.0) - lgamma(j + 1.0) - lgamma(a - j + 1.0) + lgamma(n - a + 1.0) -
                       lgamma(k - j + 1.0) - lgamma(n - a - (k - j) + 1.0));
        total += w;
        if (2 * j > k)
            win += w;
    }
    return win / total;
}

static void test_maj_monte_carlo(void **state)
{
    (void)state;
    /* 40 answers: 22 correct, 18 wrong, interleaved. C(40, k) > 20000 for 4 <= k <= 36:
       Monte-Carlo with 4000 draws (standard error <= 0.008) */
    int n = 40, cl[40], ok[2] = {1, 0};
    for (int i = 0; i < n; i++)
        cl[i] = i < 36 ? i % 2 : 0; /* 18 + 4 = 22 in cluster 0 */
    double curve[40];
    assert_int_equal(metrics_maj_curve(cl, n, ok, 2, n, 99, curve), 0);
    for (int k = 1; k <= n; k += 2)
        assert_close(curve[k - 1], hypergeom_win(n, 22, k), 0.035);
    assert_near(curve[0], 22.0 / 40.0);  /* exact */
    assert_near(curve[39], 1.0);         /* exact: 22 > 18 */
    /* deterministic, and curve == single k bit for bit */
    double again[40];
    assert_int_equal(metrics_maj_curve(cl, n, ok, 2, n, 99, again), 0);
    assert_memory_equal(curve, again, sizeof(curve));
    for (int k = 1; k <= n; k += 7)
        assert_true(metrics_maj_at_k(cl, n, ok, 2, k, 99) == curve[k - 1]);
    /* another seed gives other draws */
    assert_int_equal(metrics_maj_curve(cl, n, ok, 2, n, 100, again), 0);
    assert_true(memcmp(curve, again, sizeof(curve)) != 0);

    /* one cluster, all correct: 1 for every k, exact or not */
    for (int i = 0; i < n; i++)
        cl[i] = 0;
    assert_int_equal(metrics_maj_curve(cl, n, ok, 1, n, 5, curve), 0);
    for (int k = 1; k <= n; k++)
        assert_true(curve[k - 1] == 1.0);
}

static void test_maj_large_population(void **state)
{
    (void)state;
    /* N = 4096, the largest population: every k at once stays cheap (bounded draws) */
    int n = 4096;
    int *cl = malloc((size_t)n * sizeof(int));
    double *curve = malloc((size_t)n * sizeof(double));
    assert_non_null(cl);
    assert_non_null(curve);
    int ok[3] = {0, 1, 0};
    for (int i = 0; i < n; i++)
        cl[i] = i % 7 == 0 ? -1 : i % 3; /* cluster 1 (correct) has 1170 voters, 0 has 1170, 2 has 1170 */
    int cnt[3] = {0, 0, 0}, voters = 0;
    for (int i = 0; i < n; i++)
        if (cl[i] >= 0) {
            cnt[cl[i]]++;
            voters++;
        }
    assert_int_equal(metrics_maj_curve(cl, n, ok, 3, n, 7, curve), 0);
    assert_near(curve[0], (double)cnt[1] / n); /* k = 1 exact: a correct voter drawn */
    /* k = n: the largest cluster; on a tie the cluster with the earliest slot (slot 1 is cluster 1) */
    int best = 0;
    for (int c = 1; c < 3; c++)
        if (cnt[c] > cnt[best])
            best = c;
    int first[3] = {n, n, n};
    for (int i = n - 1; i >= 0; i--)
        if (cl[i] >= 0)
            first[cl[i]] = i;
    for (int c = 0; c < 3; c++)
        if (cnt[c] == cnt[best] && first[c] < first[best])
            best = c;
    assert_near(curve[n - 1], ok[best] ? 1.0 : 0.0);
    for (int k = 1; k <= n; k++)
        assert_true(curve[k - 1] >= 0.0 && curve[k - 1] <= 1.0);
    (void)voters;
    free(cl);
    free(curve);
}

/* ===== quantiles ===== */

static void test_quantile(void **state)
{
    (void)state;
    double v[] = {3, 1, 4, 1, 5}; /* sorted 1 1 3 4 5 */
    double scratch[5];
    assert_near(metrics_quantile(v, 5, 0.5, scratch), 3);
    assert_near(metrics_quantile(v, 5, 0.25, scratch), 1);   /* h = 1 */
    assert_near(metrics_quantile(v, 5, 0.75, scratch), 4);   /* h = 3 */
    assert_near(metrics_quantile(v, 5, 0.9, NULL), 4.6);     /* h = 3.6: 4 + 0.6 * (5 - 4) */
    assert_near(metrics_quantile(v, 5, 0.0, NULL), 1);
    assert_near(metrics_quantile(v, 5, 1.0, NULL), 5);
    assert_near(v[0], 3); /* the input is not reordered */
    double w[] = {4, 2, 1, 3};
    assert_near(metrics_quantile(w, 4, 0.5, NULL), 2.5);     /* h = 1.5 */
    assert_near(metrics_quantile(w, 4, 0.25, NULL), 1.75);   /* h = 0.75 */
    assert_near(metrics_quantile(w, 4, 0.75, NULL), 3.25);   /* h = 2.25 */
    double one = 7;
    assert_near(metrics_quantile(&one, 1, 0.3, NULL), 7);
    assert_true(isnan(metrics_quantile(v, 0, 0.5, NULL)));
    assert_true(isnan(metrics_quantile(v, 5, -0.1, NULL)));
    assert_true(isnan(metrics_quantile(v, 5, 1.5, NULL)));
    assert_true(isnan(metrics_quantile(v, 5, NAN, NULL)));
}

/* ===== bootstrap ===== */

static void test_bootstrap(void **state)
{
    (void)state;
    double m, lo, hi;
    double eq[] = {0.25, 0.25, 0.25, 0.25, 0.25};
    metrics_bootstrap_ci(eq, 5, 2000, 1, &m, &lo, &hi);
    assert_true(m == 0.25 && lo == 0.25 && hi == 0.25); /* zero width */
    double one[] = {0.7};
    metrics_bootstrap_ci(one, 1, 2000, 1, &m, &lo, &hi);
    assert_true(m == 0.7 && lo == 0.7 && hi == 0.7);
    metrics_bootstrap_ci(one, 0, 2000, 1, &m, &lo, &hi);
    assert_true(isnan(m) && isnan(lo) && isnan(hi));
    metrics_bootstrap_ci(eq, 5, 0, 1, &m, &lo, &hi); /* no resamples: no interval */
    assert_true(m == 0.25 && isnan(lo) && isnan(hi));

    /* {0, 1}: resample means 0, 0.5, 1 with probability 1/4, 1/2, 1/4: the 2.5% and 97.5%
       percentiles are 0 and 1 */
    double zo[] = {0, 1};
    metrics_bootstrap_ci(zo, 2, 2000, 3, &m, &lo, &hi);
    assert_near(m, 0.5);
    assert_near(lo, 0.0);
    assert_near(hi, 1.0);

    /* deterministic for a seed; the seed matters */
    double v[] = {0.1, 0.9, 0.4, 0.35, 0.8, 0.05, 0.6, 0.7};
    double m1, lo1, hi1, m2, lo2, hi2;
    metrics_bootstrap_ci(v, 8, 2000, 42, &m1, &lo1, &hi1);
    metrics_bootstrap_ci(v, 8, 2000, 42, &m2, &lo2, &hi2);
    assert_true(m1 == m2 && lo1 == lo2 && hi1 == hi2);
    assert_near(m1, 3.9 / 8);
    assert_true(lo1 < m1 && m1 < hi1 && lo1 >= 0.05 && hi1 <= 0.9);
    metrics_bootstrap_ci(v, 8, 2000, 43, &m2, &lo2, &hi2);
    assert_true(lo1 != lo2 || hi1 != hi2);
}

static void test_paired_bootstrap(void **state)
{
    (void)state;
    double d, lo, hi, p;
    double a[] = {1, 1, 1, 0.5}, z[] = {0, 0, 0, 0};
    metrics_paired_bootstrap(a, z, 4, 2000, 9, &d, &lo, &hi, &p);
    assert_near(d, 0.875);
    assert_true(lo > 0 && hi <= 1.0);
    assert_true(p == 0.0); /* every difference is positive */
    metrics_paired_bootstrap(z, a, 4, 2000, 9, &d, &lo, &hi, &p);
    assert_near(d, -0.875);
    assert_true(hi < 0);
    assert_true(p == 1.0);
    metrics_paired_bootstrap(a, a, 4, 2000, 9, &d, &lo, &hi, &p);
    assert_true(d == 0 && lo == 0 && hi == 0 && p == 1.0); /* 0 <= 0 */

    /* pairing: a = b + 0.25 with b spread out: the paired CI has zero width, while the
       unpaired bootstrap of a alone is wide */
    double b[] = {0, 0.5, 0.75, 0.25}, b2[] = {0.25, 0.75, 1.0, 0.5};
    metrics_paired_bootstrap(b2, b, 4, 2000, 9, &d, &lo, &hi, &p);
    assert_true(d == 0.25 && lo == 0.25 && hi == 0.25 && p == 0.0);
    double m, ulo, uhi;
    metrics_bootstrap_ci(b2, 4, 2000, 9, &m, &ulo, &uhi);
    assert_true(uhi - ulo > 0.3);

    metrics_paired_bootstrap(a, z, 0, 2000, 9, &d, &lo, &hi, &p);
    assert_true(isnan(d) && isnan(lo) && isnan(hi) && isnan(p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_at_k),
        cmocka_unit_test(test_cluster),
        cmocka_unit_test(test_maj_small),
        cmocka_unit_test(test_maj_monte_carlo),
        cmocka_unit_test(test_maj_large_population),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_paired_bootstrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
