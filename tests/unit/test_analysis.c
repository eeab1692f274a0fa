/*
 * test_analysis.c: rsa/analysis.c on real SQLite stores built here, every expected number
 * computed by hand (the derivations are in the comments): per-round mean_acc, pass@k,
 * maj@k with ties and non-voting traces, repeats, bootstrap CIs, tokens with unknown
 * counts, lengths, finish reasons, an unfinished run, an empty run, and the
 * budget-matched comparison against a plain-sampling baseline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "rsa/analysis.h"
#include "store/store.h"
#include "testutil.h"

#include "fixture_runs.h"

static struct store *db;


/* ===== run "base2": plain sampling with N = 2 (problems A: 5+ 7, B: 3 10+), 500 tokens each:
   every RSA round needs more than 2 samples' tokens, so k is capped at 2 ===== */
static const struct row base2_rows[] = {
    {0, 0, 0, 0, "5", 1, "correct", 500, 5, "stop", 1},
    {0, 0, 0, 1, "7", 0, "wrong", 500, 5, "stop", 1},
    {1, 0, 0, 0, "3", 0, "wrong", 500, 5, "stop", 1},
    {1, 0, 0, 1, "10", 1, "correct", 500, 5, "stop", 1},
};

/* ===== run "partial": N = 3, T = 3, stopped in round 1 (one group of 2 traces), plus a
   stray round-3 trace that must be ignored (round 2 has none) =====
 *   round 0: 1+ 2 2   -> mean 1/3, pass 1/3 2/3 1, maj 1/3 2/3 0
 *   round 1: 1+ 2     -> n = 2: mean 1/2, pass@1 1/2, pass@2 = 1, pass@3 read at k = 2: 1;
 *                        maj@1 1/2, maj@2 tie won by 1 (slot 0): 1, maj@3 = maj@2 = 1 */
static const struct row partial_rows[] = {
    {0, 0, 0, 0, "1", 1, "correct", 10, 1, "stop", 1},
    {0, 0, 0, 1, "2", 0, "wrong", 20, 1, "stop", 1},
    {0, 0, 0, 2, "2", 0, "wrong", 30, 1, "stop", 1},
    {0, 0, 1, 0, "1", 1, "correct", 40, 1, "stop", 1},
    {0, 0, 1, 1, "2", 0, "wrong", 50, 1, "stop", 1},
    {0, 0, 3, 0, "1", 1, "correct", 60, 1, "stop", 1},
};

/* ===== run "notok": plain sampling whose server reported no token usage ===== */
static const struct row notok_rows[] = {
    {0, 0, 0, 0, "5", 1, "correct", -1, -1, "stop", 1},
    {1, 0, 0, 0, "3", 0, "wrong", -1, -1, "stop", 1},
};

static int make_run(const char *name, int population, int rounds, int repeats, const struct store_problem *probs,
                    int n_probs, const struct row *rows, int n_rows)
{
    int64_t id;
    return fixture_make_run(db, &id, name, "{}", population, rounds, repeats, probs, n_probs, rows, n_rows, "p");
}

static int group_setup(void **state)
{
    (void)state;
    if (testutil_tmpdir_make("analysis") != 0)
        return -1;
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/analysis.db", tmpdir);
    if (store_open(path, &db, err, sizeof(err)) != RSA_OK)
        return -1;
    struct store_problem rp[2] = {{0, "prob-A", "q", "5"}, {1, "prob-B", "q", "10"}};
    struct store_problem bp[3] = {{0, "prob-C", "q", "1"}, {1, "prob-B", "q", "10"}, {2, "prob-A", "q", "5"}};
    struct store_problem xp[1] = {{0, "prob-X", "q", "1"}};
    if (make_run("base", 4, 0, 1, bp, 3, base_rows, N_OF(base_rows)) ||
        make_run("partial", 3, 3, 1, NULL, 0, partial_rows, N_OF(partial_rows)) ||
        make_run("other", 4, 0, 1, xp, 1, base_rows, 4) ||
        make_run("base2", 2, 0, 1, rp, 2, base2_rows, N_OF(base2_rows)) ||
        make_run("notok", 1, 0, 1, rp, 2, notok_rows, N_OF(notok_rows)) ||
        make_run("empty", 3, 2, 1, rp, 2, NULL, 0) ||
        make_run("rsa", 3, 1, 2, rp, 2, rsa_rows, N_OF(rsa_rows)))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(db);
    return testutil_tmpdir_remove();
}

static void analyse(const char *name, struct run_analysis *a)
{
    char err[256] = "";
    enum rsa_err rc = analysis_run(db, name, a, err, sizeof(err));
    if (rc != RSA_OK)
        fail_msg("analysis_run(%s): %s", name ? name : "NULL", err);
}

/* ===== tests ===== */

static void test_rounds(void **state)
{
    (void)state;
    struct run_analysis a;
    analyse("rsa", &a);
    assert_string_equal(a.name, "rsa");
    assert_string_equal(a.status, "complete");
    assert_string_equal(a.grader, "testgrader/9");
    assert_string_equal(a.tail_method, "tokens:server");
    assert_int_equal(a.population, 3);
    assert_int_equal(a.repeats, 2);
    assert_int_equal(a.rounds, 1);
    assert_int_equal(a.n_k, 3);
    assert_int_equal(a.n_problems, 2);
    assert_string_equal(a.problem_ids[0], "prob-A");
    assert_string_equal(a.problem_ids[1], "prob-B");
    assert_int_equal(a.n_rounds, 2);

    const struct round_stats *s0 = &a.stats[0], *s1 = &a.stats[1];
    assert_int_equal(s0->round, 0);
    assert_int_equal(s0->n_k, 3);
    assert_int_equal(s0->groups, 4);
    assert_int_equal(s0->traces, 12);
    assert_int_equal(s0->graded, 12);
    assert_near(s0->mean_acc.mean, 1.0 / 3);
    assert_near(s0->pass_n.mean, 0.75);
    assert_near(s0->maj_n.mean, 0.5);
    double p0[] = {1.0 / 3, 7.0 / 12, 0.75}, m0[] = {1.0 / 3, 7.0 / 12, 0.5};
    for (int k = 0; k < 3; k++) {
        assert_near(s0->pass_at_k[k], p0[k]);
        assert_near(s0->maj_at_k[k], m0[k]);
    }
    assert_true(s0->pass_at_k[2] == s0->pass_n.mean);
    /* bootstrap over the two problems {1/2, 1/6}: resample means 1/6, 1/3, 1/2 */
    assert_near(s0->mean_acc.lo, 1.0 / 6);
    assert_near(s0->mean_acc.hi, 0.5);
    /* pass@3 per problem {1, 1/2}, maj@3 {1/2, 1/2} */
    assert_near(s0->pass_n.lo, 0.5);
    assert_near(s0->pass_n.hi, 1.0);
    assert_true(s0->maj_n.lo == 0.5 && s0->maj_n.hi == 0.5);

    assert_int_equal(s1->groups, 4);
    assert_int_equal(s1->traces, 12);
    assert_int_equal(s1->graded, 11); /* the ungraded "3" */
    assert_near(s1->mean_acc.mean, 7.0 / 12);
    assert_near(s1->mean_acc.lo, 0.5);
    assert_near(s1->mean_acc.hi, 2.0 / 3);
    double p1[] = {7.0 / 12, 5.0 / 6, 1}, m1[] = {7.0 / 12, 0.75, 0.75};
    for (int k = 0; k < 3; k++) {
        assert_near(s1->pass_at_k[k], p1[k]);
        assert_near(s1->maj_at_k[k], m1[k]);
    }
    assert_near(s1->pass_n.mean, 1);
    assert_near(s1->maj_n.mean, 0.75);

    /* counters */
    assert_int_equal(s0->no_answer, 2);
    assert_int_equal(s0->unparseable, 1);
    assert_int_equal(s0->think_unclosed, 2);
    assert_int_equal(s0->finish_stop, 10);
    assert_int_equal(s0->finish_length, 2);
    assert_int_equal(s0->finish_other, 0);
    assert_int_equal(s1->no_answer, 0);
    assert_int_equal(s1->unparseable, 0);
    assert_int_equal(s1->think_unclosed, 0);
    assert_int_equal(s1->finish_stop, 11);
    assert_int_equal(s1->finish_other, 1);
    analysis_free(&a);
    analysis_free(&a); /* idempotent */
}

static void test_tokens_and_lengths(void **state)
{
    (void)state;
    struct run_analysis a;
    analyse("rsa", &a);
    const struct round_stats *s0 = &a.stats[0], *s1 = &a.stats[1];
    /* unknown counts are 0 in the sums */
    assert_int_equal(s0->decode_tokens, 5630);
    assert_int_equal(s1->decode_tokens, 2130);
    assert_int_equal(s0->cum_decode_tokens, 5630);
    assert_int_equal(s1->cum_decode_tokens, 7760);
    assert_int_equal(s0->prefill_tokens, 110);
    assert_int_equal(s1->prefill_tokens, 1200);
    assert_int_equal(s1->cum_prefill_tokens, 1310);
    assert_near(s0->decode_per_group, 5630.0 / 4);
    assert_near(s1->decode_per_group, 2130.0 / 4);
    assert_near(s1->cum_decode_per_group, 7760.0 / 4);
    assert_near(s0->prefill_per_group, 27.5);
    assert_near(s1->cum_prefill_per_group, 327.5);
    /* lengths over the 11 known counts.
       round 0 sorted: 100 110 120 200 300 500 600 700 1000 1000 1000 -> q25 h=2.5: 160, median 500, q75 h=7.5: 850
       round 1 sorted: 50 50 50 60 60 60 300 300 400 400 400 -> 55, 60, 350 */
    assert_near(s0->len_mean, 5630.0 / 11);
    assert_near(s0->len_q25, 160);
    assert_near(s0->len_median, 500);
    assert_near(s0->len_q75, 850);
    assert_near(s1->len_mean, 2130.0 / 11);
    assert_near(s1->len_q25, 55);
    assert_near(s1->len_median, 60);
    assert_near(s1->len_q75, 350);
    analysis_free(&a);
}

static void test_per_problem(void **state)
{
    (void)state;
    struct run_analysis a;
    analyse("rsa", &a);
    int P = a.n_problems;
    /* heat map = per-problem mean_acc, row = round */
    double heat[] = {0.5, 1.0 / 6, 2.0 / 3, 0.5};
    for (int i = 0; i < 4; i++) {
        assert_near(a.heat[i], heat[i]);
        assert_near(a.prob_mean_acc[i], heat[i]);
        assert_near(a.prob_traces[i], 3);
    }
    double pA0[] = {0.5, 5.0 / 6, 1}, mA0[] = {0.5, 5.0 / 6, 0.5};
    double pB1[] = {0.5, 5.0 / 6, 1}, mB1[] = {0.5, 5.0 / 6, 1};
    double mA1[] = {2.0 / 3, 2.0 / 3, 0.5};
    for (int k = 0; k < 3; k++) {
        assert_near(a.prob_pass_at_k[0 * P + 0][k], pA0[k]);
        assert_near(a.prob_maj_at_k[0 * P + 0][k], mA0[k]);
        assert_near(a.prob_pass_at_k[1 * P + 1][k], pB1[k]);
        assert_near(a.prob_maj_at_k[1 * P + 1][k], mB1[k]);
        assert_near(a.prob_maj_at_k[1 * P + 0][k], mA1[k]);
    }
    /* cumulative decode per repeat: A (600 + 230) / 2 = 415, + (150 + 180) / 2 = 580;
       B (3000 + 1800) / 2 = 2400, + (1200 + 600) / 2 = 3300 */
    assert_near(a.prob_cum_decode[0], 415);
    assert_near(a.prob_cum_decode[1], 2400);
    assert_near(a.prob_cum_decode[2], 580);
    assert_near(a.prob_cum_decode[3], 3300);
    analysis_free(&a);
}

static void test_unfinished_run(void **state)
{
    (void)state;
    struct run_analysis a;
    analyse("partial", &a);
    assert_int_equal(a.rounds, 3);
    assert_int_equal(a.n_rounds, 2); /* round 2 has no trace: rounds 2 and 3 are left out */
    assert_int_equal(a.n_problems, 1);
    assert_string_equal(a.problem_ids[0], "#0"); /* no problems row */
    double p0[] = {1.0 / 3, 2.0 / 3, 1}, m0[] = {1.0 / 3, 2.0 / 3, 0};
    double p1[] = {0.5, 1, 1}, m1[] = {0.5, 1, 1};
    for (int k = 0; k < 3; k++) {
        assert_near(a.stats[0].pass_at_k[k], p0[k]);
        assert_near(a.stats[0].maj_at_k[k], m0[k]);
        assert_near(a.stats[1].pass_at_k[k], p1[k]);
        assert_near(a.stats[1].maj_at_k[k], m1[k]);
    }
    assert_near(a.stats[1].mean_acc.mean, 0.5);
    assert_int_equal(a.stats[1].traces, 2);
    assert_int_equal(a.stats[1].decode_tokens, 90);
    assert_int_equal(a.stats[1].cum_decode_tokens, 150);
    assert_near(a.stats[1].mean_acc.lo, 0.5); /* one problem: zero width */
    assert_near(a.stats[1].mean_acc.hi, 0.5);
    analysis_free(&a);
}

static void test_empty_and_missing(void **state)
{
    (void)state;
    struct run_analysis a;
    analyse("empty", &a);
    assert_int_equal(a.n_rounds, 0);
    assert_int_equal(a.n_problems, 0);
    assert_null(a.stats);
    assert_string_equal(a.grader, "none");
    analysis_free(&a);

    char err[256] = "";
    assert_int_equal(analysis_run(db, "nope", &a, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "nope"));
    analysis_free(&a);

    /* NULL = the newest run */
    analyse(NULL, &a);
    assert_string_equal(a.name, "rsa");
    analysis_free(&a);

    /* a database without runs */
    char path[512];
    snprintf(path, sizeof(path), "%s/none.db", tmpdir);
    struct store *none = NULL;
    assert_int_equal(store_open(path, &none, err, sizeof(err)), RSA_OK);
    assert_int_equal(analysis_run(none, NULL, &a, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    store_close(none);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct run_analysis a, b;
    analyse("rsa", &a);
    analyse("rsa", &b);
    for (int t = 0; t < a.n_rounds; t++) {
        assert_memory_equal(&a.stats[t].mean_acc, &b.stats[t].mean_acc, sizeof(struct ci));
        assert_memory_equal(a.stats[t].maj_at_k, b.stats[t].maj_at_k, 3 * sizeof(double));
    }
    analysis_free(&a);
    analysis_free(&b);
}

static void test_budget(void **state)
{
    (void)state;
    struct run_analysis r, b;
    analyse("rsa", &r);
    analyse("base", &b);
    struct budget_cmp c;
    char err[256] = "";
    assert_int_equal(analysis_budget(&r, &b, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.rsa_name, "rsa");
    assert_string_equal(c.base_name, "base");
    assert_int_equal(c.n_common, 2);
    assert_int_equal(c.base_n, 4);
    assert_near(c.base_tokens_per_sample, 500); /* prob-C's 9999 do not count */
    assert_int_equal(c.n_points, 2);

    /* round 0: B_0 = (415 + 2400) / 2 = 1407.5, 1407.5 / 500 = 2.815 -> k = 3 (half-up).
       RSA per problem {1/2, 1/6}; baseline pass@1 {1/2, 1/4}, maj@3 {1/2, 1/4}, pass@3 {1, 3/4} */
    const struct budget_point *p = &c.points[0];
    assert_int_equal(p->round, 0);
    assert_near(p->tokens, 1407.5);
    assert_near(p->raw_k, 1407.5 / 500);
    assert_int_equal(p->k, 3);
    assert_int_equal(p->capped, 0);
    assert_int_equal(p->n_pairs, 2);
    assert_near(p->rsa.mean, 1.0 / 3);
    assert_near(p->base_pass1, 0.375);
    assert_near(p->base_maj_k, 0.375);
    assert_near(p->base_pass_k, 0.875);
    assert_near(p->diff_pass1.mean, -1.0 / 24);    /* differences {0, -1/12} */
    assert_near(p->diff_pass1.lo, -1.0 / 12);
    assert_near(p->diff_pass1.hi, 0);
    assert_true(p->p_le0_pass1 == 1.0);
    assert_near(p->diff_maj_k.mean, -1.0 / 24);
    assert_near(p->diff_pass_k.mean, -13.0 / 24);  /* {-1/2, -7/12} */
    assert_near(p->diff_pass_k.lo, -7.0 / 12);
    assert_near(p->diff_pass_k.hi, -0.5);
    assert_true(p->p_le0_pass_k == 1.0);

    /* round 1: B_1 = (580 + 3300) / 2 = 1940, / 500 = 3.88 -> k = 4 = N, not capped.
       RSA {2/3, 1/2}; baseline maj@4 {1, 0}, pass@4 {1, 1} */
    p = &c.points[1];
    assert_near(p->tokens, 1940);
    assert_int_equal(p->k, 4);
    assert_int_equal(p->capped, 0);
    assert_near(p->rsa.mean, 7.0 / 12);
    assert_near(p->diff_pass1.mean, 5.0 / 24);     /* {1/6, 1/4} */
    assert_near(p->diff_pass1.lo, 1.0 / 6);
    assert_near(p->diff_pass1.hi, 0.25);
    assert_true(p->p_le0_pass1 == 0.0);
    assert_near(p->base_maj_k, 0.5);
    assert_near(p->diff_maj_k.mean, 1.0 / 12);     /* {-1/3, 1/2}: <= 0 only when A is drawn twice */
    assert_near(p->diff_maj_k.lo, -1.0 / 3);
    assert_near(p->diff_maj_k.hi, 0.5);
    assert_true(p->p_le0_maj_k > 0.2 && p->p_le0_maj_k < 0.3);
    assert_near(p->base_pass_k, 1);
    assert_near(p->diff_pass_k.mean, -5.0 / 12);   /* {-1/3, -1/2} */

    /* baseline curves over the common problems, k = 1..4 */
    double c1[] = {0.375, 0.375, 0.375, 0.375};
    double cm[] = {0.375, 5.0 / 12, 0.375, 0.5};
    double cp[] = {0.375, 2.0 / 3, 0.875, 1};
    for (int k = 0; k < 4; k++) {
        assert_near(c.base_curve_pass1[k], c1[k]);
        assert_near(c.base_curve_maj[k], cm[k]);
        assert_near(c.base_curve_pass[k], cp[k]);
    }
    analysis_budget_free(&c);
    analysis_budget_free(&c);

    /* capped: N = 2 baseline, 1407.5 / 500 and 1940 / 500 both exceed 2 */
    struct run_analysis b2;
    analyse("base2", &b2);
    assert_int_equal(analysis_budget(&r, &b2, &c, err, sizeof(err)), RSA_OK);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(c.points[t].k, 2);
        assert_int_equal(c.points[t].capped, 1);
        assert_near(c.points[t].base_pass1, 0.5);
        assert_near(c.points[t].base_pass_k, 1);  /* pass@2 = 1 for both */
        assert_near(c.points[t].base_maj_k, 0.5); /* 1-1 ties won by slot 0: 5 (right), 3 (wrong) */
    }
    analysis_budget_free(&c);
    analysis_free(&b2);

    /* wrong way round, no common problem, a baseline that is not T = 0 */
    assert_int_equal(analysis_budget(&b, &r, &c, err, sizeof(err)), RSA_ERR_USAGE);
    assert_int_equal(analysis_budget(&r, &r, &c, err, sizeof(err)), RSA_ERR_USAGE);
    struct run_analysis o;
    analyse("other", &o);
    assert_int_equal(analysis_budget(&r, &o, &c, err, sizeof(err)), RSA_ERR_USAGE);
    assert_non_null(strstr(err, "share no problem"));
    analysis_budget_free(&c);
    analysis_free(&o);
    /* a baseline without token counts cannot be matched: refused, not silently capped */
    struct run_analysis nt;
    analyse("notok", &nt);
    assert_int_equal(analysis_budget(&r, &nt, &c, err, sizeof(err)), RSA_ERR_USAGE);
    assert_non_null(strstr(err, "no decode token counts"));
    analysis_budget_free(&c);
    analysis_free(&nt);
    analysis_free(&r);
    analysis_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds),
        cmocka_unit_test(test_tokens_and_lengths),
        cmocka_unit_test(test_per_problem),
        cmocka_unit_test(test_unfinished_run),
        cmocka_unit_test(test_empty_and_missing),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
