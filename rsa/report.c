/* report.c: see report.h. */
#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "plot.h"
#include "util.h"

int report_parse_format(const char *s, enum report_format *f)
{
    static const char *const names[] = {"text", "json", "csv", "svg", "html"};
    for (int i = 0; s != NULL && i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (enum report_format)i;
            return 0;
        }
    return -1;
}

/* ===== text ===== */

/* fraction with 4 decimals, or "-" for NAN, right-aligned in width */
static void put_frac(FILE *out, int width, double v)
{
    if (isfinite(v))
        fprintf(out, "%*.4f", width, v);
    else
        fprintf(out, "%*s", width, "-");
}

static void put_num(FILE *out, int width, double v)
{
    if (isfinite(v))
        fprintf(out, "%*.1f", width, v);
    else
        fprintf(out, "%*s", width, "-");
}

static void put_ci(FILE *out, struct ci c)
{
    if (isfinite(c.lo) && isfinite(c.hi))
        fprintf(out, "  [%.4f, %.4f]", c.lo, c.hi);
    else
        fprintf(out, "  %16s", "-");
}

static void text_settings(FILE *out, const struct run_analysis *a)
{
    fprintf(out, "run %s (%s): N=%d C=%d T_agg=%d (stages %d) tau=%d beta=%d repeats=%d seed=%lld tails=%s\n",
            a->name, a->status, a->population, a->subset, a->rounds, a->rounds + 1, a->tail_tokens, a->max_tokens,
            a->repeats, (long long)a->seed, a->tail_method ? a->tail_method : "");
    fprintf(out, "  problems %d, rounds with traces %d; grader %s\n", a->n_problems, a->n_rounds, a->grader);
}

static void text_conventions(FILE *out)
{
    fprintf(out, "accuracies are fractions: per problem the mean over repeats, per round the mean over problems\n");
    fprintf(out, "95%% CI: percentile bootstrap over problems, B=%d, seed=%u\n", ANALYSIS_BOOT_B,
            (unsigned)ANALYSIS_BOOT_SEED);
    fprintf(out, "maj@k tie rule: %s\n", METRICS_TIE_RULE);
    fprintf(out, "pass@k: unbiased estimator; maj@k: exact when C(n,k) <= %d and C(n,k)*k <= %d, else %d seeded "
                 "draws\n",
            METRICS_MAJ_EXACT, METRICS_MAJ_EXACT_WORK, METRICS_MAJ_DRAWS);
    fprintf(out, "tokens: decode = completion, prefill = prompt; /prob = per problem and repeat; unknown counts as 0\n");
}

static void text_rounds(FILE *out, const struct run_analysis *a)
{
    char pn[32], mn[32];
    snprintf(pn, sizeof(pn), "pass@%d", a->n_k);
    snprintf(mn, sizeof(mn), "maj@%d", a->n_k);
    fprintf(out, "%5s %6s %7s %8s  %16s %8s %8s %15s %14s %14s %9s %6s %6s %7s %7s\n", "round", "groups", "traces",
            "mean_acc", "95% CI", pn, mn, "cum_decode/prob", "decode_tokens", "prefill_tokens", "len_med", "stop",
            "length", "no_ans", "unparse");
    for (int t = 0; t < a->n_rounds; t++) {
        const struct round_stats *s = &a->stats[t];
        fprintf(out, "%5d %6d %7d ", s->round, s->groups, s->traces);
        put_frac(out, 8, s->mean_acc.mean);
        put_ci(out, s->mean_acc);
        fputc(' ', out);
        put_frac(out, 8, s->pass_n.mean);
        fputc(' ', out);
        put_frac(out, 8, s->maj_n.mean);
        fputc(' ', out);
        put_num(out, 15, s->cum_decode_per_group);
        fprintf(out, " %14lld %14lld ", (long long)s->decode_tokens, (long long)s->prefill_tokens);
        put_num(out, 9, s->len_median);
        fprintf(out, " %6d %6d %7d %7d\n", s->finish_stop, s->finish_length, s->no_answer, s->unparseable);
    }
}

/* the k shown in the pass@k / maj@k table: powers of two and n_k itself */
static int shown_ks(int n_k, int *ks, int cap)
{
    int n = 0;
    for (int k = 1; k < n_k && n < cap - 1; k *= 2)
        ks[n++] = k;
    ks[n++] = n_k;
    return n;
}

static void text_curves(FILE *out, const struct run_analysis *a)
{
    int ks[40];
    int nk = shown_ks(a->n_k, ks, 40);
    char lab[32];
    fprintf(out, "%5s", "round");
    for (int i = 0; i < nk; i++) {
        snprintf(lab, sizeof(lab), "pass@%d", ks[i]);
        fprintf(out, " %9s", lab);
    }
    fprintf(out, "  ");
    for (int i = 0; i < nk; i++) {
        snprintf(lab, sizeof(lab), "maj@%d", ks[i]);
        fprintf(out, " %9s", lab);
    }
    fputc('\n', out);
    for (int t = 0; t < a->n_rounds; t++) {
        fprintf(out, "%5d", t);
        for (int i = 0; i < nk; i++) {
            fputc(' ', out);
            put_frac(out, 9, a->stats[t].pass_at_k[ks[i] - 1]);
        }
        fprintf(out, "  ");
        for (int i = 0; i < nk; i++) {
            fputc(' ', out);
            put_frac(out, 9, a->stats[t].maj_at_k[ks[i] - 1]);
        }
        fputc('\n', out);
    }
}

static void text_heat(FILE *out, const struct run_analysis *a)
{
    int w = 7;
    for (int p = 0; p < a->n_problems; p++) {
        int l = (int)strlen(a->problem_ids[p]);
        w = l > w ? l : w;
    }
    w = w > 40 ? 40 : w;
    fprintf(out, "%-*s", w, "problem");
    for (int t = 0; t < a->n_rounds; t++) {
        char lab[24];
        snprintf(lab, sizeof(lab), "r%d", t);
        fprintf(out, " %7s", lab);
    }
    fputc('\n', out);
    for (int p = 0; p < a->n_problems; p++) {
        fprintf(out, "%-*.*s", w, w, a->problem_ids[p]);
        for (int t = 0; t < a->n_rounds; t++) {
            fputc(' ', out);
            put_frac(out, 7, a->heat[(size_t)t * a->n_problems + p]);
        }
        fputc('\n', out);
    }
}

static void text_run(FILE *out, const struct run_analysis *a)
{
    text_settings(out, a);
    if (a->n_rounds == 0) {
        fprintf(out, "  no traces yet\n");
        return;
    }
    fputc('\n', out);
    text_rounds(out, a);
    fprintf(out, "\npass@k and maj@k (mean over problems)\n");
    text_curves(out, a);
    fprintf(out, "\nmean_acc per problem and round\n");
    text_heat(out, a);
}

static int name_width(const struct run_analysis *runs, int n, int min)
{
    int w = min;
    for (int i = 0; i < n; i++) {
        int l = (int)strlen(runs[i].name);
        w = l > w ? l : w;
    }
    return w > 40 ? 40 : w;
}

static void text_compare(FILE *out, const struct run_analysis *runs, int n)
{
    int w = name_width(runs, n, 3);
    fprintf(out, "comparison of %d runs, each at its last round with traces\n", n);
    fprintf(out, "%-*s %5s %4s %5s %7s %7s %4s %5s %8s  %16s %8s %8s %15s %15s\n", w, "run", "N", "C", "T_agg", "tau",
            "beta", "rep", "round", "mean_acc", "95% CI", "pass@N", "maj@N", "cum_decode/prob", "cum_prefill/prob");
    for (int i = 0; i < n; i++) {
        const struct run_analysis *a = &runs[i];
        fprintf(out, "%-*.*s %5d %4d %5d %7d %7d %4d ", w, w, a->name, a->population, a->subset, a->rounds,
                a->tail_tokens, a->max_tokens, a->repeats);
        if (a->n_rounds == 0) {
            fprintf(out, "%5s  no traces\n", "-");
            continue;
        }
        const struct round_stats *s = &a->stats[a->n_rounds - 1];
        fprintf(out, "%5d ", s->round);
        put_frac(out, 8, s->mean_acc.mean);
        put_ci(out, s->mean_acc);
        fputc(' ', out);
        put_frac(out, 8, s->pass_n.mean);
        fputc(' ', out);
        put_frac(out, 8, s->maj_n.mean);
        fputc(' ', out);
        put_num(out, 15, s->cum_decode_per_group);
        fputc(' ', out);
        put_num(out, 15, s->cum_prefill_per_group);
        fputc('\n', out);
    }
    int max_rounds = 0;
    for (int i = 0; i < n; i++)
        max_rounds = runs[i].n_rounds > max_rounds ? runs[i].n_rounds : max_rounds;
    for (int table = 0; table < 2; table++) {
        fprintf(out, "\n%s by round (columns: runs)\n",
                table == 0 ? "mean_acc" : "cumulative decode tokens per problem");
        fprintf(out, "%5s", "round");
        for (int i = 0; i < n; i++) {
            int cw = (int)strlen(runs[i].name);
            cw = cw < 10 ? 10 : cw > 40 ? 40 : cw;
            fprintf(out, " %*.*s", cw, cw, runs[i].name);
        }
        fputc('\n', out);
        for (int t = 0; t < max_rounds; t++) {
            fprintf(out, "%5d", t);
            for (int i = 0; i < n; i++) {
                int cw = (int)strlen(runs[i].name);
                cw = cw < 10 ? 10 : cw > 40 ? 40 : cw;
                double v = NAN;
                if (t < runs[i].n_rounds)
                    v = table == 0 ? runs[i].stats[t].mean_acc.mean : runs[i].stats[t].cum_decode_per_group;
                fputc(' ', out);
                if (table == 0)
                    put_frac(out, cw, v);
                else
                    put_num(out, cw, v);
            }
            fputc('\n', out);
        }
    }
}

static void put_diff(FILE *out, struct ci c, double p)
{
    if (isfinite(c.mean))
        fprintf(out, " %+8.4f", c.mean);
    else
        fprintf(out, " %8s", "-");
    if (isfinite(c.lo) && isfinite(c.hi))
        fprintf(out, " [%+.4f, %+.4f]", c.lo, c.hi);
    else
        fprintf(out, " %18s", "-");
    put_frac(out, 7, p);
}

static void text_budget(FILE *out, const struct budget_cmp *b)
{
    fprintf(out, "budget-matched comparison: RSA run %s against plain-sampling baseline %s\n", b->rsa_name,
            b->base_name);
    fprintf(out, "  common problems %d; baseline N=%d samples, %.1f decode tokens per sample\n", b->n_common, b->base_n,
            b->base_tokens_per_sample);
    fprintf(out, "  k = round(RSA cumulative decode tokens per problem / baseline tokens per sample), clamped to "
                 "1..N (* = capped at N)\n");
    fprintf(out, "  diff = RSA mean_acc - baseline, paired bootstrap over problems (B=%d, seed=%u); P<=0 = share of "
                 "resamples with diff <= 0\n",
            ANALYSIS_BOOT_B, (unsigned)ANALYSIS_BOOT_SEED);
    fprintf(out, "%5s %13s %6s %8s  %16s %8s %8s %18s %6s %8s %8s %18s %6s %8s %8s %18s %6s\n", "round", "tokens/prob",
            "k", "rsa_acc", "95% CI", "b_pass@1", "diff", "95% CI", "P<=0", "b_maj@k", "diff", "95% CI", "P<=0",
            "b_pass@k", "diff", "95% CI", "P<=0");
    for (int i = 0; i < b->n_points; i++) {
        const struct budget_point *p = &b->points[i];
        fprintf(out, "%5d ", p->round);
        put_num(out, 13, p->tokens);
        fprintf(out, " %5d%c ", p->k, p->capped ? '*' : ' ');
        put_frac(out, 8, p->rsa.mean);
        put_ci(out, p->rsa);
        fputc(' ', out);
        put_frac(out, 8, p->base_pass1);
        put_diff(out, p->diff_pass1, p->p_le0_pass1);
        fputc(' ', out);
        put_frac(out, 8, p->base_maj_k);
        put_diff(out, p->diff_maj_k, p->p_le0_maj_k);
        fputc(' ', out);
        put_frac(out, 8, p->base_pass_k);
        put_diff(out, p->diff_pass_k, p->p_le0_pass_k);
        fputc('\n', out);
    }
}

static void write_text(FILE *out, const struct run_analysis *runs, int n, const struct budget_cmp *b)
{
    if (n == 1) {
        text_run(out, &runs[0]);
    } else {
        for (int i = 0; i < n; i++)
            text_settings(out, &runs[i]);
        fputc('\n', out);
        text_compare(out, runs, n);
    }
    if (b != NULL) {
        fputc('\n', out);
        text_budget(out, b);
    }
    fputc('\n', out);
    text_conventions(out);
}

/* ===== JSON ===== */

/* add a number, or null when it is not finite (JSON has no NaN) */
static void jnum(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *jval(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void jarr(cJSON *o, const char *key, const double *v, int n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; a != NULL && i < n; i++)
        cJSON_AddItemToArray(a, jval(v[i]));
}

static void jci(cJSON *o, const char *key, struct ci c)
{
    double v[2] = {c.lo, c.hi};
    jarr(o, key, v, 2);
}

static cJSON *json_run(const struct run_analysis *a)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "run", a->name);
    cJSON_AddStringToObject(o, "status", a->status);
    cJSON_AddNumberToObject(o, "population", a->population);
    cJSON_AddNumberToObject(o, "subset", a->subset);
    cJSON_AddNumberToObject(o, "aggregation_rounds", a->rounds); /* T_agg; "rounds" is the metrics array */
    cJSON_AddNumberToObject(o, "stages", a->rounds + 1);
    cJSON_AddNumberToObject(o, "tail_tokens", a->tail_tokens);
    cJSON_AddNumberToObject(o, "max_tokens", a->max_tokens);
    cJSON_AddNumberToObject(o, "repeats", a->repeats);
    cJSON_AddNumberToObject(o, "seed", (double)a->seed);
    cJSON_AddStringToObject(o, "tail_method", a->tail_method ? a->tail_method : "");
    cJSON_AddStringToObject(o, "grader", a->grader);
    cJSON_AddStringToObject(o, "tie_rule", METRICS_TIE_RULE);
    cJSON *bs = cJSON_AddObjectToObject(o, "bootstrap");
    if (bs != NULL) {
        cJSON_AddNumberToObject(bs, "B", ANALYSIS_BOOT_B);
        cJSON_AddNumberToObject(bs, "seed", ANALYSIS_BOOT_SEED);
        cJSON_AddNumberToObject(bs, "level", 0.95);
        cJSON_AddStringToObject(bs, "over", "problems");
    }
    cJSON *mj = cJSON_AddObjectToObject(o, "maj_at_k_method");
    if (mj != NULL) {
        cJSON_AddNumberToObject(mj, "exact_max_subsets", METRICS_MAJ_EXACT);
        cJSON_AddNumberToObject(mj, "exact_max_work", METRICS_MAJ_EXACT_WORK);
        cJSON_AddNumberToObject(mj, "draws", METRICS_MAJ_DRAWS);
    }
    cJSON_AddNumberToObject(o, "n_problems", a->n_problems);
    cJSON_AddNumberToObject(o, "n_k", a->n_k);
    cJSON *rounds = cJSON_AddArrayToObject(o, "rounds");
    for (int t = 0; rounds != NULL && t < a->n_rounds; t++) {
        const struct round_stats *s = &a->stats[t];
        cJSON *x = cJSON_CreateObject();
        if (x == NULL || !cJSON_AddItemToArray(rounds, x)) {
            cJSON_Delete(x);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddNumberToObject(x, "round", s->round);
        jnum(x, "mean_acc", s->mean_acc.mean);
        jci(x, "mean_acc_ci", s->mean_acc);
        jnum(x, "pass_at_n", s->pass_n.mean);
        jci(x, "pass_at_n_ci", s->pass_n);
        jnum(x, "maj_at_n", s->maj_n.mean);
        jci(x, "maj_at_n_ci", s->maj_n);
        jarr(x, "pass_at_k", s->pass_at_k, s->n_k);
        jarr(x, "maj_at_k", s->maj_at_k, s->n_k);
        cJSON_AddNumberToObject(x, "decode_tokens", (double)s->decode_tokens);
        cJSON_AddNumberToObject(x, "prefill_tokens", (double)s->prefill_tokens);
        cJSON_AddNumberToObject(x, "cumulative_decode_tokens", (double)s->cum_decode_tokens);
        cJSON_AddNumberToObject(x, "cumulative_prefill_tokens", (double)s->cum_prefill_tokens);
        jnum(x, "decode_per_problem", s->decode_per_group);
        jnum(x, "cumulative_decode_per_problem", s->cum_decode_per_group);
        jnum(x, "prefill_per_problem", s->prefill_per_group);
        jnum(x, "cumulative_prefill_per_problem", s->cum_prefill_per_group);
        cJSON *len = cJSON_AddObjectToObject(x, "length");
        if (len != NULL) {
            jnum(len, "mean", s->len_mean);
            jnum(len, "q25", s->len_q25);
            jnum(len, "median", s->len_median);
            jnum(len, "q75", s->len_q75);
        }
        cJSON_AddNumberToObject(x, "groups", s->groups);
        cJSON_AddNumberToObject(x, "traces", s->traces);
        cJSON_AddNumberToObject(x, "graded", s->graded);
        cJSON_AddNumberToObject(x, "finish_stop", s->finish_stop);
        cJSON_AddNumberToObject(x, "finish_length", s->finish_length);
        cJSON_AddNumberToObject(x, "finish_other", s->finish_other);
        cJSON_AddNumberToObject(x, "no_answer", s->no_answer);
        cJSON_AddNumberToObject(x, "unparseable", s->unparseable);
        cJSON_AddNumberToObject(x, "think_unclosed", s->think_unclosed);
    }
    /* per problem, one value per round (the heat map is "mean_acc") */
    cJSON *probs = cJSON_AddArrayToObject(o, "problems");
    double *row = malloc(((size_t)a->n_rounds + 1) * sizeof(double));
    if (rounds == NULL || probs == NULL || row == NULL) {
        free(row);
        cJSON_Delete(o);
        return NULL;
    }
    for (int p = 0; p < a->n_problems; p++) {
        cJSON *x = cJSON_CreateObject();
        if (x == NULL || !cJSON_AddItemToArray(probs, x)) {
            cJSON_Delete(x);
            free(row);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(x, "id", a->problem_ids[p]);
        for (int field = 0; field < 4; field++) {
            for (int t = 0; t < a->n_rounds; t++) {
                size_t c = (size_t)t * a->n_problems + p;
                row[t] = field == 0   ? a->heat[c]
                         : field == 1 ? a->prob_pass_at_k[c][a->n_k - 1]
                         : field == 2 ? a->prob_maj_at_k[c][a->n_k - 1]
                                      : a->prob_cum_decode[c];
            }
            static const char *const keys[] = {"mean_acc", "pass_at_n", "maj_at_n", "cumulative_decode_per_repeat"};
            jarr(x, keys[field], row, a->n_rounds);
        }
    }
    free(row);
    return o;
}

static void jdiff(cJSON *o, const char *key, double base, struct ci c, double p)
{
    cJSON *x = cJSON_AddObjectToObject(o, key);
    if (x == NULL)
        return;
    jnum(x, "baseline", base);
    jnum(x, "diff", c.mean);
    jci(x, "diff_ci", c);
    jnum(x, "p_le0", p);
}

static cJSON *json_budget(const struct budget_cmp *b)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "rsa_run", b->rsa_name);
    cJSON_AddStringToObject(o, "baseline_run", b->base_name);
    cJSON_AddNumberToObject(o, "n_common", b->n_common);
    cJSON_AddNumberToObject(o, "baseline_n", b->base_n);
    jnum(o, "baseline_tokens_per_sample", b->base_tokens_per_sample);
    cJSON *pts = cJSON_AddArrayToObject(o, "points");
    for (int i = 0; pts != NULL && i < b->n_points; i++) {
        const struct budget_point *p = &b->points[i];
        cJSON *x = cJSON_CreateObject();
        if (x == NULL || !cJSON_AddItemToArray(pts, x)) {
            cJSON_Delete(x);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddNumberToObject(x, "round", p->round);
        jnum(x, "tokens", p->tokens);
        cJSON_AddNumberToObject(x, "k", p->k);
        jnum(x, "raw_k", p->raw_k);
        cJSON_AddBoolToObject(x, "capped", p->capped);
        cJSON_AddNumberToObject(x, "n_pairs", p->n_pairs);
        jnum(x, "rsa_mean_acc", p->rsa.mean);
        jci(x, "rsa_mean_acc_ci", p->rsa);
        jdiff(x, "pass1", p->base_pass1, p->diff_pass1, p->p_le0_pass1);
        jdiff(x, "maj_k", p->base_maj_k, p->diff_maj_k, p->p_le0_maj_k);
        jdiff(x, "pass_k", p->base_pass_k, p->diff_pass_k, p->p_le0_pass_k);
    }
    cJSON *cv = cJSON_AddObjectToObject(o, "baseline_curve");
    double *x = malloc(((size_t)b->base_n + 1) * sizeof(double));
    if (pts == NULL || cv == NULL || x == NULL) {
        free(x);
        cJSON_Delete(o);
        return NULL;
    }
    for (int k = 1; k <= b->base_n; k++)
        x[k - 1] = k;
    jarr(cv, "k", x, b->base_n);
    for (int k = 1; k <= b->base_n; k++)
        x[k - 1] = k * b->base_tokens_per_sample;
    jarr(cv, "tokens", x, b->base_n);
    free(x);
    jarr(cv, "pass1", b->base_curve_pass1, b->base_n);
    jarr(cv, "maj_at_k", b->base_curve_maj, b->base_n);
    jarr(cv, "pass_at_k", b->base_curve_pass, b->base_n);
    return o;
}

static enum rsa_err write_json(FILE *out, const struct run_analysis *runs, int n, const struct budget_cmp *b)
{
    cJSON *o = NULL;
    if (n == 1) {
        o = json_run(&runs[0]);
    } else if ((o = cJSON_CreateObject()) != NULL) {
        cJSON *arr = cJSON_AddArrayToObject(o, "runs");
        for (int i = 0; i < n; i++) {
            cJSON *r = arr != NULL ? json_run(&runs[i]) : NULL;
            if (r == NULL || !cJSON_AddItemToArray(arr, r)) {
                cJSON_Delete(r);
                cJSON_Delete(o);
                return RSA_ERR_NOMEM;
            }
        }
    }
    if (o == NULL)
        return RSA_ERR_NOMEM;
    if (b != NULL) {
        cJSON *bj = json_budget(b);
        if (bj == NULL || !cJSON_AddItemToObject(o, "budget", bj)) {
            cJSON_Delete(bj);
            cJSON_Delete(o);
            return RSA_ERR_NOMEM;
        }
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (txt == NULL)
        return RSA_ERR_NOMEM;
    fprintf(out, "%s\n", txt);
    free(txt);
    return RSA_OK;
}

/* ===== CSV ===== */

/* a field quoted as RFC 4180 asks when it holds a comma, quote or line break */
static void csv_str(FILE *out, const char *s)
{
    if (s == NULL)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* ",value" with the given decimals; an empty field for NAN */
static void csv_num(FILE *out, double v, int decimals)
{
    fputc(',', out);
    if (isfinite(v))
        fprintf(out, "%.*f", decimals, v);
}

static void csv_runs(FILE *out, const struct run_analysis *runs, int n)
{
    fputs("run,round,mean_acc,pass_at_n,maj_at_n,decode_tokens,prefill_tokens,cumulative_decode_tokens,"
          "cumulative_prefill_tokens,mean_acc_lo,mean_acc_hi,pass_at_n_lo,pass_at_n_hi,maj_at_n_lo,maj_at_n_hi,"
          "decode_per_problem,cumulative_decode_per_problem,prefill_per_problem,cumulative_prefill_per_problem,"
          "groups,traces,graded,finish_stop,finish_length,finish_other,no_answer,unparseable,think_unclosed,"
          "len_mean,len_q25,len_median,len_q75,population,subset,aggregation_rounds,tail_tokens,max_tokens,repeats\n",
          out);
    for (int i = 0; i < n; i++) {
        const struct run_analysis *a = &runs[i];
        for (int t = 0; t < a->n_rounds; t++) {
            const struct round_stats *s = &a->stats[t];
            csv_str(out, a->name);
            fprintf(out, ",%d", s->round);
            csv_num(out, s->mean_acc.mean, 6);
            csv_num(out, s->pass_n.mean, 6);
            csv_num(out, s->maj_n.mean, 6);
            fprintf(out, ",%lld,%lld,%lld,%lld", (long long)s->decode_tokens, (long long)s->prefill_tokens,
                    (long long)s->cum_decode_tokens, (long long)s->cum_prefill_tokens);
            csv_num(out, s->mean_acc.lo, 6);
            csv_num(out, s->mean_acc.hi, 6);
            csv_num(out, s->pass_n.lo, 6);
            csv_num(out, s->pass_n.hi, 6);
            csv_num(out, s->maj_n.lo, 6);
            csv_num(out, s->maj_n.hi, 6);
            csv_num(out, s->decode_per_group, 2);
            csv_num(out, s->cum_decode_per_group, 2);
            csv_num(out, s->prefill_per_group, 2);
            csv_num(out, s->cum_prefill_per_group, 2);
            fprintf(out, ",%d,%d,%d,%d,%d,%d,%d,%d,%d", s->groups, s->traces, s->graded, s->finish_stop,
                    s->finish_length, s->finish_other, s->no_answer, s->unparseable, s->think_unclosed);
            csv_num(out, s->len_mean, 2);
            csv_num(out, s->len_q25, 2);
            csv_num(out, s->len_median, 2);
            csv_num(out, s->len_q75, 2);
            fprintf(out, ",%d,%d,%d,%d,%d,%d\n", a->population, a->subset, a->rounds, a->tail_tokens, a->max_tokens,
                    a->repeats);
        }
    }
}

static void csv_budget(FILE *out, const struct budget_cmp *b)
{
    fputs("rsa_run,baseline_run,round,tokens_per_problem,k,raw_k,capped,n_pairs,rsa_mean_acc,rsa_mean_acc_lo,"
          "rsa_mean_acc_hi,base_pass1,diff_pass1,diff_pass1_lo,diff_pass1_hi,p_le0_pass1,base_maj_k,diff_maj_k,"
          "diff_maj_k_lo,diff_maj_k_hi,p_le0_maj_k,base_pass_k,diff_pass_k,diff_pass_k_lo,diff_pass_k_hi,p_le0_pass_k,"
          "baseline_n,baseline_tokens_per_sample,n_common\n",
          out);
    for (int i = 0; i < b->n_points; i++) {
        const struct budget_point *p = &b->points[i];
        csv_str(out, b->rsa_name);
        fputc(',', out);
        csv_str(out, b->base_name);
        fprintf(out, ",%d", p->round);
        csv_num(out, p->tokens, 2);
        fprintf(out, ",%d", p->k);
        csv_num(out, p->raw_k, 4);
        fprintf(out, ",%d,%d", p->capped, p->n_pairs);
        csv_num(out, p->rsa.mean, 6);
        csv_num(out, p->rsa.lo, 6);
        csv_num(out, p->rsa.hi, 6);
        const double base[3] = {p->base_pass1, p->base_maj_k, p->base_pass_k};
        const struct ci *d[3] = {&p->diff_pass1, &p->diff_maj_k, &p->diff_pass_k};
        const double pl[3] = {p->p_le0_pass1, p->p_le0_maj_k, p->p_le0_pass_k};
        for (int j = 0; j < 3; j++) {
            csv_num(out, base[j], 6);
            csv_num(out, d[j]->mean, 6);
            csv_num(out, d[j]->lo, 6);
            csv_num(out, d[j]->hi, 6);
            csv_num(out, pl[j], 6);
        }
        fprintf(out, ",%d", b->base_n);
        csv_num(out, b->base_tokens_per_sample, 2);
        fprintf(out, ",%d\n", b->n_common);
    }
}

/* ===== entry points ===== */

enum rsa_err report_render(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b,
                           enum report_format fmt, FILE *out, char *err, size_t errlen)
{
    if (runs == NULL || n_runs < 1 || out == NULL) {
        util_errf(err, errlen, "report: no run to report");
        return RSA_ERR_USAGE;
    }
    enum rsa_err rc = RSA_OK;
    switch (fmt) {
    case REPORT_TEXT:
        write_text(out, runs, n_runs, b);
        break;
    case REPORT_JSON:
        rc = write_json(out, runs, n_runs, b);
        if (rc != RSA_OK)
            util_errf(err, errlen, "report: out of memory");
        break;
    case REPORT_CSV:
        if (b != NULL)
            csv_budget(out, b);
        else
            csv_runs(out, runs, n_runs);
        break;
    case REPORT_SVG:
        return plot_svg(runs, n_runs, b, out, err, errlen);
    case REPORT_HTML:
        return plot_html(runs, n_runs, b, out, err, errlen);
    default:
        util_errf(err, errlen, "report: unknown format %d", (int)fmt);
        return RSA_ERR_USAGE;
    }
    if (rc == RSA_OK && ferror(out)) {
        util_errf(err, errlen, "report: write failed");
        rc = RSA_ERR_IO;
    }
    return rc;
}

enum rsa_err report_write(struct store *s, const char *name, enum report_format fmt, FILE *out, char *err,
                          size_t errlen)
{
    struct run_analysis a;
    enum rsa_err rc = analysis_run(s, name, &a, err, errlen);
    if (rc != RSA_OK)
        return rc;
    rc = report_render(&a, 1, NULL, fmt, out, err, errlen);
    analysis_free(&a);
    return rc;
}

/* ===== export ===== */

struct export_ctx {
    FILE *out;
    char **ids;        /* problem index -> id */
    int n_ids;
    int chat;
    const char *system;
    int oom;
};

static int collect_problem(void *user, const struct store_problem *p)
{
    struct export_ctx *x = user;
    if (p->idx < 0 || p->idx >= (1 << 24))
        return 0;
    if (p->idx >= x->n_ids) {
        int n = p->idx + 1 > 2 * x->n_ids ? p->idx + 1 : 2 * x->n_ids;
        char **ids = realloc(x->ids, (size_t)n * sizeof(char *));
        if (ids == NULL) {
            x->oom = 1;
            return 1;
        }
        memset(ids + x->n_ids, 0, (size_t)(n - x->n_ids) * sizeof(char *));
        x->ids = ids;
        x->n_ids = n;
    }
    free(x->ids[p->idx]);
    x->ids[p->idx] = util_strdup(p->id ? p->id : "");
    x->oom |= x->ids[p->idx] == NULL;
    return x->oom;
}

static cJSON *opt_int(int v)
{
    return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *opt_str(const char *s)
{
    return s == NULL ? cJSON_CreateNull() : cJSON_CreateString(s);
}

static int export_trace(void *user, const struct store_trace *t)
{
    struct export_ctx *x = user;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        x->oom = 1;
        return 1;
    }
    const char *pid = t->problem >= 0 && t->problem < x->n_ids && x->ids[t->problem] ? x->ids[t->problem] : "?";
    cJSON_AddStringToObject(o, "problem", pid);
    cJSON_AddNumberToObject(o, "repeat", t->repeat);
    cJSON_AddNumberToObject(o, "round", t->round);
    cJSON_AddNumberToObject(o, "slot", t->slot);
    cJSON *par = cJSON_AddArrayToObject(o, "parents");
    for (int i = 0; par && i < t->n_parents; i++)
        cJSON_AddItemToArray(par, cJSON_CreateNumber(t->parents[i]));
    cJSON_AddNumberToObject(o, "seed", (double)t->seed);
    if (x->chat) {
        cJSON *msgs = cJSON_AddArrayToObject(o, "prompt");
        if (msgs && x->system && x->system[0]) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", "system");
            cJSON_AddStringToObject(m, "content", x->system);
            cJSON_AddItemToArray(msgs, m);
        }
        if (msgs) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", "user");
            cJSON_AddStringToObject(m, "content", t->prompt ? t->prompt : "");
            cJSON_AddItemToArray(msgs, m);
        }
    } else {
        cJSON_AddStringToObject(o, "prompt", t->prompt ? t->prompt : "");
    }
    cJSON_AddStringToObject(o, "text", t->text ? t->text : "");
    cJSON_AddStringToObject(o, "tail", t->tail ? t->tail : "");
    cJSON_AddItemToObject(o, "tail_tokens", opt_int(t->tail_tokens));
    cJSON_AddBoolToObject(o, "tail_truncated", t->tail_truncated);
    cJSON_AddItemToObject(o, "source_tokens", opt_int(t->source_tokens));
    cJSON_AddItemToObject(o, "completion_tokens", opt_int(t->completion_tokens));
    cJSON_AddItemToObject(o, "prompt_tokens", opt_int(t->prompt_tokens));
    cJSON_AddStringToObject(o, "finish_reason", t->finish_reason ? t->finish_reason : "");
    cJSON_AddBoolToObject(o, "think_closed", t->think_closed);
    cJSON_AddItemToObject(o, "answer", opt_str(t->answer));
    if (t->correct < 0)
        cJSON_AddNullToObject(o, "correct");
    else
        cJSON_AddBoolToObject(o, "correct", t->correct);
    cJSON_AddItemToObject(o, "status", opt_str(t->verdict_status));  /* grade_status_str; null = unknown (v1) */
    cJSON_AddItemToObject(o, "reason", opt_str(t->reason));          /* one line; null or "" = none */
    cJSON_AddStringToObject(o, "grader", t->grader ? t->grader : "");
    cJSON_AddNumberToObject(o, "latency_ms", t->latency_ms);
    cJSON_AddStringToObject(o, "endpoint", t->endpoint ? t->endpoint : "");
    cJSON_AddNumberToObject(o, "attempts", t->attempts);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (txt == NULL) {
        x->oom = 1;
        return 1;
    }
    fputs(txt, x->out);
    fputc('\n', x->out);
    free(txt);
    return 0;
}

enum rsa_err report_export(struct store *s, const char *name, FILE *out, char *err, size_t errlen)
{
    struct store_run_info info;
    enum rsa_err rc = analysis_find_run(s, name, &info, err, errlen);
    if (rc != RSA_OK)
        return rc;
    struct export_ctx x = {.out = out};
    cJSON *man = cJSON_Parse(info.manifest ? info.manifest : "{}");
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(man, "api");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(man, "system_prompt");
    x.chat = cJSON_IsString(api) && strcmp(api->valuestring, "chat") == 0;
    x.system = cJSON_IsString(sys) ? sys->valuestring : NULL;
    rc = store_each_problem(s, info.id, collect_problem, &x, err, errlen);
    if (rc == RSA_OK)
        rc = store_each_trace(s, info.id, export_trace, &x, err, errlen);
    if (rc == RSA_OK && x.oom) {
        rc = RSA_ERR_NOMEM;
        util_errf(err, errlen, "export: out of memory");
    }
    if (rc == RSA_OK && ferror(out)) {
        rc = RSA_ERR_IO;
        util_errf(err, errlen, "export: write failed");
    }
    if (x.ids != NULL)
        for (int i = 0; i < x.n_ids; i++)
            free(x.ids[i]);
    free(x.ids);
    cJSON_Delete(man);
    store_run_info_free(&info);
    return rc;
}
