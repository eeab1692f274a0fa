/*
 * metrics.h: the statistics behind every reported number. Pure functions, no I/O.
 *
 * pass@k is the unbiased estimator of [human-eval] in its stable product form.
 * maj@k is the expected correctness of a majority vote over k answers drawn without
 * replacement from the n of a group: exact enumeration of all C(n, k) subsets when that
 * is at most METRICS_MAJ_EXACT, otherwise METRICS_MAJ_DRAWS seeded Monte-Carlo subsets.
 * Tie rule (documented, recorded in reports as METRICS_TIE_RULE): among clusters of
 * equal size the one whose first member has the lowest slot wins ("first formed", as
 * Python's max() in the RSA reference code). Answers that are NULL (none extracted) never
 * vote; a subset with no votes scores 0.
 * Confidence intervals are percentile bootstraps over problems (B resamples, seeded).
 */
#ifndef RSA_METRICS_H
#define RSA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAJ_EXACT 20000
#define METRICS_MAJ_DRAWS 4000
#define METRICS_TIE_RULE "largest cluster; ties go to the cluster whose first member has the lowest slot"

/* metrics_pass_at_k: 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k/i); 1 when n - c < k.
   Requires 0 <= c <= n, 1 <= k <= n; returns NAN otherwise. */
double metrics_pass_at_k(int n, int c, int k);

/* metrics_cluster: greedy clustering of answers[n] by an equivalence: each answer joins the
   first existing cluster whose representative (first member) is equivalent, else starts one.
   cluster_of[i] = cluster index (0-based, in order of formation) or -1 for a NULL answer.
   equiv(user, representative, answer) returns 1 when equivalent. Returns the cluster count. */
int metrics_cluster(const char *const *answers, int n, int (*equiv)(void *user, const char *rep, const char *ans),
                    void *user, int *cluster_of);

/* metrics_maj_at_k: expected majority-vote correctness over k-subsets (see the tie rule).
   cluster_of[n] from metrics_cluster; cluster_correct[ncl] is 1 when that cluster's answer is
   correct. seed drives the Monte-Carlo draws when used. */
double metrics_maj_at_k(const int *cluster_of, int n, const int *cluster_correct, int ncl, int k, uint64_t seed);

/* metrics_quantile: q-quantile (0..1) of v[n] with linear interpolation between order
   statistics (numpy's default); v need not be sorted (a copy is sorted internally: scratch
   holds n doubles). NAN when n == 0. */
double metrics_quantile(const double *v, size_t n, double q, double *scratch);

/* metrics_bootstrap_ci: mean of v[n] and its percentile 95% CI from B resamples of the n
   values with replacement (seeded). n == 0 gives NAN. n == 1 gives lo = hi = mean. */
void metrics_bootstrap_ci(const double *v, size_t n, int B, uint64_t seed, double *mean, double *lo, double *hi);

/* metrics_paired_bootstrap: mean of a[i] - b[i] with its 95% CI (problems resampled jointly)
   and p_le0, the fraction of resamples whose mean difference is <= 0. */
void metrics_paired_bootstrap(const double *a, const double *b, size_t n, int B, uint64_t seed, double *diff,
                              double *lo, double *hi, double *p_le0);

#endif
