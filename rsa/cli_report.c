/*
 * cli_report.c: `rsa report`, `rsa export` and `rsa compare`: read runs from a
 * database, analyse them (analysis.h) and write them (report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "cli.h"
#include "report.h"
#include "util.h"

#define CLI_MAX_RUNS 4096 /* as many as rsa sweep makes */

/* open --out (or stdout) */
static FILE *open_out(const struct cli_args *a, char *err, size_t errlen)
{
    if (a->out == NULL)
        return stdout;
    FILE *f = fopen(a->out, "w");
    if (f == NULL)
        util_errf(err, errlen, "%s: cannot write", a->out);
    return f;
}

static enum rsa_err close_out(const struct cli_args *a, FILE *f, enum rsa_err rc, char *err, size_t errlen)
{
    if (f == stdout) {
        if (fflush(f) != 0 && rc == RSA_OK) {
            util_errf(err, errlen, "stdout: write failed");
            return RSA_ERR_IO;
        }
        return rc;
    }
    if (fclose(f) != 0 && rc == RSA_OK) {
        util_errf(err, errlen, "%s: write failed", a->out);
        return RSA_ERR_IO;
    }
    return rc;
}

static int parse_format(const struct cli_args *a, enum report_format *fmt)
{
    *fmt = REPORT_TEXT;
    if (a->format != NULL && report_parse_format(a->format, fmt) != 0) {
        cli_fail(RSA_ERR_USAGE, "--format must be text, json, csv, svg or html");
        return 2;
    }
    return 0;
}

/* analyse names[n] (a NULL name = the newest run), compare the deepest of them with
   --baseline when given (its rounds hold the shallower curves too), and write them all
   to --out in fmt */
static enum rsa_err render_runs(struct store *st, const char *const *names, int n, const struct cli_args *a,
                                enum report_format fmt, char *err, size_t errlen)
{
    struct run_analysis *runs = calloc((size_t)n, sizeof(*runs));
    struct run_analysis base = {0};
    struct budget_cmp b = {0};
    int done = 0, have_base = 0, have_b = 0;
    enum rsa_err rc = runs ? RSA_OK : RSA_ERR_NOMEM;
    for (; rc == RSA_OK && done < n; done++)
        if ((rc = analysis_run(st, names[done], &runs[done], err, errlen)) != RSA_OK)
            break;
    if (rc == RSA_OK && a->baseline != NULL) {
        int deepest = 0;
        for (int i = 1; i < n; i++)
            if (runs[i].n_rounds > runs[deepest].n_rounds)
                deepest = i;
        rc = analysis_run(st, a->baseline, &base, err, errlen);
        have_base = rc == RSA_OK;
        if (rc == RSA_OK)
            rc = analysis_budget(&runs[deepest], &base, &b, err, errlen);
        have_b = rc == RSA_OK;
    }
    FILE *out = NULL;
    if (rc == RSA_OK && (out = open_out(a, err, errlen)) == NULL)
        rc = RSA_ERR_IO;
    if (rc == RSA_OK) {
        rc = report_render(runs, n, have_b ? &b : NULL, fmt, out, err, errlen);
        rc = close_out(a, out, rc, err, errlen);
    }
    if (have_b)
        analysis_budget_free(&b);
    if (have_base)
        analysis_free(&base);
    for (int i = 0; runs && i < done; i++)
        analysis_free(&runs[i]);
    free(runs);
    return rc;
}

int cli_report(const struct cli_args *a, int export)
{
    char err[1024] = "";
    struct store *st = NULL;
    enum report_format fmt;
    if (a->config != NULL)
        return cli_fail(RSA_ERR_USAGE, "unexpected argument (use --db and --run)");
    if (export && a->run == NULL)
        return cli_fail(RSA_ERR_USAGE, "export needs --run NAME");
    if (!export && parse_format(a, &fmt) != 0)
        return 2;
    int code = cli_open_db(a->db, &st, err, sizeof(err));
    if (code != 0) {
        fprintf(stderr, "rsa: %s\n", err);
        return code;
    }
    enum rsa_err rc;
    if (export) {
        FILE *out = open_out(a, err, sizeof(err));
        rc = out ? report_export(st, a->run, out, err, sizeof(err)) : RSA_ERR_IO;
        if (out != NULL)
            rc = close_out(a, out, rc, err, sizeof(err));
    } else {
        const char *names[1] = {a->run};
        rc = render_runs(st, names, 1, a, fmt, err, sizeof(err));
    }
    store_close(st);
    return rc == RSA_OK ? 0 : cli_fail(rc, err);
}

int cli_compare(const struct cli_args *a)
{
    char err[1024] = "";
    struct store *st = NULL;
    enum report_format fmt;
    if (a->config != NULL)
        return cli_fail(RSA_ERR_USAGE, "unexpected argument (use --db and --runs a,b,...)");
    if (a->runs == NULL)
        return cli_fail(RSA_ERR_USAGE, "compare needs --runs NAME,NAME,...");
    if (parse_format(a, &fmt) != 0)
        return 2;
    char *list = util_strdup(a->runs);
    if (list == NULL)
        return cli_fail(RSA_ERR_NOMEM, NULL);
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    const char **names = calloc(cap, sizeof(*names));
    if (names == NULL) {
        free(list);
        return cli_fail(RSA_ERR_NOMEM, NULL);
    }
    int n = 0;
    const char *bad = NULL;
    char msg[600];
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok == '\0')
            continue;
        for (int i = 0; i < n && !bad; i++)
            if (strcmp(names[i], tok) == 0) {
                snprintf(msg, sizeof(msg), "--runs: run \"%.500s\" is listed twice", tok);
                bad = msg;
            }
        if (!bad && n == CLI_MAX_RUNS) {
            snprintf(msg, sizeof(msg), "--runs: at most %d runs", CLI_MAX_RUNS);
            bad = msg;
        }
        if (!bad)
            names[n++] = tok;
    }
    if (!bad && n == 0)
        bad = "--runs: no run names given";
    int code = bad ? cli_fail(RSA_ERR_USAGE, bad) : cli_open_db(a->db, &st, err, sizeof(err));
    if (code == 0) {
        enum rsa_err rc = render_runs(st, names, n, a, fmt, err, sizeof(err));
        store_close(st);
        code = rc == RSA_OK ? 0 : cli_fail(rc, err);
    } else if (!bad) {
        fprintf(stderr, "rsa: %s\n", err);
    }
    free(names);
    free(list);
    return code;
}
