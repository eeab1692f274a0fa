/*
 * analysis.h: everything a report shows about stored runs, computed once from the
 * store and then written by the text/JSON/CSV writers (report.c) and the SVG/HTML
 * writers (plot.c). No output here.
 *
 * Groups: a (problem, repeat, round) holds the N traces of one population. Per problem,
 * a statistic is the mean over its repeats (repeats pooled with equal weight); per round
 * it is the mean over problems, and the 95% CI is a bootstrap over problems
 * (ANALYSIS_BOOT_B resamples, seeded by ANALYSIS_BOOT_SEED, both recorded in reports).
 * Token counts: decode = completion tokens, prefill = prompt tokens; "per group" values
 * are totals divided by the number of (problem, repeat) groups, i.e. the budget spent on
 * one problem once; cumulative values add rounds 0..t.
 */
#ifndef RSA_ANALYSIS_H
#define RSA_ANALYSIS_H

#include <stdint.h>

#include "err.h"
#include "store/store.h"

#define ANALYSIS_BOOT_B 2000
#define ANALYSIS_BOOT_SEED 20250926u

struct ci { double mean, lo, hi; };

struct round_stats {
    int round;                     /* 0 = initial population; t = after t aggregation rounds */
    int groups, traces, graded, no_answer, unparseable, think_unclosed;
    int finish_stop, finish_length, finish_other;
    struct ci mean_acc;            /* avg@N, RSA's "Pass@1" */
    struct ci pass_n;              /* any of the N correct */
    struct ci maj_n;               /* majority vote of the N */
    double *pass_at_k;             /* [n_k]: index k-1, k = 1..n_k (n_k = population), mean over problems */
    double *maj_at_k;              /* [n_k] */
    int n_k;
    int64_t decode_tokens, prefill_tokens;          /* totals of this round */
    int64_t cum_decode_tokens, cum_prefill_tokens;  /* totals of rounds 0..round */
    double decode_per_group, cum_decode_per_group;  /* per (problem, repeat) */
    double prefill_per_group, cum_prefill_per_group;
    double len_mean, len_q25, len_median, len_q75; /* completion tokens per trace */
};

struct run_analysis {
    char *name, *status, *grader;  /* grader "name/version" of the stored verdicts ("mixed" when several) */
    int population, subset, rounds, tail_tokens, max_tokens, repeats;
    int64_t seed;
    int n_problems;                /* problems with at least one trace */
    char **problem_ids;            /* [n_problems] */
    int n_rounds;                  /* rounds with traces: stats[0..n_rounds-1] */
    struct round_stats *stats;     /* [n_rounds] */
    double *heat;                  /* [n_rounds * n_problems]: per-problem mean_acc, row = round; NAN = no traces */
    /* per-problem values the budget comparison pairs on: [n_rounds * n_problems], row = round */
    double *prob_mean_acc;
    double **prob_pass_at_k;       /* [n_rounds * n_problems] arrays of [population] (k = 1..N) */
    double **prob_maj_at_k;        /* same shape */
    double *prob_cum_decode;       /* per-problem cumulative decode tokens per repeat, [n_rounds * n_problems] */
};

/* analysis_run: compute the analysis of run `name` (NULL = newest run). Answers are clustered
   with grade_equiv for majority votes. Returns RSA_ERR_NOT_FOUND naming the run if absent. */
enum rsa_err analysis_run(struct store *s, const char *name, struct run_analysis *out, char *err, size_t errlen);
void analysis_free(struct run_analysis *a);

/* Budget-matched comparison of an RSA run against a plain-sampling baseline (T = 0) on the
   problems both runs share. For each RSA round t the baseline is read at k = round(B_t / d),
   where B_t is the RSA run's cumulative decode tokens per (problem, repeat) and d the
   baseline's mean decode tokens per sample, clamped to 1..N_base (capped = 1 when clamped). */
struct budget_point {
    int round;
    double tokens;                 /* RSA cumulative decode tokens per problem */
    int k;                         /* matched baseline sample count */
    int capped;                    /* the match needed more baseline samples than exist */
    struct ci rsa;                 /* RSA mean_acc at this round (over common problems) */
    double base_pass1, base_maj_k, base_pass_k;
    struct ci diff_pass1, diff_maj_k, diff_pass_k;   /* RSA - baseline, paired bootstrap over problems */
    double p_le0_pass1, p_le0_maj_k, p_le0_pass_k;  /* fraction of resamples with difference <= 0 */
};

struct budget_cmp {
    char *rsa_name, *base_name;
    int n_common;                  /* problems in both runs */
    int base_n;                    /* baseline samples per problem (population) */
    double base_tokens_per_sample;
    int n_points;
    struct budget_point *points;   /* [n_points], one per RSA round */
    /* the baseline curves at x = k * base_tokens_per_sample, k = 1..base_n, over common problems */
    double *base_curve_pass1, *base_curve_maj, *base_curve_pass;   /* [base_n] */
};

/* analysis_budget: compare; both analyses must come from analysis_run. The baseline must have
   rounds == 0 stats (its round 0 is used); a baseline with no common problems is RSA_ERR_USAGE. */
enum rsa_err analysis_budget(const struct run_analysis *rsa, const struct run_analysis *base, struct budget_cmp *out,
                             char *err, size_t errlen);
void analysis_budget_free(struct budget_cmp *b);

#endif
