/*
 * metrics.h: the statistics behind every reported number. Pure functions, no I/O.
 *
 * pass@k is the unbiased estimator of [human-eval] in its stable product form.
 *
 * maj@k is the expected correctness of a majority vote over k answers drawn without
 * replacement from the n of a group (answer i = the trace in slot order i). Answers are
 * clustered once over the whole group (metrics_cluster); a k-subset votes with those
 * clusters. It is exact (all C(n, k) subsets enumerated) when C(n, k) <= METRICS_MAJ_EXACT
 * and C(n, k) * k <= METRICS_MAJ_EXACT_WORK (the second bound only matters for n > 1100),
 * otherwise the mean over METRICS_MAJ_DRAWS seeded Monte-Carlo subsets (draw d is the
 * first k entries of a Fisher-Yates shuffle driven only by (seed, d), so every k of one
 * group is estimated from the same shuffles and the result for a k does not depend on
 * which other k are asked for). Cost per group: O(METRICS_MAJ_DRAWS * n) for all k at
 * once plus at most a few METRICS_MAJ_EXACT_WORK for the exact k (measured: 0.1 s for
 * n = 4096 on one core, a few ms for n <= 64).
 *
 * Tie rule (recorded in reports as METRICS_TIE_RULE): the largest cluster wins; among
 * clusters of equal size in the subset, the one whose earliest member in the subset has
 * the lowest slot wins. That is Python's max() over the clusters formed in slot order by
 * the RSA reference code, applied to the subset ("first formed"). For k = n it is the
 * cluster formed first in the group. Answers that are NULL (none extracted, or ungraded)
 * never vote; a subset with no votes scores 0.
 *
 * Confidence intervals are percentile bootstraps (B resamples with replacement, seeded,
 * the CI bounds are the 2.5% and 97.5% quantiles of the B resample means, quantiles as
 * numpy's default "linear"). The same (values, B, seed) always give the same bytes.
 */
#ifndef RSA_METRICS_H
#define RSA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAJ_EXACT 20000
#define METRICS_MAJ_EXACT_WORK 1500000
#define METRICS_MAJ_DRAWS 4000
#define METRICS_TIE_RULE                                                                                         \
    "largest cluster; ties go to the cluster whose earliest member in the vote has the lowest slot (first formed); " \
    "traces without an answer do not vote"

/* metrics_pass_at_k: 1 - C(n-c, k)/C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k/i).
   Edge cases: c = 0 gives 0; n - c < k (c = n included) gives 1.
   Requires 0 <= c <= n, 1 <= k <= n; returns NAN otherwise. pass@1 = c/n. */
double metrics_pass_at_k(int n, int c, int k);

/* metrics_cluster: greedy clustering of answers[n] by an equivalence: each answer joins the
   first existing cluster whose representative (first member) is equivalent, else starts one.
   cluster_of[i] = cluster index (0-based, in order of formation) or -1 for a NULL answer.
   equiv(user, representative, answer) returns 1 when equivalent; it must be deterministic,
   because an answer byte-identical to an earlier one joins that one's cluster without a call.
   Returns the cluster count, or -1 when out of memory (n < 0 counts as 0). */
int metrics_cluster(const char *const *answers, int n, int (*equiv)(void *user, const char *rep, const char *ans),
                    void *user, int *cluster_of);

/* metrics_maj_at_k: expected majority-vote correctness over k-subsets (see the tie rule).
   cluster_of[n] from metrics_cluster (-1 = does not vote); cluster_correct[ncl] is 1 when that
   cluster's answer is correct. seed drives the Monte-Carlo draws when used.
   Requires 1 <= k <= n and cluster_of[i] < ncl; NAN otherwise or when out of memory. */
double metrics_maj_at_k(const int *cluster_of, int n, const int *cluster_correct, int ncl, int k, uint64_t seed);

/* metrics_maj_curve: out[k-1] = metrics_maj_at_k(..., k, seed) for k = 1..kmax (kmax <= n),
   computed together (same values bit for bit, much cheaper). Returns 0, or -1 on bad
   arguments or no memory (out then holds NANs). */
int metrics_maj_curve(const int *cluster_of, int n, const int *cluster_correct, int ncl, int kmax, uint64_t seed,
                      double *out);

/* metrics_quantile: q-quantile (0..1) of v[n] with linear interpolation between order
   statistics (numpy's default): h = (n-1) q, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
   v need not be sorted (a copy is sorted internally: scratch holds n doubles; NULL = allocate).
   NAN when n == 0, q outside [0, 1], or out of memory. v must hold no NAN. */
double metrics_quantile(const double *v, size_t n, double q, double *scratch);

/* metrics_bootstrap_ci: mean of v[n] and its percentile 95% CI from B resamples of the n
   values with replacement (seeded). n == 0 gives NANs; B < 1 or no memory gives NAN bounds.
   n == 1 and all-equal values give lo = hi = mean. v must hold no NAN. */
void metrics_bootstrap_ci(const double *v, size_t n, int B, uint64_t seed, double *mean, double *lo, double *hi);

/* metrics_paired_bootstrap: mean of a[i] - b[i] with its 95% CI (indices resampled jointly,
   i.e. one resample picks problem i for both a and b) and p_le0, the fraction of resamples
   whose mean difference is <= 0. n == 0 gives NANs; B < 1 or no memory gives NAN bounds and
   p_le0. The resampled indices are those of metrics_bootstrap_ci with the same n, B, seed. */
void metrics_paired_bootstrap(const double *a, const double *b, size_t n, int B, uint64_t seed, double *diff,
                              double *lo, double *hi, double *p_le0);

#endif
