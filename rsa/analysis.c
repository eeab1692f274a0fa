/* analysis.c: see analysis.h. */
#include "analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade.h"
#include "metrics.h"
#include "util.h"

/* ===== run lookup ===== */

static int first_name(void *user, const char *name)
{
    char **out = user;
    *out = util_strdup(name);
    return 1;
}

enum rsa_err analysis_find_run(struct store *s, const char *name, struct store_run_info *info, char *err,
                               size_t errlen)
{
    char *newest = NULL;
    memset(info, 0, sizeof(*info));
    if (name == NULL) {
        enum rsa_err rc = store_list_runs(s, first_name, &newest, err, errlen);
        if (rc != RSA_OK)
            return rc;
        if (newest == NULL) {
            util_errf(err, errlen, "the database holds no runs");
            return RSA_ERR_NOT_FOUND;
        }
        name = newest;
    }
    int found = 0;
    enum rsa_err rc = store_find_run(s, name, &found, info, err, errlen);
    if (rc == RSA_OK && !found) {
        util_errf(err, errlen, "no run named \"%s\" in the database", name);
        rc = RSA_ERR_NOT_FOUND;
    }
    free(newest);
    return rc;
}

/* ===== reading the traces ===== */

/* One (problem, repeat, round) population, reduced. */
struct group {
    int problem, repeat, round;
    int n, c;             /* traces, correct */
    int kmax;             /* pass/maj hold k = 1..kmax; larger k read at kmax */
    int64_t decode;       /* completion tokens, unknown = 0 */
    double *pass, *maj;   /* [kmax] */
};

/* Counters of one round over the whole run. */
struct round_acc {
    int traces, graded, no_answer, unparseable, think_unclosed;
    int finish_stop, finish_length, finish_other;
    int64_t decode, prefill;
    double *lens;         /* known completion-token counts */
    size_t n_lens, cap_lens;
};

struct reader {
    int population;       /* k range cap per group; <= 0 = the group's size */
    /* the group being read */
    int active, problem, repeat, round, n, cap;
    char **answers;       /* [cap] copies; NULL = does not vote */
    int *correct;         /* [cap] stored verdicts (1, 0, -1) */
    int *cluster_of, *cluster_ok;
    int64_t decode;
    /* results */
    struct group *groups;
    size_t n_groups, cap_groups;
    struct round_acc *rounds;
    int n_rounds;         /* entries of rounds (allocated, possibly with empty rounds) */
    char *grader;
    int mixed;
    enum rsa_err rc;
    char *err;
    size_t errlen;
};

static int equiv_cb(void *user, const char *rep, const char *ans)
{
    (void)user;
    return grade_equiv(rep, ans, NULL, 0);
}

/* group_seed: the maj@k Monte-Carlo seed of a group: its coordinates only. */
static uint64_t group_seed(int problem, int repeat, int round)
{
    uint64_t h = util_mix64(ANALYSIS_BOOT_SEED ^ (uint64_t)(uint32_t)problem);
    h = util_mix64(h ^ (uint64_t)(uint32_t)repeat);
    return util_mix64(h ^ (uint64_t)(uint32_t)round);
}

static void reader_fail(struct reader *r, enum rsa_err rc, const char *what)
{
    if (r->rc == RSA_OK) {
        r->rc = rc;
        util_errf(r->err, r->errlen, "analysis: %s", what);
    }
}

static void close_group(struct reader *r)
{
    if (!r->active)
        return;
    r->active = 0;
    int n = r->n;
    struct group g = {r->problem, r->repeat, r->round, n, 0, 0, r->decode, NULL, NULL};
    for (int i = 0; i < n; i++)
        g.c += r->correct[i] == 1;
    g.kmax = r->population > 0 && r->population < n ? r->population : n;
    g.pass = malloc((size_t)g.kmax * sizeof(double));
    g.maj = malloc((size_t)g.kmax * sizeof(double));
    int ncl = -1;
    if (g.pass != NULL && g.maj != NULL)
        ncl = metrics_cluster((const char *const *)r->answers, n, equiv_cb, NULL, r->cluster_of);
    if (ncl >= 0) {
        for (int c = 0; c < ncl; c++)
            r->cluster_ok[c] = -1;
        for (int i = 0; i < n; i++) {
            int c = r->cluster_of[i];
            if (c >= 0 && r->cluster_ok[c] < 0)
                r->cluster_ok[c] = r->correct[i] == 1; /* the first member's verdict */
        }
        for (int k = 1; k <= g.kmax; k++)
            g.pass[k - 1] = metrics_pass_at_k(n, g.c, k);
        if (metrics_maj_curve(r->cluster_of, n, r->cluster_ok, ncl, g.kmax,
                              group_seed(g.problem, g.repeat, g.round), g.maj) != 0)
            ncl = -1;
    }
    for (int i = 0; i < n; i++) {
        free(r->answers[i]);
        r->answers[i] = NULL;
    }
    r->n = 0;
    if (ncl < 0 || (r->n_groups == r->cap_groups && r->cap_groups > SIZE_MAX / 2 / sizeof(struct group))) {
        free(g.pass);
        free(g.maj);
        reader_fail(r, RSA_ERR_NOMEM, "out of memory");
        return;
    }
    if (r->n_groups == r->cap_groups) {
        size_t nc = r->cap_groups ? 2 * r->cap_groups : 64;
        struct group *p = realloc(r->groups, nc * sizeof(*p));
        if (p == NULL) {
            free(g.pass);
            free(g.maj);
            reader_fail(r, RSA_ERR_NOMEM, "out of memory");
            return;
        }
        r->groups = p;
        r->cap_groups = nc;
    }
    r->groups[r->n_groups++] = g;
}

static int grow_int(int **p, int n)
{
    int *q = realloc(*p, (size_t)n * sizeof(int));
    if (q == NULL)
        return -1;
    *p = q;
    return 0;
}

/* reader_slot: make room for one more trace in the current group. */
static int reader_slot(struct reader *r)
{
    if (r->n < r->cap)
        return 0;
    if (r->cap > (1 << 24))
        return -1;
    int nc = r->cap ? 2 * r->cap : 64;
    char **a = realloc(r->answers, (size_t)nc * sizeof(char *));
    if (a == NULL)
        return -1;
    r->answers = a;
    for (int i = r->cap; i < nc; i++)
        a[i] = NULL;
    if (grow_int(&r->correct, nc) || grow_int(&r->cluster_of, nc) || grow_int(&r->cluster_ok, nc))
        return -1;
    r->cap = nc;
    return 0;
}

/* reader_round: the counters of round t, allocating up to it. */
static struct round_acc *reader_round(struct reader *r, int t)
{
    if (t < r->n_rounds)
        return &r->rounds[t];
    int nr = t + 1 > 2 * r->n_rounds ? t + 1 : 2 * r->n_rounds;
    if (nr > ANALYSIS_MAX_ROUNDS)
        nr = ANALYSIS_MAX_ROUNDS;
    struct round_acc *p = realloc(r->rounds, (size_t)nr * sizeof(*p));
    if (p == NULL)
        return NULL;
    memset(p + r->n_rounds, 0, (size_t)(nr - r->n_rounds) * sizeof(*p));
    r->rounds = p;
    r->n_rounds = nr;
    return &r->rounds[t];
}

static void note_grader(struct reader *r, const struct store_trace *t)
{
    if (r->mixed)
        return;
    char name[256];
    snprintf(name, sizeof(name), "%s/%s", t->grader ? t->grader : "", t->grader_version ? t->grader_version : "");
    if (r->grader == NULL) {
        r->grader = util_strdup(name);
        if (r->grader == NULL)
            reader_fail(r, RSA_ERR_NOMEM, "out of memory");
    } else if (strcmp(r->grader, name) != 0) {
        r->mixed = 1;
    }
}

static int on_trace(void *user, const struct store_trace *t)
{
    struct reader *r = user;
    if (t->round < 0 || t->round >= ANALYSIS_MAX_ROUNDS || t->problem < 0 || t->repeat < 0)
        return 0;
    if (!r->active || t->problem != r->problem || t->repeat != r->repeat || t->round != r->round) {
        close_group(r);
        if (r->rc != RSA_OK)
            return 1;
        r->active = 1;
        r->problem = t->problem;
        r->repeat = t->repeat;
        r->round = t->round;
        r->n = 0;
        r->decode = 0;
    }
    struct round_acc *ra = reader_round(r, t->round);
    if (ra == NULL || reader_slot(r) != 0) {
        reader_fail(r, RSA_ERR_NOMEM, "out of memory");
        return 1;
    }
    int64_t decode = t->completion_tokens > 0 ? t->completion_tokens : 0;
    ra->traces++;
    ra->graded += t->correct >= 0;
    ra->no_answer += t->answer == NULL;
    ra->unparseable += t->verdict_status != NULL && strcmp(t->verdict_status, "unparseable") == 0;
    ra->think_unclosed += !t->think_closed;
    if (t->finish_reason != NULL && strcmp(t->finish_reason, "stop") == 0)
        ra->finish_stop++;
    else if (t->finish_reason != NULL && strcmp(t->finish_reason, "length") == 0)
        ra->finish_length++;
    else
        ra->finish_other++;
    ra->decode += decode;
    ra->prefill += t->prompt_tokens > 0 ? t->prompt_tokens : 0;
    if (t->completion_tokens >= 0) {
        if (ra->n_lens == ra->cap_lens) {
            size_t nc = ra->cap_lens ? 2 * ra->cap_lens : 64;
            double *p = realloc(ra->lens, nc * sizeof(double));
            if (p == NULL) {
                reader_fail(r, RSA_ERR_NOMEM, "out of memory");
                return 1;
            }
            ra->lens = p;
            ra->cap_lens = nc;
        }
        ra->lens[ra->n_lens++] = (double)t->completion_tokens;
    }
    if (t->correct >= 0)
        note_grader(r, t);
    int i = r->n++;
    r->correct[i] = t->correct;
    r->answers[i] = NULL;
    if (t->answer != NULL && t->correct >= 0 && (r->answers[i] = util_strdup(t->answer)) == NULL) {
        reader_fail(r, RSA_ERR_NOMEM, "out of memory");
        return 1;
    }
    r->decode += decode;
    return r->rc != RSA_OK;
}

/* problem index -> id, from the problems table */
struct ids {
    char **id;
    int n;
    int oom;
};

static int on_problem(void *user, const struct store_problem *p)
{
    struct ids *x = user;
    if (p->idx < 0 || p->idx >= (1 << 24))
        return 0;
    if (p->idx >= x->n) {
        int n = p->idx + 1 > 2 * x->n ? p->idx + 1 : 2 * x->n;
        char **ids = realloc(x->id, (size_t)n * sizeof(char *));
        if (ids == NULL) {
            x->oom = 1;
            return 1;
        }
        memset(ids + x->n, 0, (size_t)(n - x->n) * sizeof(char *));
        x->id = ids;
        x->n = n;
    }
    if (x->id[p->idx] != NULL)
        return 0;
    x->id[p->idx] = util_strdup(p->id ? p->id : "");
    x->oom |= x->id[p->idx] == NULL;
    return x->oom;
}

static void reader_free(struct reader *r)
{
    for (int i = 0; i < r->cap; i++)
        free(r->answers[i]);
    free(r->answers);
    free(r->correct);
    free(r->cluster_of);
    free(r->cluster_ok);
    for (size_t i = 0; i < r->n_groups; i++) {
        free(r->groups[i].pass);
        free(r->groups[i].maj);
    }
    free(r->groups);
    for (int t = 0; t < r->n_rounds; t++)
        free(r->rounds[t].lens);
    free(r->rounds);
    free(r->grader);
}

/* ===== from groups to the analysis ===== */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static double group_at(const double *v, int kmax, int k)
{
    return v[(k < kmax ? k : kmax) - 1];
}

/* mean of v[n] in index order (the order metrics_bootstrap_ci sums in) */
static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n > 0 ? s / n : NAN;
}

static void boot(const double *v, int n, struct ci *c)
{
    metrics_bootstrap_ci(v, (size_t)n, ANALYSIS_BOOT_B, ANALYSIS_BOOT_SEED, &c->mean, &c->lo, &c->hi);
}

static enum rsa_err build(struct reader *r, const struct ids *ids, struct run_analysis *a)
{
    int nr = 0;
    while (nr < r->n_rounds && r->rounds[nr].traces > 0)
        nr++;
    /* the problems with traces in the kept rounds */
    int *probs = malloc((r->n_groups + 1) * sizeof(int));
    if (probs == NULL)
        return RSA_ERR_NOMEM;
    int P = 0;
    for (size_t i = 0; i < r->n_groups; i++)
        if (r->groups[i].round < nr)
            probs[P++] = r->groups[i].problem;
    qsort(probs, (size_t)P, sizeof(int), cmp_int);
    int u = 0;
    for (int i = 0; i < P; i++)
        if (u == 0 || probs[u - 1] != probs[i])
            probs[u++] = probs[i];
    P = u;
    if (nr == 0 || P == 0) {
        free(probs);
        a->n_rounds = 0;
        a->n_problems = 0;
        return RSA_OK;
    }
    int K = r->population;
    if (K <= 0)
        for (size_t i = 0; i < r->n_groups; i++)
            K = r->groups[i].n > K ? r->groups[i].n : K;
    a->n_k = K;
    a->n_rounds = nr;
    a->n_problems = P;
    size_t cells = (size_t)nr * (size_t)P;
    enum rsa_err rc = RSA_ERR_NOMEM;
    int *reps = calloc(cells, sizeof(int));
    double *decode = calloc(cells, sizeof(double));
    double *vals = malloc(3 * (size_t)P * sizeof(double));
    a->problem_ids = calloc((size_t)P, sizeof(char *));
    a->stats = calloc((size_t)nr, sizeof(struct round_stats));
    a->heat = malloc(cells * sizeof(double));
    a->prob_mean_acc = calloc(cells, sizeof(double));
    a->prob_pass_at_k = calloc(cells, sizeof(double *));
    a->prob_maj_at_k = calloc(cells, sizeof(double *));
    a->prob_cum_decode = malloc(cells * sizeof(double));
    a->prob_traces = calloc(cells, sizeof(double));
    if (reps == NULL || decode == NULL || vals == NULL || a->problem_ids == NULL || a->stats == NULL ||
        a->heat == NULL || a->prob_mean_acc == NULL || a->prob_pass_at_k == NULL || a->prob_maj_at_k == NULL ||
        a->prob_cum_decode == NULL || a->prob_traces == NULL)
        goto out;
    for (int p = 0; p < P; p++) {
        char tmp[32];
        const char *id = probs[p] < ids->n && ids->id[probs[p]] != NULL ? ids->id[probs[p]] : NULL;
        if (id == NULL) {
            snprintf(tmp, sizeof(tmp), "#%d", probs[p]);
            id = tmp;
        }
        if ((a->problem_ids[p] = util_strdup(id)) == NULL)
            goto out;
    }
    for (size_t i = 0; i < cells; i++)
        if ((a->prob_pass_at_k[i] = calloc((size_t)K, sizeof(double))) == NULL ||
            (a->prob_maj_at_k[i] = calloc((size_t)K, sizeof(double))) == NULL)
            goto out;
    /* sums over repeats */
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct group *g = &r->groups[i];
        if (g->round >= nr)
            continue;
        const int *hit = bsearch(&g->problem, probs, (size_t)P, sizeof(int), cmp_int);
        size_t c = (size_t)g->round * (size_t)P + (size_t)(hit - probs);
        reps[c]++;
        a->prob_mean_acc[c] += (double)g->c / g->n;
        a->prob_traces[c] += g->n;
        decode[c] += (double)g->decode;
        for (int k = 1; k <= K; k++) {
            a->prob_pass_at_k[c][k - 1] += group_at(g->pass, g->kmax, k);
            a->prob_maj_at_k[c][k - 1] += group_at(g->maj, g->kmax, k);
        }
        a->stats[g->round].groups++;
    }
    for (int t = 0; t < nr; t++)
        for (int p = 0; p < P; p++) {
            size_t c = (size_t)t * P + p;
            double n = reps[c];
            double prev = t > 0 ? a->prob_cum_decode[c - P] : 0.0;
            if (n > 0) {
                a->prob_mean_acc[c] /= n;
                a->prob_traces[c] /= n;
                a->prob_cum_decode[c] = prev + decode[c] / n;
            } else {
                a->prob_mean_acc[c] = NAN;
                a->prob_cum_decode[c] = NAN;
            }
            for (int k = 0; k < K; k++) {
                a->prob_pass_at_k[c][k] = n > 0 ? a->prob_pass_at_k[c][k] / n : NAN;
                a->prob_maj_at_k[c][k] = n > 0 ? a->prob_maj_at_k[c][k] / n : NAN;
            }
            a->heat[c] = a->prob_mean_acc[c];
        }
    /* per round */
    int64_t cum_decode = 0, cum_prefill = 0;
    double cum_dpg = 0, cum_ppg = 0;
    for (int t = 0; t < nr; t++) {
        struct round_stats *s = &a->stats[t];
        struct round_acc *ra = &r->rounds[t];
        s->round = t;
        s->traces = ra->traces;
        s->graded = ra->graded;
        s->no_answer = ra->no_answer;
        s->unparseable = ra->unparseable;
        s->think_unclosed = ra->think_unclosed;
        s->finish_stop = ra->finish_stop;
        s->finish_length = ra->finish_length;
        s->finish_other = ra->finish_other;
        s->n_k = K;
        if ((s->pass_at_k = malloc((size_t)K * sizeof(double))) == NULL ||
            (s->maj_at_k = malloc((size_t)K * sizeof(double))) == NULL)
            goto out;
        int m = 0;
        double *acc = vals, *pn = vals + P, *mn = vals + 2 * P;
        for (int p = 0; p < P; p++) {
            size_t c = (size_t)t * P + p;
            if (reps[c] == 0)
                continue;
            acc[m] = a->prob_mean_acc[c];
            pn[m] = a->prob_pass_at_k[c][K - 1];
            mn[m] = a->prob_maj_at_k[c][K - 1];
            m++;
        }
        boot(acc, m, &s->mean_acc);
        boot(pn, m, &s->pass_n);
        boot(mn, m, &s->maj_n);
        for (int k = 0; k < K; k++) {
            int j = 0;
            for (int p = 0; p < P; p++) {
                size_t c = (size_t)t * P + p;
                if (reps[c] == 0)
                    continue;
                pn[j] = a->prob_pass_at_k[c][k];
                mn[j] = a->prob_maj_at_k[c][k];
                j++;
            }
            s->pass_at_k[k] = mean_of(pn, j);
            s->maj_at_k[k] = mean_of(mn, j);
        }
        s->decode_tokens = ra->decode;
        s->prefill_tokens = ra->prefill;
        cum_decode += ra->decode;
        cum_prefill += ra->prefill;
        s->cum_decode_tokens = cum_decode;
        s->cum_prefill_tokens = cum_prefill;
        s->decode_per_group = s->groups > 0 ? (double)ra->decode / s->groups : 0.0;
        s->prefill_per_group = s->groups > 0 ? (double)ra->prefill / s->groups : 0.0;
        cum_dpg += s->decode_per_group;
        cum_ppg += s->prefill_per_group;
        s->cum_decode_per_group = cum_dpg;
        s->cum_prefill_per_group = cum_ppg;
        s->len_mean = mean_of(ra->lens, (int)ra->n_lens);
        s->len_q25 = metrics_quantile(ra->lens, ra->n_lens, 0.25, NULL);
        s->len_median = metrics_quantile(ra->lens, ra->n_lens, 0.5, NULL);
        s->len_q75 = metrics_quantile(ra->lens, ra->n_lens, 0.75, NULL);
    }
    rc = RSA_OK;
out:
    free(probs);
    free(reps);
    free(decode);
    free(vals);
    return rc;
}

static char *dup_or_empty(const char *s)
{
    return util_strdup(s != NULL ? s : "");
}

enum rsa_err analysis_run(struct store *s, const char *name, struct run_analysis *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct store_run_info info;
    enum rsa_err rc = analysis_find_run(s, name, &info, err, errlen);
    if (rc != RSA_OK)
        return rc;
    struct ids ids = {0};
    struct reader r;
    memset(&r, 0, sizeof(r));
    r.population = info.population;
    r.err = err;
    r.errlen = errlen;
    rc = store_each_problem(s, info.id, on_problem, &ids, err, errlen);
    if (rc == RSA_OK && ids.oom)
        rc = RSA_ERR_NOMEM;
    if (rc == RSA_OK)
        rc = store_each_trace(s, info.id, on_trace, &r, err, errlen);
    if (rc == RSA_OK) {
        close_group(&r);
        rc = r.rc;
    }
    if (rc == RSA_OK) {
        out->name = dup_or_empty(info.name);
        out->status = dup_or_empty(info.status);
        out->tail_method = dup_or_empty(info.tail_method);
        out->grader = util_strdup(r.mixed ? "mixed" : r.grader != NULL ? r.grader : "none");
        out->population = info.population;
        out->subset = info.subset;
        out->rounds = info.rounds;
        out->tail_tokens = info.tail_tokens;
        out->max_tokens = info.max_tokens;
        out->repeats = info.repeats;
        out->seed = info.seed;
        out->n_k = info.population > 0 ? info.population : 1;
        if (out->name == NULL || out->status == NULL || out->tail_method == NULL || out->grader == NULL)
            rc = RSA_ERR_NOMEM;
        else
            rc = build(&r, &ids, out);
        if (rc == RSA_ERR_NOMEM)
            util_errf(err, errlen, "analysis of run \"%s\": out of memory", info.name);
    }
    if (rc != RSA_OK)
        analysis_free(out);
    reader_free(&r);
    for (int i = 0; i < ids.n; i++)
        free(ids.id[i]);
    free(ids.id);
    store_run_info_free(&info);
    return rc;
}

void analysis_free(struct run_analysis *a)
{
    if (a == NULL)
        return;
    size_t cells = (size_t)a->n_rounds * (size_t)a->n_problems;
    free(a->name);
    free(a->status);
    free(a->grader);
    free(a->tail_method);
    if (a->problem_ids != NULL)
        for (int p = 0; p < a->n_problems; p++)
            free(a->problem_ids[p]);
    free(a->problem_ids);
    if (a->stats != NULL)
        for (int t = 0; t < a->n_rounds; t++) {
            free(a->stats[t].pass_at_k);
            free(a->stats[t].maj_at_k);
        }
    free(a->stats);
    free(a->heat);
    free(a->prob_mean_acc);
    for (size_t i = 0; i < cells; i++) {
        if (a->prob_pass_at_k != NULL)
            free(a->prob_pass_at_k[i]);
        if (a->prob_maj_at_k != NULL)
            free(a->prob_maj_at_k[i]);
    }
    free(a->prob_pass_at_k);
    free(a->prob_maj_at_k);
    free(a->prob_cum_decode);
    free(a->prob_traces);
    memset(a, 0, sizeof(*a));
}

/* ===== budget-matched comparison ===== */

static void paired(const double *x, const double *y, int n, struct ci *c, double *p_le0)
{
    metrics_paired_bootstrap(x, y, (size_t)n, ANALYSIS_BOOT_B, ANALYSIS_BOOT_SEED, &c->mean, &c->lo, &c->hi, p_le0);
}

enum rsa_err analysis_budget(const struct run_analysis *rsa, const struct run_analysis *base, struct budget_cmp *out,
                             char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (base->rounds != 0 || base->n_rounds < 1) {
        util_errf(err, errlen, "budget baseline \"%s\" must be a plain-sampling run (rounds = 0) with traces",
                  base->name ? base->name : "?");
        return RSA_ERR_USAGE;
    }
    if (rsa->rounds < 1 || rsa->n_rounds < 1) {
        util_errf(err, errlen, "budget comparison: \"%s\" must be an RSA run (rounds >= 1) with traces",
                  rsa->name ? rsa->name : "?");
        return RSA_ERR_USAGE;
    }
    int P = rsa->n_problems, Pb = base->n_problems, N = base->n_k;
    int *bq = malloc(((size_t)P + 1) * sizeof(int)); /* RSA problem p -> baseline problem, -1 = none */
    double *buf = malloc(5 * ((size_t)P + 1) * sizeof(double));
    enum rsa_err rc = RSA_ERR_NOMEM;
    if (bq == NULL || buf == NULL)
        goto fail;
    int common = 0;
    double dec = 0, tr = 0;
    for (int p = 0; p < P; p++) {
        bq[p] = -1;
        for (int q = 0; q < Pb && bq[p] < 0; q++)
            if (strcmp(rsa->problem_ids[p], base->problem_ids[q]) == 0 && !isnan(base->prob_mean_acc[q]))
                bq[p] = q;
        if (bq[p] >= 0) {
            common++;
            dec += base->prob_cum_decode[bq[p]];
            tr += base->prob_traces[bq[p]];
        }
    }
    if (common == 0) {
        util_errf(err, errlen, "budget comparison: runs \"%s\" and \"%s\" share no problem", rsa->name, base->name);
        rc = RSA_ERR_USAGE;
        goto fail;
    }
    if (!(tr > 0 && dec > 0)) {
        util_errf(err, errlen,
                  "budget comparison: baseline \"%s\" has no decode token counts on the common problems "
                  "(the server reported no usage), so budgets cannot be matched",
                  base->name);
        rc = RSA_ERR_USAGE;
        goto fail;
    }
    out->rsa_name = util_strdup(rsa->name);
    out->base_name = util_strdup(base->name);
    out->n_common = common;
    out->base_n = N;
    out->base_tokens_per_sample = tr > 0 ? dec / tr : 0.0;
    out->n_points = rsa->n_rounds;
    out->points = calloc((size_t)rsa->n_rounds, sizeof(struct budget_point));
    out->base_curve_pass1 = malloc((size_t)N * sizeof(double));
    out->base_curve_maj = malloc((size_t)N * sizeof(double));
    out->base_curve_pass = malloc((size_t)N * sizeof(double));
    if (out->rsa_name == NULL || out->base_name == NULL || out->points == NULL || out->base_curve_pass1 == NULL ||
        out->base_curve_maj == NULL || out->base_curve_pass == NULL)
        goto fail;
    double d = out->base_tokens_per_sample;
    double *x = buf, *y1 = buf + P, *ym = buf + 2 * P, *yp = buf + 3 * P, *tok = buf + 4 * P;
    /* baseline curves over every common problem */
    for (int k = 1; k <= N; k++) {
        int m = 0;
        for (int p = 0; p < P; p++)
            if (bq[p] >= 0) {
                y1[m] = base->prob_pass_at_k[bq[p]][0];
                ym[m] = base->prob_maj_at_k[bq[p]][k - 1];
                yp[m] = base->prob_pass_at_k[bq[p]][k - 1];
                m++;
            }
        out->base_curve_pass1[k - 1] = mean_of(y1, m);
        out->base_curve_maj[k - 1] = mean_of(ym, m);
        out->base_curve_pass[k - 1] = mean_of(yp, m);
    }
    for (int t = 0; t < rsa->n_rounds; t++) {
        struct budget_point *pt = &out->points[t];
        pt->round = t;
        int m = 0;
        for (int p = 0; p < P; p++) {
            size_t c = (size_t)t * P + p;
            if (bq[p] < 0 || isnan(rsa->prob_mean_acc[c]))
                continue;
            x[m] = rsa->prob_mean_acc[c];
            tok[m] = rsa->prob_cum_decode[c];
            m++;
        }
        pt->n_pairs = m;
        pt->tokens = mean_of(tok, m);
        pt->raw_k = d > 0 ? pt->tokens / d : NAN;
        if (m == 0) {
            pt->k = 0;
            pt->rsa = pt->diff_pass1 = pt->diff_maj_k = pt->diff_pass_k = (struct ci){NAN, NAN, NAN};
            pt->base_pass1 = pt->base_maj_k = pt->base_pass_k = NAN;
            pt->p_le0_pass1 = pt->p_le0_maj_k = pt->p_le0_pass_k = NAN;
            continue;
        }
        if (!(d > 0) || !(pt->raw_k <= N)) { /* NAN included */
            pt->k = N;
            pt->capped = 1;
        } else {
            double kk = floor(pt->raw_k + 0.5);
            pt->k = kk < 1 ? 1 : (int)kk;
            if (pt->k > N)
                pt->k = N;
        }
        m = 0;
        for (int p = 0; p < P; p++) {
            size_t c = (size_t)t * P + p;
            if (bq[p] < 0 || isnan(rsa->prob_mean_acc[c]))
                continue;
            y1[m] = base->prob_pass_at_k[bq[p]][0];
            ym[m] = base->prob_maj_at_k[bq[p]][pt->k - 1];
            yp[m] = base->prob_pass_at_k[bq[p]][pt->k - 1];
            m++;
        }
        boot(x, m, &pt->rsa);
        pt->base_pass1 = mean_of(y1, m);
        pt->base_maj_k = mean_of(ym, m);
        pt->base_pass_k = mean_of(yp, m);
        paired(x, y1, m, &pt->diff_pass1, &pt->p_le0_pass1);
        paired(x, ym, m, &pt->diff_maj_k, &pt->p_le0_maj_k);
        paired(x, yp, m, &pt->diff_pass_k, &pt->p_le0_pass_k);
    }
    free(bq);
    free(buf);
    return RSA_OK;
fail:
    if (rc == RSA_ERR_NOMEM)
        util_errf(err, errlen, "budget comparison: out of memory");
    free(bq);
    free(buf);
    analysis_budget_free(out);
    return rc;
}

void analysis_budget_free(struct budget_cmp *b)
{
    if (b == NULL)
        return;
    free(b->rsa_name);
    free(b->base_name);
    free(b->points);
    free(b->base_curve_pass1);
    free(b->base_curve_maj);
    free(b->base_curve_pass);
    memset(b, 0, sizeof(*b));
}
