/* report.c: see report.h. */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "grade.h"
#include "util.h"

/* ===== metrics ===== */

struct cluster {
    char *key;       /* normalised answer */
    int count;
    int correct;     /* verdict of the first member */
};

struct acc {
    struct round_metrics *m;
    int n_rounds;
    /* the (problem, repeat, round) group being accumulated */
    int g_problem, g_repeat, g_round, g_n, g_correct, g_active;
    struct cluster *cl;
    int n_cl, cap_cl;
    int oom;
};

static void close_group(struct acc *a)
{
    if (!a->g_active)
        return;
    struct round_metrics *m = &a->m[a->g_round];
    m->groups++;
    m->mean_acc += a->g_n ? (double)a->g_correct / a->g_n : 0;
    m->pass_at_n += a->g_correct > 0;
    int best = -1;
    for (int i = 0; i < a->n_cl; i++)
        if (best < 0 || a->cl[i].count > a->cl[best].count)
            best = i;
    if (best >= 0)
        m->maj_at_n += a->cl[best].correct == 1;
    for (int i = 0; i < a->n_cl; i++)
        free(a->cl[i].key);
    a->n_cl = 0;
    a->g_active = 0;
}

static int add_trace(void *user, const struct store_trace *t)
{
    struct acc *a = user;
    if (t->round < 0 || t->round >= a->n_rounds)
        return 0;
    if (!a->g_active || t->problem != a->g_problem || t->repeat != a->g_repeat || t->round != a->g_round) {
        close_group(a);
        a->g_active = 1;
        a->g_problem = t->problem;
        a->g_repeat = t->repeat;
        a->g_round = t->round;
        a->g_n = 0;
        a->g_correct = 0;
    }
    struct round_metrics *m = &a->m[t->round];
    m->traces++;
    a->g_n++;
    if (t->correct >= 0)
        m->graded++;
    if (t->correct == 1)
        a->g_correct++;
    if (t->completion_tokens > 0)
        m->decode_tokens += t->completion_tokens;
    if (t->prompt_tokens > 0)
        m->prefill_tokens += t->prompt_tokens;
    if (t->finish_reason && strcmp(t->finish_reason, "stop") == 0)
        m->finish_stop++;
    else if (t->finish_reason && strcmp(t->finish_reason, "length") == 0)
        m->finish_length++;
    else
        m->finish_other++;
    if (!t->think_closed)
        m->think_unclosed++;
    if (t->answer == NULL) {
        m->no_answer++;
        return 0;
    }
    char *key = grade_normalize(t->answer);
    if (key == NULL) {
        a->oom = 1;
        return 1;
    }
    for (int i = 0; i < a->n_cl; i++) {
        if (strcmp(a->cl[i].key, key) == 0) {
            a->cl[i].count++;
            free(key);
            return 0;
        }
    }
    if (a->n_cl == a->cap_cl) {
        int nc = a->cap_cl ? a->cap_cl * 2 : 16;
        struct cluster *p = realloc(a->cl, (size_t)nc * sizeof(*p));
        if (p == NULL) {
            free(key);
            a->oom = 1;
            return 1;
        }
        a->cl = p;
        a->cap_cl = nc;
    }
    a->cl[a->n_cl++] = (struct cluster){key, 1, t->correct};
    return 0;
}

enum rsa_err report_metrics(struct store *s, int64_t run_id, int rounds, struct round_metrics **out, int *n,
                            char *err, size_t errlen)
{
    struct acc a;
    memset(&a, 0, sizeof(a));
    a.n_rounds = rounds + 1;
    a.m = calloc((size_t)a.n_rounds, sizeof(*a.m));
    if (a.m == NULL)
        return RSA_ERR_NOMEM;
    enum rsa_err rc = store_each_trace(s, run_id, add_trace, &a, err, errlen);
    close_group(&a);
    for (int i = 0; i < a.n_cl; i++)
        free(a.cl[i].key);
    free(a.cl);
    if (rc == RSA_OK && a.oom)
        rc = RSA_ERR_NOMEM;
    if (rc != RSA_OK) {
        free(a.m);
        return rc;
    }
    for (int r = 0; r < a.n_rounds; r++) {
        a.m[r].round = r;
        if (a.m[r].groups > 0) {
            a.m[r].mean_acc /= a.m[r].groups;
            a.m[r].pass_at_n /= a.m[r].groups;
            a.m[r].maj_at_n /= a.m[r].groups;
        }
    }
    *out = a.m;
    *n = a.n_rounds;
    return RSA_OK;
}

/* ===== run lookup ===== */

static int first_name(void *user, const char *name)
{
    char **out = user;
    *out = util_strdup(name);
    return 1;
}

static enum rsa_err find_run(struct store *s, const char *name, struct store_run_info *info, char *err,
                             size_t errlen)
{
    char *newest = NULL;
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

/* ===== report ===== */

static enum rsa_err write_json(FILE *out, const struct store_run_info *info, const struct round_metrics *m, int n)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return RSA_ERR_NOMEM;
    cJSON_AddStringToObject(o, "run", info->name);
    cJSON_AddStringToObject(o, "status", info->status);
    cJSON_AddNumberToObject(o, "population", info->population);
    cJSON_AddNumberToObject(o, "subset", info->subset);
    cJSON_AddNumberToObject(o, "aggregation_rounds", info->rounds); /* T_agg; "rounds" is the metrics array */
    cJSON_AddNumberToObject(o, "stages", info->rounds + 1);          /* T_steps = T_agg + 1 */
    cJSON_AddNumberToObject(o, "tail_tokens", info->tail_tokens);
    cJSON_AddNumberToObject(o, "max_tokens", info->max_tokens);
    cJSON_AddNumberToObject(o, "repeats", info->repeats);
    cJSON_AddStringToObject(o, "tail_method", info->tail_method);
    cJSON_AddStringToObject(o, "majority_tie_rule", "first-formed cluster in slot order; no-answer traces do not vote");
    cJSON_AddStringToObject(o, "grader", GRADE_NAME "/" GRADE_VERSION);
    cJSON *rounds = cJSON_AddArrayToObject(o, "rounds");
    if (rounds == NULL) {
        cJSON_Delete(o);
        return RSA_ERR_NOMEM;
    }
    int64_t cum = 0;
    for (int r = 0; r < n; r++) {
        cJSON *x = cJSON_CreateObject();
        cum += m[r].decode_tokens;
        cJSON_AddNumberToObject(x, "round", m[r].round);
        cJSON_AddNumberToObject(x, "mean_acc", m[r].mean_acc);
        cJSON_AddNumberToObject(x, "pass_at_n", m[r].pass_at_n);
        cJSON_AddNumberToObject(x, "maj_at_n", m[r].maj_at_n);
        cJSON_AddNumberToObject(x, "decode_tokens", (double)m[r].decode_tokens);
        cJSON_AddNumberToObject(x, "prefill_tokens", (double)m[r].prefill_tokens);
        cJSON_AddNumberToObject(x, "cumulative_decode_tokens", (double)cum);
        cJSON_AddNumberToObject(x, "traces", m[r].traces);
        cJSON_AddNumberToObject(x, "groups", m[r].groups);
        cJSON_AddNumberToObject(x, "finish_stop", m[r].finish_stop);
        cJSON_AddNumberToObject(x, "finish_length", m[r].finish_length);
        cJSON_AddNumberToObject(x, "finish_other", m[r].finish_other);
        cJSON_AddNumberToObject(x, "no_answer", m[r].no_answer);
        cJSON_AddNumberToObject(x, "think_unclosed", m[r].think_unclosed);
        cJSON_AddItemToArray(rounds, x);
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (txt == NULL)
        return RSA_ERR_NOMEM;
    fprintf(out, "%s\n", txt);
    free(txt);
    return RSA_OK;
}

enum rsa_err report_write(struct store *s, const char *name, enum report_format fmt, FILE *out, char *err,
                          size_t errlen)
{
    struct store_run_info info;
    enum rsa_err rc = find_run(s, name, &info, err, errlen);
    if (rc != RSA_OK)
        return rc;
    struct round_metrics *m = NULL;
    int n = 0;
    rc = report_metrics(s, info.id, info.rounds, &m, &n, err, errlen);
    if (rc != RSA_OK) {
        store_run_info_free(&info);
        return rc;
    }
    if (fmt == REPORT_JSON) {
        rc = write_json(out, &info, m, n);
    } else if (fmt == REPORT_CSV) {
        fprintf(out, "run,round,mean_acc,pass_at_n,maj_at_n,decode_tokens,prefill_tokens,cumulative_decode_tokens,"
                     "traces,finish_stop,finish_length,no_answer\n");
        int64_t cum = 0;
        for (int r = 0; r < n; r++) {
            cum += m[r].decode_tokens;
            fprintf(out, "%s,%d,%.6f,%.6f,%.6f,%lld,%lld,%lld,%d,%d,%d,%d\n", info.name, r, m[r].mean_acc,
                    m[r].pass_at_n, m[r].maj_at_n, (long long)m[r].decode_tokens, (long long)m[r].prefill_tokens,
                    (long long)cum, m[r].traces, m[r].finish_stop, m[r].finish_length, m[r].no_answer);
        }
    } else {
        fprintf(out, "run %s (%s): N=%d C=%d T_agg=%d (stages %d) tau=%d beta=%d repeats=%d tails=%s\n", info.name,
                info.status, info.population, info.subset, info.rounds, info.rounds + 1, info.tail_tokens,
                info.max_tokens, info.repeats, info.tail_method);
        fprintf(out, "%5s %7s %8s %8s %8s %12s %12s %10s %8s\n", "round", "traces", "mean_acc", "pass@N", "maj@N",
                "decode_tok", "prefill_tok", "mean_len", "cut@beta");
        for (int r = 0; r < n; r++) {
            double mean_len = m[r].traces ? (double)m[r].decode_tokens / m[r].traces : 0;
            fprintf(out, "%5d %7d %8.4f %8.4f %8.4f %12lld %12lld %10.1f %8d\n", r, m[r].traces, m[r].mean_acc,
                    m[r].pass_at_n, m[r].maj_at_n, (long long)m[r].decode_tokens, (long long)m[r].prefill_tokens,
                    mean_len, m[r].finish_length);
        }
        fprintf(out, "accuracies: fractions averaged over problems x repeats; maj@N ties go to the first-formed "
                     "cluster; grader %s/%s\n",
                GRADE_NAME, GRADE_VERSION);
    }
    free(m);
    store_run_info_free(&info);
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
    if (p->idx < 0)
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
    x->ids[p->idx] = util_strdup(p->id);
    x->oom |= x->ids[p->idx] == NULL;
    return x->oom;
}

static cJSON *opt_int(int v)
{
    return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(v);
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
    if (t->answer)
        cJSON_AddStringToObject(o, "answer", t->answer);
    else
        cJSON_AddNullToObject(o, "answer");
    if (t->correct < 0)
        cJSON_AddNullToObject(o, "correct");
    else
        cJSON_AddBoolToObject(o, "correct", t->correct);
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
    enum rsa_err rc = find_run(s, name, &info, err, errlen);
    if (rc != RSA_OK)
        return rc;
    struct export_ctx x = {.out = out};
    cJSON *man = cJSON_Parse(info.manifest);
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(man, "api");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(man, "system_prompt");
    x.chat = cJSON_IsString(api) && strcmp(api->valuestring, "chat") == 0;
    x.system = cJSON_IsString(sys) ? sys->valuestring : NULL;
    if (rc == RSA_OK)
        rc = store_each_problem(s, info.id, collect_problem, &x, err, errlen);
    if (rc == RSA_OK)
        rc = store_each_trace(s, info.id, export_trace, &x, err, errlen);
    if (rc == RSA_OK && x.oom)
        rc = RSA_ERR_NOMEM;
    if (x.ids != NULL)
        for (int i = 0; i < x.n_ids; i++)
            free(x.ids[i]);
    free(x.ids);
    cJSON_Delete(man);
    store_run_info_free(&info);
    return rc;
}
