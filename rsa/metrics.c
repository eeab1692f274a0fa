/* metrics.c: see metrics.h. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ===== seeded random numbers (splitmix64) ===== */

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* rng_below: uniform in [0, m), m >= 1, without modulo bias (Lemire's multiply-shift). */
static uint32_t rng_below(uint64_t *s, uint32_t m)
{
    uint64_t p = (rng_next(s) >> 32) * (uint64_t)m;
    uint32_t low = (uint32_t)p;
    if (low < m) {
        uint32_t t = (uint32_t)(-m) % m;
        while (low < t) {
            p = (rng_next(s) >> 32) * (uint64_t)m;
            low = (uint32_t)p;
        }
    }
    return (uint32_t)(p >> 32);
}

/* ===== pass@k ===== */

double metrics_pass_at_k(int n, int c, int k)
{
    if (n < 1 || c < 0 || c > n || k < 1 || k > n)
        return NAN;
    if (c == 0)
        return 0.0;
    if (n - c < k)
        return 1.0;
    if (k == 1)
        return (double)c / (double)n; /* the product telescopes to this; exact, so pass@1 == mean_acc */
    double prod = 1.0;
    for (int i = n - c + 1; i <= n; i++)
        prod *= 1.0 - (double)k / (double)i;
    return 1.0 - prod;
}

/* ===== clustering ===== */

int metrics_cluster(const char *const *answers, int n, int (*equiv)(void *user, const char *rep, const char *ans),
                    void *user, int *cluster_of)
{
    if (n <= 0)
        return 0;
    /* byte-identical answers share a cluster without calling equiv: a hash set of first occurrences */
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    int *first = malloc(cap * sizeof(int));
    int *reps = malloc((size_t)n * sizeof(int));
    if (first == NULL || reps == NULL) {
        free(first);
        free(reps);
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        first[i] = -1;
    int ncl = 0;
    for (int i = 0; i < n; i++) {
        cluster_of[i] = -1;
        if (answers[i] == NULL)
            continue;
        size_t h = (size_t)util_hash_str(answers[i]) & (cap - 1);
        int same = -1;
        while (first[h] >= 0) {
            if (strcmp(answers[first[h]], answers[i]) == 0) {
                same = first[h];
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        if (same >= 0) {
            cluster_of[i] = cluster_of[same];
            continue;
        }
        first[h] = i;
        int c = -1;
        for (int j = 0; j < ncl && c < 0; j++) {
            const char *rep = answers[reps[j]];
            if (equiv != NULL ? equiv(user, rep, answers[i]) == 1 : strcmp(rep, answers[i]) == 0)
                c = j;
        }
        if (c < 0) {
            c = ncl++;
            reps[c] = i;
        }
        cluster_of[i] = c;
    }
    free(first);
    free(reps);
    return ncl;
}

/* ===== maj@k ===== */

/* binom_capped: C(n, k) when it is at most cap, else cap + 1. */
static uint64_t binom_capped(int n, int k, uint64_t cap)
{
    if (k > n - k)
        k = n - k;
    uint64_t c = 1;
    for (int i = 1; i <= k; i++) {
        uint64_t f = (uint64_t)(n - k + i);
        if (c > UINT64_MAX / f)
            return cap + 1;
        c = c * f / (uint64_t)i; /* = C(n - k + i, i), increasing in i */
        if (c > cap)
            return cap + 1;
    }
    return c;
}

/* The vote state: count and earliest slot per cluster, and the current leader. Adding one
   member only improves its own cluster's key (count up, earliest slot down), so the new
   leader is the old leader or that cluster. */
struct vote {
    int *count, *first;
    int best;
};

static void vote_add(struct vote *v, int cluster, int slot)
{
    if (cluster < 0)
        return;
    if (v->count[cluster]++ == 0 || slot < v->first[cluster])
        v->first[cluster] = slot;
    int b = v->best;
    if (b < 0 || v->count[cluster] > v->count[b] || (v->count[cluster] == v->count[b] && v->first[cluster] < v->first[b]))
        v->best = cluster;
}

/* maj_exact: mean correctness over all k-subsets, enumerated in lexicographic order. */
static double maj_exact(const int *cl, int n, const int *ok, int k, struct vote *v, int *idx)
{
    for (int i = 0; i < k; i++)
        idx[i] = i;
    uint64_t total = 0, hits = 0;
    for (;;) {
        v->best = -1;
        for (int j = 0; j < k; j++)
            vote_add(v, cl[idx[j]], idx[j]);
        hits += v->best >= 0 && ok[v->best] == 1;
        total++;
        for (int j = 0; j < k; j++)
            if (cl[idx[j]] >= 0)
                v->count[cl[idx[j]]] = 0;
        int j = k - 1;
        while (j >= 0 && idx[j] == n - k + j)
            j--;
        if (j < 0)
            break;
        idx[j]++;
        for (int m = j + 1; m < k; m++)
            idx[m] = idx[m - 1] + 1;
    }
    return (double)hits / (double)total;
}

/* maj_run: out[k-1] for k = 1..kmax; exact where C(n, k) is small, Monte-Carlo elsewhere. */
static int maj_run(const int *cl, int n, const int *ok, int ncl, int kmin, int kmax, uint64_t seed, double *out)
{
    for (int k = kmin; k <= kmax; k++)
        out[k - 1] = NAN;
    if (n < 1 || kmin < 1 || kmax > n || kmin > kmax || ncl < 0 || cl == NULL || (ncl > 0 && ok == NULL))
        return -1;
    for (int i = 0; i < n; i++)
        if (cl[i] < -1 || cl[i] >= ncl)
            return -1;
    struct vote v = {calloc((size_t)ncl + 1, sizeof(int)), calloc((size_t)ncl + 1, sizeof(int)), -1};
    int *idx = malloc((size_t)n * sizeof(int));
    int *perm = malloc((size_t)n * sizeof(int));
    int *swaps = malloc((size_t)n * sizeof(int));
    uint64_t *hits = calloc((size_t)n + 1, sizeof(uint64_t));
    char *mc = calloc((size_t)n + 1, 1);
    int rc = -1;
    if (v.count == NULL || v.first == NULL || idx == NULL || perm == NULL || swaps == NULL || hits == NULL || mc == NULL)
        goto out;
    int kmax_mc = 0;
    for (int k = kmin; k <= kmax; k++) {
        uint64_t subsets = binom_capped(n, k, METRICS_MAJ_EXACT);
        if (subsets <= METRICS_MAJ_EXACT && subsets * (uint64_t)k <= METRICS_MAJ_EXACT_WORK) {
            out[k - 1] = maj_exact(cl, n, ok, k, &v, idx);
        } else {
            mc[k] = 1;
            kmax_mc = k;
        }
    }
    if (kmax_mc > 0) {
        for (int i = 0; i < n; i++)
            perm[i] = i;
        for (int d = 0; d < METRICS_MAJ_DRAWS; d++) {
            /* draw d depends only on (seed, d): the first kmax_mc steps of a Fisher-Yates shuffle */
            uint64_t s = util_mix64(seed ^ util_mix64((uint64_t)d));
            v.best = -1;
            for (int j = 0; j < kmax_mc; j++) {
                int r = j + (int)rng_below(&s, (uint32_t)(n - j));
                int t = perm[j];
                perm[j] = perm[r];
                perm[r] = t;
                swaps[j] = r;
                vote_add(&v, cl[perm[j]], perm[j]);
                if (mc[j + 1])
                    hits[j + 1] += v.best >= 0 && ok[v.best] == 1;
            }
            for (int j = kmax_mc - 1; j >= 0; j--) {
                if (cl[perm[j]] >= 0)
                    v.count[cl[perm[j]]] = 0;
                int t = perm[j];
                perm[j] = perm[swaps[j]];
                perm[swaps[j]] = t;
            }
        }
        for (int k = kmin; k <= kmax; k++)
            if (mc[k])
                out[k - 1] = (double)hits[k] / (double)METRICS_MAJ_DRAWS;
    }
    rc = 0;
out:
    free(v.count);
    free(v.first);
    free(idx);
    free(perm);
    free(swaps);
    free(hits);
    free(mc);
    return rc;
}

double metrics_maj_at_k(const int *cluster_of, int n, const int *cluster_correct, int ncl, int k, uint64_t seed)
{
    if (k < 1 || k > n)
        return NAN;
    double *buf = malloc((size_t)k * sizeof(double));
    if (buf == NULL)
        return NAN;
    double r = maj_run(cluster_of, n, cluster_correct, ncl, k, k, seed, buf) == 0 ? buf[k - 1] : NAN;
    free(buf);
    return r;
}

int metrics_maj_curve(const int *cluster_of, int n, const int *cluster_correct, int ncl, int kmax, uint64_t seed,
                      double *out)
{
    if (out == NULL || kmax < 1)
        return -1;
    if (kmax > n) {
        for (int k = 1; k <= kmax; k++)
            out[k - 1] = NAN;
        return -1;
    }
    return maj_run(cluster_of, n, cluster_correct, ncl, 1, kmax, seed, out);
}

/* ===== quantiles and the bootstrap ===== */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile_sorted(const double *x, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

double metrics_quantile(const double *v, size_t n, double q, double *scratch)
{
    if (n == 0 || v == NULL || !(q >= 0.0 && q <= 1.0))
        return NAN;
    double *x = scratch != NULL ? scratch : malloc(n * sizeof(double));
    if (x == NULL)
        return NAN;
    memcpy(x, v, n * sizeof(double));
    qsort(x, n, sizeof(double), cmp_double);
    double r = quantile_sorted(x, n, q);
    if (x != scratch)
        free(x);
    return r;
}

/* boot: mean of v[n], percentile 95% CI of B resample means, and the fraction of means <= 0. */
static void boot(const double *v, size_t n, int B, uint64_t seed, double *mean, double *lo, double *hi,
                 double *p_le0)
{
    *mean = *lo = *hi = *p_le0 = NAN;
    if (n == 0 || v == NULL || n > UINT32_MAX)
        return;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    *mean = sum / (double)n;
    if (B < 1)
        return;
    double *means = malloc((size_t)B * sizeof(double));
    if (means == NULL)
        return;
    uint64_t s = util_mix64(seed);
    size_t le0 = 0;
    for (int b = 0; b < B; b++) {
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += v[rng_below(&s, (uint32_t)n)];
        means[b] = acc / (double)n;
        le0 += means[b] <= 0.0;
    }
    qsort(means, (size_t)B, sizeof(double), cmp_double);
    *lo = quantile_sorted(means, (size_t)B, 0.025);
    *hi = quantile_sorted(means, (size_t)B, 0.975);
    *p_le0 = (double)le0 / (double)B;
    free(means);
}

void metrics_bootstrap_ci(const double *v, size_t n, int B, uint64_t seed, double *mean, double *lo, double *hi)
{
    double p;
    boot(v, n, B, seed, mean, lo, hi, &p);
}

void metrics_paired_bootstrap(const double *a, const double *b, size_t n, int B, uint64_t seed, double *diff,
                              double *lo, double *hi, double *p_le0)
{
    *diff = *lo = *hi = *p_le0 = NAN;
    if (n == 0 || a == NULL || b == NULL)
        return;
    double *d = malloc(n * sizeof(double));
    if (d == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] - b[i];
    boot(d, n, B, seed, diff, lo, hi, p_le0);
    free(d);
}
