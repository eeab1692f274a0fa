/*
 * cli_grade.c: `rsa grade` (check answers without a run) and `rsa regrade` (recompute
 * a stored run's verdicts with the current grader, traces untouched).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "grade.h"
#include "util.h"

#define GRADE_MAX_LINE (64u << 20) /* one JSONL case: gold + response, at most 64 MiB */

int cli_fail(enum rsa_err rc, const char *msg)
{
    fprintf(stderr, "rsa: %s\n", msg && msg[0] ? msg : rsa_err_str(rc));
    return rsa_err_exit_code(rc);
}

int cli_open_db(const char *path, struct store **st, char *err, size_t errlen)
{
    if (path == NULL) {
        util_errf(err, errlen, "--db PATH is required");
        return 2;
    }
    struct stat sb;
    if (access(path, R_OK) != 0 || stat(path, &sb) != 0) {
        util_errf(err, errlen, "%s: no such database", path);
        return 2;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
        /* never turn an empty file or a directory into a database by reading it */
        util_errf(err, errlen, "%s: not an rsa database (%s)", path, S_ISREG(sb.st_mode) ? "empty file" : "not a file");
        return 2;
    }
    enum rsa_err rc = store_open(path, st, err, errlen);
    return rc == RSA_OK ? 0 : rsa_err_exit_code(rc);
}

/* print one verdict object; id may be NULL (omitted) */
static int print_verdict(FILE *out, const cJSON *id, const struct grade_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return -1;
    if (id != NULL)
        cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
    if (r->extracted)
        cJSON_AddStringToObject(o, "extracted", r->extracted);
    else
        cJSON_AddNullToObject(o, "extracted");
    cJSON_AddBoolToObject(o, "correct", r->correct);
    cJSON_AddStringToObject(o, "status", grade_status_str(r->status));
    cJSON_AddStringToObject(o, "reason", r->reason);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        return -1;
    fprintf(out, "%s\n", s);
    free(s);
    return 0;
}

/* a bad input line: message on stderr and an {"id"?, "error"} object in its place on stdout */
static void print_error(FILE *out, const cJSON *id, const char *where, const char *what)
{
    fprintf(stderr, "rsa: %s: %s\n", where, what);
    char msg[768];
    snprintf(msg, sizeof(msg), "%s: %s", where, what);
    cJSON *e = cJSON_CreateObject();
    if (e == NULL)
        return;
    if (id != NULL)
        cJSON_AddItemToObject(e, "id", cJSON_Duplicate(id, 1));
    cJSON_AddStringToObject(e, "error", msg);
    char *s = cJSON_PrintUnformatted(e);
    if (s != NULL)
        fprintf(out, "%s\n", s);
    free(s);
    cJSON_Delete(e);
}

/* one JSONL line -> a verdict line (or an error line); returns 0, or 1 for a bad line */
static int grade_line(const char *where, const char *line, const struct cli_args *a, FILE *out)
{
    cJSON *j = cJSON_Parse(line);
    const cJSON *gold = j ? cJSON_GetObjectItemCaseSensitive(j, "gold") : NULL;
    const cJSON *resp = j ? cJSON_GetObjectItemCaseSensitive(j, "response") : NULL;
    const cJSON *id = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
    const char *what = NULL;
    if (j == NULL || !cJSON_IsObject(j))
        what = "not a JSON object";
    else if (!cJSON_IsString(gold))
        what = "\"gold\" must be a string";
    else if (!cJSON_IsString(resp) && !cJSON_IsNull(resp))
        what = "\"response\" must be a string or null";
    else if (cJSON_HasObjectItem(j, "strict") && !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "strict")))
        what = "\"strict\" must be true or false";
    else if (cJSON_HasObjectItem(j, "after_think") &&
             !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "after_think")))
        what = "\"after_think\" must be true or false";
    if (what != NULL) {
        print_error(out, id, where, what);
        cJSON_Delete(j);
        return 1;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "strict");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "after_think");
    struct grade_opts o = {
        .strict = cJSON_IsBool(st) ? cJSON_IsTrue(st) : (a->strict < 0 ? 1 : a->strict),
        .after = (cJSON_IsBool(at) ? cJSON_IsTrue(at) : a->after_think) ? "</think>" : NULL,
    };
    struct grade_result r;
    grade_check(gold->valuestring, cJSON_IsString(resp) ? resp->valuestring : "", &o, &r);
    int bad = print_verdict(out, id, &r) != 0;
    grade_result_free(&r);
    cJSON_Delete(j);
    return bad;
}

int cli_grade(const struct cli_args *a)
{
    char err[1024] = "";
    if (a->config != NULL)
        return cli_fail(RSA_ERR_USAGE, "grade takes no positional argument (use --gold/--response-file or --jsonl)");
    if ((a->jsonl != NULL) == (a->gold != NULL || a->response_file != NULL))
        return cli_fail(RSA_ERR_USAGE, "grade needs either --gold ANSWER --response-file FILE, or --jsonl FILE");
    if (a->jsonl == NULL) {
        if (a->gold == NULL || a->response_file == NULL)
            return cli_fail(RSA_ERR_USAGE, "grade needs both --gold ANSWER and --response-file FILE ('-' = stdin)");
        char *text = NULL;
        size_t len = 0;
        if (strcmp(a->response_file, "-") == 0) {
            struct buf b;
            buf_init(&b, GRADE_MAX_LINE);
            char chunk[65536];
            size_t n;
            enum rsa_err rc = RSA_OK;
            while (rc == RSA_OK && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
                rc = buf_append(&b, chunk, n);
            if (rc == RSA_OK)
                rc = buf_append(&b, "", 1);
            if (rc != RSA_OK) {
                buf_free(&b);
                return cli_fail(rc, "stdin: response too large or out of memory");
            }
            text = buf_take(&b);
        } else {
            enum rsa_err rc = util_read_file(a->response_file, &text, &len, err, sizeof(err));
            if (rc != RSA_OK)
                return cli_fail(rc == RSA_ERR_IO ? RSA_ERR_USAGE : rc, err);
        }
        struct grade_opts o = {.strict = a->strict < 0 ? 1 : a->strict, .after = a->after_think ? "</think>" : NULL};
        struct grade_result r;
        grade_check(a->gold, text, &o, &r);
        int bad = print_verdict(stdout, NULL, &r);
        grade_result_free(&r);
        free(text);
        return bad ? cli_fail(RSA_ERR_NOMEM, NULL) : 0;
    }
    FILE *in = strcmp(a->jsonl, "-") == 0 ? stdin : fopen(a->jsonl, "r");
    if (in == NULL) {
        snprintf(err, sizeof(err), "%s: %s", a->jsonl, strerror(errno));
        return cli_fail(RSA_ERR_USAGE, err);
    }
    const char *name = in == stdin ? "<stdin>" : a->jsonl;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, bad = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%d", name, lineno);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t sp = strspn(line, " \t");
        if (line[sp] == '\0')
            continue;
        if ((size_t)n > GRADE_MAX_LINE) {
            print_error(stdout, NULL, where, "line too long (at most 64 MiB)");
            bad++;
            continue;
        }
        bad += grade_line(where, line, a, stdout);
        fflush(stdout);
    }
    int read_failed = ferror(in);
    free(line);
    if (in != stdin)
        fclose(in);
    if (read_failed) {
        snprintf(err, sizeof(err), "%s: read error (%s)", name, strerror(errno));
        return cli_fail(RSA_ERR_USAGE, err);
    }
    if (bad) {
        fprintf(stderr, "rsa: %d bad line%s in %s (each has an \"error\" object in the output)\n", bad,
                bad == 1 ? "" : "s", name);
        return 2;
    }
    return 0;
}

/* ===== regrade ===== */

struct regrade_ctx {
    struct store_trace *t;   /* copies with owned strings */
    char **owned;            /* per trace: answer, reason (2 each) */
    size_t n, cap;
    const char **gold;       /* by problem index */
    int n_gold;
    struct grade_opts opts;
    int changed, now_correct, was_correct, oom;
};

static int collect_gold(void *user, const struct store_problem *p)
{
    struct regrade_ctx *c = user;
    if (p->idx < 0 || p->idx >= c->n_gold)
        return 0;
    c->gold[p->idx] = util_strdup(p->answer ? p->answer : "");
    if (c->gold[p->idx] == NULL) {
        c->oom = 1;
        return 1;
    }
    return 0;
}

static int count_problems(void *user, const struct store_problem *p)
{
    int *n = user;
    if (p->idx + 1 > *n)
        *n = p->idx + 1;
    return 0;
}

static int regrade_one(void *user, const struct store_trace *t)
{
    struct regrade_ctx *c = user;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        struct store_trace *nt = realloc(c->t, nc * sizeof(*nt));
        if (nt == NULL) {
            c->oom = 1;
            return 1;
        }
        c->t = nt;
        char **no = realloc(c->owned, nc * 2 * sizeof(*no));
        if (no == NULL) {
            c->oom = 1;
            return 1;
        }
        c->owned = no;
        c->cap = nc;
    }
    const char *gold = t->problem >= 0 && t->problem < c->n_gold && c->gold[t->problem] ? c->gold[t->problem] : "";
    struct grade_result r;
    grade_check(gold, t->text ? t->text : "", &c->opts, &r);
    char *reason = util_strdup(r.reason);
    if (reason == NULL) {
        grade_result_free(&r);
        c->oom = 1;
        return 1;
    }
    c->was_correct += t->correct == 1;
    c->now_correct += r.correct;
    int same_answer = (t->answer == NULL && r.extracted == NULL) ||
                      (t->answer != NULL && r.extracted != NULL && strcmp(t->answer, r.extracted) == 0);
    c->changed += t->correct != r.correct || !same_answer;
    c->t[c->n] = (struct store_trace){
        .problem = t->problem,
        .repeat = t->repeat,
        .round = t->round,
        .slot = t->slot,
        .answer = r.extracted,
        .correct = r.correct,
        .grader = GRADE_NAME,
        .grader_version = GRADE_VERSION,
        .verdict_status = grade_status_str(r.status),
        .reason = reason,
    };
    c->owned[2 * c->n] = r.extracted; /* ownership moves to the context */
    c->owned[2 * c->n + 1] = reason;
    c->n++;
    return 0;
}

int cli_regrade(const struct cli_args *a)
{
    char err[1024] = "";
    struct store *st = NULL;
    if (a->config != NULL || a->run == NULL)
        return cli_fail(RSA_ERR_USAGE, "regrade needs --db PATH --run NAME");
    int code = cli_open_db(a->db, &st, err, sizeof(err));
    if (code != 0) {
        fprintf(stderr, "rsa: %s\n", err);
        return code;
    }
    struct store_run_info info = {0};
    struct regrade_ctx c = {0};
    char *after_think = NULL, *strict = NULL, *think_close = NULL;
    int found = 0, status = 0;
    enum rsa_err rc = store_find_run(st, a->run, &found, &info, err, sizeof(err));
    if (rc == RSA_OK && !found) {
        snprintf(err, sizeof(err), "run \"%s\" not found in %s", a->run, a->db);
        rc = RSA_ERR_NOT_FOUND;
    }
    if (rc != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    /* the grading options the run was made with */
    after_think = config_text_get(info.config, "grading", "answer_after_think");
    strict = config_text_get(info.config, "grading", "strict");
    think_close = config_text_get(info.config, "rsa", "think_close");
    c.opts.strict = strict == NULL || strcmp(strict, "false") != 0;
    c.opts.after = after_think && strcmp(after_think, "true") == 0 ? (think_close ? think_close : "</think>") : NULL;
    if ((rc = store_each_problem(st, info.id, count_problems, &c.n_gold, err, sizeof(err))) != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    c.gold = calloc((size_t)(c.n_gold > 0 ? c.n_gold : 1), sizeof(*c.gold));
    if (c.gold == NULL) {
        status = cli_fail(RSA_ERR_NOMEM, NULL);
        goto out;
    }
    rc = store_each_problem(st, info.id, collect_gold, &c, err, sizeof(err));
    if (rc == RSA_OK && !c.oom)
        rc = store_each_trace(st, info.id, regrade_one, &c, err, sizeof(err));
    if (rc == RSA_OK && c.oom)
        rc = RSA_ERR_NOMEM;
    if (rc == RSA_OK)
        rc = store_put_verdicts(st, info.id, c.t, c.n, err, sizeof(err));
    if (rc != RSA_OK) {
        status = cli_fail(rc, err);
        goto out;
    }
    if (!a->quiet)
        fprintf(stderr, "rsa: regraded %zu traces of run \"%s\" with %s/%s: %d changed, correct %d -> %d\n", c.n,
                a->run, GRADE_NAME, GRADE_VERSION, c.changed, c.was_correct, c.now_correct);
out:
    for (size_t i = 0; i < 2 * c.n; i++)
        free(c.owned[i]);
    free(c.owned);
    free(c.t);
    for (int i = 0; c.gold && i < c.n_gold; i++)
        free((char *)c.gold[i]);
    free(c.gold);
    free(after_think);
    free(strict);
    free(think_close);
    store_run_info_free(&info);
    store_close(st);
    return status;
}
