/*
 * analysis.h: everything a report shows about stored runs, computed once from the
 * store and then written by the text/JSON/CSV writers (report.c) and the SVG/HTML
 * writers (plot.c). No output here.
 *
 * Groups: a (problem, repeat, round) holds the N traces of one population. Per group:
 * mean_acc = correct / traces (a trace is correct when its stored verdict is 1; ungraded
 * traces count as not correct), pass@k (metrics_pass_at_k) and maj@k (metrics_maj_at_k)
 * for k = 1..N. For maj@k the extracted answers of the group are clustered with
 * grade_equiv(representative, answer); traces with no answer or no verdict do not vote;
 * a cluster is correct when its first member's stored verdict is correct. A group with
 * fewer than N traces (an interrupted round) is read at k' = min(k, traces). maj@k
 * Monte-Carlo seeds derive from ANALYSIS_BOOT_SEED and the group's coordinates.
 *
 * Per problem, a statistic is the mean over the repeats that have the round (repeats
 * pooled with equal weight); per round it is the mean over the problems that have the
 * round, and the 95% CI is a percentile bootstrap over those problems (ANALYSIS_BOOT_B
 * resamples, seeded by ANALYSIS_BOOT_SEED, the same seed for every CI; both recorded in
 * reports).
 *
 * Rounds: stats hold rounds 0..n_rounds-1, the rounds that have traces, contiguous from
 * 0 (an unfinished run stops at its first round without traces; traces of later rounds,
 * or of rounds >= ANALYSIS_MAX_ROUNDS, are ignored). A run with no traces has n_rounds = 0,
 * n_problems = 0 and NULL arrays.
 *
 * Token counts: decode = completion tokens, prefill = prompt tokens; an unknown count
 * (-1 in the store) counts as 0 in every sum and is left out of the length statistics.
 * "per group" values are totals divided by the number of (problem, repeat) groups of the
 * round, i.e. the budget spent on one problem once; cumulative values add rounds 0..t.
 */
#ifndef RSA_ANALYSIS_H
#define RSA_ANALYSIS_H

#include <stdint.h>

#include "err.h"
#include "store/store.h"

#define ANALYSIS_BOOT_B 2000
#define ANALYSIS_BOOT_SEED 20250926u
#define ANALYSIS_MAX_ROUNDS 65536

struct ci { double mean, lo, hi; };

struct round_stats {
    int round;                     /* 0 = initial population; t = after t aggregation rounds */
    int groups, traces, graded, no_answer, unparseable, think_unclosed;
                                   /* groups: (problem, repeat) pairs with traces in this round;
                                      graded: verdict present; no_answer: no extracted answer;
                                      unparseable: verdict status "unparseable" */
    int finish_stop, finish_length, finish_other;  /* finish_reason "stop", "length", anything else */
    struct ci mean_acc;            /* avg@N, RSA's "Pass@1" */
    struct ci pass_n;              /* any of the N correct */
    struct ci maj_n;               /* majority vote of the N */
    double *pass_at_k;             /* [n_k]: index k-1, k = 1..n_k (n_k = population; the same in every
                                      round), mean over problems; pass_at_k[n_k-1] = pass_n.mean */
    double *maj_at_k;              /* [n_k] */
    int n_k;
    int64_t decode_tokens, prefill_tokens;          /* totals of this round */
    int64_t cum_decode_tokens, cum_prefill_tokens;  /* totals of rounds 0..round */
    double decode_per_group, cum_decode_per_group;  /* per (problem, repeat) */
    double prefill_per_group, cum_prefill_per_group;
    double len_mean, len_q25, len_median, len_q75; /* completion tokens per trace (known counts only;
                                                      NAN when none is known) */
};

struct run_analysis {
    char *name, *status, *grader;  /* grader "name/version" of the stored verdicts ("mixed" when several,
                                      "none" when no trace has a verdict) */
    int population, subset, rounds, tail_tokens, max_tokens, repeats;
    int64_t seed;
    int n_problems;                /* problems with at least one trace */
    char **problem_ids;            /* [n_problems], by problem index; "#<index>" when the run stored no
                                      problem row for it */
    int n_rounds;                  /* rounds with traces: stats[0..n_rounds-1] */
    struct round_stats *stats;     /* [n_rounds] */
    double *heat;                  /* [n_rounds * n_problems]: per-problem mean_acc, row = round; NAN = no traces */
    /* per-problem values the budget comparison pairs on: [n_rounds * n_problems], row = round,
       index t * n_problems + p; NAN (every entry of the inner arrays) where that problem has
       no trace in that round */
    double *prob_mean_acc;
    double **prob_pass_at_k;       /* [n_rounds * n_problems] arrays of [n_k] (k = 1..N), never NULL */
    double **prob_maj_at_k;        /* same shape */
    double *prob_cum_decode;       /* per-problem cumulative decode tokens per repeat: sum over rounds 0..t
                                      of (decode tokens of the round / repeats having it) */
    /* added after the first contract */
    char *tail_method;             /* "tokens:server", "chars:4", "whole", ... */
    int n_k;                       /* length of every pass@k / maj@k array: population (>= 1), or the
                                      largest group when the run records population <= 0 */
    double *prob_traces;           /* traces per repeat, same shape as prob_mean_acc (0 = none) */
};

/* analysis_find_run: read run `name` (NULL = the newest run) into info (store_run_info_free).
   RSA_ERR_NOT_FOUND, naming the run, when absent or when the database holds no runs. */
enum rsa_err analysis_find_run(struct store *s, const char *name, struct store_run_info *info, char *err,
                               size_t errlen);

/* analysis_run: compute the analysis of run `name` (NULL = newest run). Answers are clustered
   with grade_equiv for majority votes. Returns RSA_ERR_NOT_FOUND naming the run if absent.
   On error *out is left empty (safe to analysis_free). Deterministic. */
enum rsa_err analysis_run(struct store *s, const char *name, struct run_analysis *out, char *err, size_t errlen);
/* analysis_free: free everything and zero *a; NULL-safe, idempotent. */
void analysis_free(struct run_analysis *a);

/* Budget-matched comparison of an RSA run against a plain-sampling baseline (T = 0) on the
   problems both runs share. For each RSA round t the baseline is read at k = round(B_t / d),
   where B_t is the RSA run's cumulative decode tokens per (problem, repeat) and d the
   baseline's mean decode tokens per sample, clamped to 1..N_base (capped = 1 when clamped).
   Details: common problems are matched by problem id (first occurrence) and must have
   baseline round-0 traces. B_t = mean over the common problems having round t of
   prob_cum_decode; d = sum of baseline round-0 decode tokens per repeat over the common
   problems / sum of their traces per repeat. round() is half-up. capped = 1 only when
   B_t / d > N_base (k = N_base); below 1 it is raised to 1 with capped = 0. A baseline
   with no decode token counts on the common problems (d = 0) is refused (RSA_ERR_USAGE):
   budgets cannot be matched without them. Per point, the paired bootstraps run
   over the common problems that have round t: a[i] = RSA mean_acc of problem i at round t,
   b[i] = the baseline's per-problem pass@1 (= its mean_acc), maj@k or pass@k. A point with
   no such problem has k = 0 and NANs. All CIs use ANALYSIS_BOOT_B and ANALYSIS_BOOT_SEED. */
struct budget_point {
    int round;
    double tokens;                 /* RSA cumulative decode tokens per problem */
    int k;                         /* matched baseline sample count */
    int capped;                    /* the match needed more baseline samples than exist */
    struct ci rsa;                 /* RSA mean_acc at this round (over common problems) */
    double base_pass1, base_maj_k, base_pass_k;
    struct ci diff_pass1, diff_maj_k, diff_pass_k;   /* RSA - baseline, paired bootstrap over problems */
    double p_le0_pass1, p_le0_maj_k, p_le0_pass_k;  /* fraction of resamples with difference <= 0 */
    /* added after the first contract */
    double raw_k;                  /* B_t / d before rounding and clamping (NAN when d = 0) */
    int n_pairs;                   /* common problems that have round t (the bootstrap's sample) */
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

/* analysis_budget: compare; both analyses must come from analysis_run. The baseline must be a
   run with rounds == 0 and traces (its round 0 is used) and the RSA run one with rounds >= 1
   and traces; otherwise, or with no common problems, RSA_ERR_USAGE with a message. On error
   *out is left empty (safe to analysis_budget_free). */
enum rsa_err analysis_budget(const struct run_analysis *rsa, const struct run_analysis *base, struct budget_cmp *out,
                             char *err, size_t errlen);
/* analysis_budget_free: free everything and zero *b; NULL-safe, idempotent. */
void analysis_budget_free(struct budget_cmp *b);

#endif
