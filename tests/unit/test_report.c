/*
 * test_report.c: the text, JSON and CSV writers (rsa/report.c) over analyses of runs
 * stored here with hand-computed metrics (the same runs as test_analysis.c, whose
 * comments derive every number), single and several runs, the budget section, empty
 * runs, determinism, and the JSONL trace export with verdict status and reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "rsa/metrics.h"
#include "rsa/report.h"
#include "store/store.h"
#include "testutil.h"

#include "fixture_runs.h"

static struct store *db;

/* ===== the data: runs "rsa" (N = 3, 2 problems x 2 repeats x 2 rounds) and "base"
   (plain sampling, N = 4) in fixture_runs.h, which derives every number. Per round of "rsa":
     round 0: mean_acc 1/3 [1/6, 1/2], pass@3 3/4, maj@3 1/2, decode 5630, prefill 110
     round 1: mean_acc 7/12 [1/2, 2/3], pass@3 1,  maj@3 3/4, decode 2130, prefill 1200
   Budget against "base" (500 tokens per sample): round 0 k = 3, round 1 k = 4. ===== */


/* "nolen": one trace whose completion-token count is unknown */
static const struct row nolen_rows[] = {
    {0, 0, 0, 0, "1", 1, "correct", -1, -1, "stop", 1},
};

static int64_t run_ids[8];

static int make_run(int slot, const char *name, const char *manifest, int population, int rounds, int repeats,
                    const struct store_problem *probs, int n_probs, const struct row *rows, int n_rows,
                    const char *prompt)
{
    return fixture_make_run(db, &run_ids[slot], name, manifest, population, rounds, repeats, probs, n_probs, rows,
                            n_rows, prompt);
}

static int group_setup(void **state)
{
    (void)state;
    if (testutil_tmpdir_make("report") != 0)
        return -1;
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/report.db", tmpdir);
    if (store_open(path, &db, err, sizeof(err)) != RSA_OK)
        return -1;
    struct store_problem rp[2] = {{0, "prob-A", "q", "5"}, {1, "prob-B", "q", "10"}};
    struct store_problem bp[3] = {{0, "prob-C", "q", "1"}, {1, "prob-B", "q", "10"}, {2, "prob-A", "q", "5"}};
    struct store_problem cp[1] = {{0, "chat-prob", "q", "1"}};
    if (make_run(0, "base", "{}", 4, 0, 1, bp, 3, base_rows, N_OF(base_rows), "p") ||
        make_run(1, "empty", "{}", 3, 2, 1, rp, 2, NULL, 0, "p") ||
        make_run(2, "nolen", "{}", 1, 0, 1, NULL, 0, nolen_rows, 1, "p") ||
        make_run(3, "chatrun", "{\"api\":\"chat\",\"system_prompt\":\"SYS\"}", 3, 1, 2, cp, 1, rsa_rows, 1, "USER") ||
        make_run(4, "rsa", "{\"api\":\"completions\"}", 3, 1, 2, rp, 2, rsa_rows, N_OF(rsa_rows), "PROMPT"))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(db);
    return testutil_tmpdir_remove();
}

/* ===== helpers ===== */

static void analyse(const char *name, struct run_analysis *a)
{
    char err[256] = "";
    if (analysis_run(db, name, a, err, sizeof(err)) != RSA_OK)
        fail_msg("analysis_run(%s): %s", name, err);
}

static char *render(const struct run_analysis *runs, int n, const struct budget_cmp *b, enum report_format fmt)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    enum rsa_err rc = report_render(runs, n, b, fmt, f, err, sizeof(err));
    fclose(f);
    if (rc != RSA_OK)
        fail_msg("report_render: %s", err);
    return text;
}

static char *capture_report(const char *name, enum report_format fmt, enum rsa_err want)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    enum rsa_err rc = report_write(db, name, fmt, f, err, sizeof(err));
    fclose(f);
    if (rc != want)
        fail_msg("report_write(%s): rc %d, want %d (%s)", name ? name : "NULL", rc, want, err);
    return text;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL)
        fail_msg("no \"%s\"", key);
    return v;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static double item(const cJSON *arr, int i)
{
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    if (!cJSON_IsNumber(v))
        fail_msg("item %d is not a number", i);
    return v->valuedouble;
}

static int starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int count_fields(const char *line)
{
    int f = 1;
    for (; *line && *line != '\n'; line++)
        f += *line == ',';
    return f;
}

static const char *line_at(const char *s, int i)
{
    while (i-- > 0 && s != NULL) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    return s;
}

/* ===== tests ===== */

static void test_parse_format(void **state)
{
    (void)state;
    enum report_format f = REPORT_TEXT;
    assert_int_equal(report_parse_format("json", &f), 0);
    assert_int_equal(f, REPORT_JSON);
    assert_int_equal(report_parse_format("csv", &f), 0);
    assert_int_equal(f, REPORT_CSV);
    assert_int_equal(report_parse_format("svg", &f), 0);
    assert_int_equal(f, REPORT_SVG);
    assert_int_equal(report_parse_format("html", &f), 0);
    assert_int_equal(f, REPORT_HTML);
    assert_int_equal(report_parse_format("text", &f), 0);
    assert_int_equal(f, REPORT_TEXT);
    assert_int_equal(report_parse_format("JSON", &f), -1);
    assert_int_equal(report_parse_format("", &f), -1);
    assert_int_equal(report_parse_format(NULL, &f), -1);
}

static void test_json_single(void **state)
{
    (void)state;
    char *text = capture_report("rsa", REPORT_JSON, RSA_OK);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(get(o, "run")->valuestring, "rsa");
    assert_string_equal(get(o, "status")->valuestring, "complete");
    assert_string_equal(get(o, "grader")->valuestring, "testgrader/9");
    assert_string_equal(get(o, "tie_rule")->valuestring, METRICS_TIE_RULE);
    assert_string_equal(get(o, "tail_method")->valuestring, "tokens:server");
    assert_near(num(get(o, "bootstrap"), "B"), 2000);
    assert_near(num(get(o, "bootstrap"), "seed"), 20250926);
    assert_near(num(o, "population"), 3);
    assert_near(num(o, "subset"), 2);
    assert_near(num(o, "aggregation_rounds"), 1);
    assert_near(num(o, "stages"), 2);
    assert_near(num(o, "repeats"), 2);
    const cJSON *rounds = get(o, "rounds");
    assert_int_equal(cJSON_GetArraySize(rounds), 2);
    const cJSON *r0 = cJSON_GetArrayItem(rounds, 0), *r1 = cJSON_GetArrayItem(rounds, 1);
    assert_near(num(r0, "round"), 0);
    assert_near(num(r0, "mean_acc"), 1.0 / 3);
    assert_near(item(get(r0, "mean_acc_ci"), 0), 1.0 / 6);
    assert_near(item(get(r0, "mean_acc_ci"), 1), 0.5);
    assert_near(num(r0, "pass_at_n"), 0.75);
    assert_near(num(r0, "maj_at_n"), 0.5);
    const cJSON *pk = get(r0, "pass_at_k"), *mk = get(r0, "maj_at_k");
    assert_int_equal(cJSON_GetArraySize(pk), 3);
    assert_near(item(pk, 0), 1.0 / 3);
    assert_near(item(pk, 1), 7.0 / 12);
    assert_near(item(mk, 1), 7.0 / 12);
    assert_near(item(mk, 2), 0.5);
    assert_near(num(r0, "decode_tokens"), 5630);
    assert_near(num(r0, "prefill_tokens"), 110);
    assert_near(num(r0, "cumulative_decode_tokens"), 5630);
    assert_near(num(r0, "cumulative_decode_per_problem"), 1407.5);
    assert_near(num(get(r0, "length"), "median"), 500);
    assert_near(num(get(r0, "length"), "q25"), 160);
    assert_near(num(r0, "finish_stop"), 10);
    assert_near(num(r0, "finish_length"), 2);
    assert_near(num(r0, "no_answer"), 2);
    assert_near(num(r0, "unparseable"), 1);
    assert_near(num(r1, "mean_acc"), 7.0 / 12);
    assert_near(num(r1, "pass_at_n"), 1);
    assert_near(num(r1, "maj_at_n"), 0.75);
    assert_near(num(r1, "decode_tokens"), 2130);
    assert_near(num(r1, "cumulative_decode_tokens"), 7760);
    assert_near(num(r1, "cumulative_prefill_tokens"), 1310);
    assert_near(num(r1, "graded"), 11);
    /* the heat map: per problem, one mean_acc per round */
    const cJSON *probs = get(o, "problems");
    assert_int_equal(cJSON_GetArraySize(probs), 2);
    const cJSON *pa = cJSON_GetArrayItem(probs, 0), *pb = cJSON_GetArrayItem(probs, 1);
    assert_string_equal(get(pa, "id")->valuestring, "prob-A");
    assert_near(item(get(pa, "mean_acc"), 0), 0.5);
    assert_near(item(get(pa, "mean_acc"), 1), 2.0 / 3);
    assert_near(item(get(pb, "mean_acc"), 0), 1.0 / 6);
    assert_near(item(get(pb, "cumulative_decode_per_repeat"), 1), 3300);
    cJSON_Delete(o);
    free(text);

    /* NULL: the newest run */
    text = capture_report(NULL, REPORT_JSON, RSA_OK);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(get(o, "run")->valuestring, "rsa");
    cJSON_Delete(o);
    free(text);

    /* unknown lengths are null, not NaN */
    text = capture_report("nolen", REPORT_JSON, RSA_OK);
    o = cJSON_Parse(text);
    assert_non_null(o);
    const cJSON *len = get(cJSON_GetArrayItem(get(o, "rounds"), 0), "length");
    assert_true(cJSON_IsNull(get(len, "median")));
    assert_true(cJSON_IsNull(get(len, "mean")));
    cJSON_Delete(o);
    free(text);
}

static void test_json_several_with_budget(void **state)
{
    (void)state;
    struct run_analysis runs[2];
    analyse("rsa", &runs[0]);
    analyse("base", &runs[1]);
    struct budget_cmp b;
    char err[256] = "";
    assert_int_equal(analysis_budget(&runs[0], &runs[1], &b, err, sizeof(err)), RSA_OK);
    char *text = render(runs, 2, &b, REPORT_JSON);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    const cJSON *arr = get(o, "runs");
    assert_int_equal(cJSON_GetArraySize(arr), 2);
    assert_string_equal(get(cJSON_GetArrayItem(arr, 0), "run")->valuestring, "rsa");
    assert_string_equal(get(cJSON_GetArrayItem(arr, 1), "run")->valuestring, "base");
    assert_int_equal(cJSON_GetArraySize(get(cJSON_GetArrayItem(arr, 1), "rounds")), 1);
    const cJSON *bj = get(o, "budget");
    assert_string_equal(get(bj, "rsa_run")->valuestring, "rsa");
    assert_string_equal(get(bj, "baseline_run")->valuestring, "base");
    assert_near(num(bj, "n_common"), 2);
    assert_near(num(bj, "baseline_tokens_per_sample"), 500);
    const cJSON *pts = get(bj, "points");
    assert_int_equal(cJSON_GetArraySize(pts), 2);
    const cJSON *p0 = cJSON_GetArrayItem(pts, 0), *p1 = cJSON_GetArrayItem(pts, 1);
    assert_near(num(p0, "k"), 3);
    assert_near(num(p1, "k"), 4);
    assert_true(cJSON_IsFalse(get(p1, "capped")));
    assert_near(num(p0, "tokens"), 1407.5);
    assert_near(num(get(p0, "pass1"), "diff"), -1.0 / 24);
    assert_near(num(get(p0, "pass_k"), "baseline"), 0.875);
    assert_near(num(get(p1, "pass1"), "p_le0"), 0);
    assert_near(item(get(get(p1, "maj_k"), "diff_ci"), 1), 0.5);
    const cJSON *cv = get(bj, "baseline_curve");
    assert_int_equal(cJSON_GetArraySize(get(cv, "maj_at_k")), 4);
    assert_near(item(get(cv, "tokens"), 3), 2000);
    assert_near(item(get(cv, "maj_at_k"), 1), 5.0 / 12);
    cJSON_Delete(o);
    free(text);

    /* several runs, no budget: no "budget" key */
    text = render(runs, 2, NULL, REPORT_JSON);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "budget"));
    cJSON_Delete(o);
    free(text);
    analysis_budget_free(&b);
    analysis_free(&runs[0]);
    analysis_free(&runs[1]);
}

static void test_csv(void **state)
{
    (void)state;
    char *text = capture_report("rsa", REPORT_CSV, RSA_OK);
    assert_int_equal(count_lines(text), 3); /* header + one line per round */
    assert_true(starts_with(text, "run,round,mean_acc,pass_at_n,maj_at_n,decode_tokens,prefill_tokens,"));
    int fields = count_fields(text);
    assert_int_equal(count_fields(line_at(text, 1)), fields);
    assert_int_equal(count_fields(line_at(text, 2)), fields);
    /* derived in test_analysis.c: round 0 and round 1, every column */
    assert_string_equal(line_at(text, 1),
                        "rsa,0,0.333333,0.750000,0.500000,5630,110,5630,110,0.166667,0.500000,0.500000,1.000000,"
                        "0.500000,0.500000,1407.50,1407.50,27.50,27.50,4,12,12,10,2,0,2,1,2,511.82,160.00,500.00,"
                        "850.00,3,2,1,64,512,2\n"
                        "rsa,1,0.583333,1.000000,0.750000,2130,1200,7760,1310,0.500000,0.666667,1.000000,1.000000,"
                        "0.500000,1.000000,532.50,1940.00,300.00,327.50,4,12,11,11,0,1,0,0,0,193.64,55.00,60.00,"
                        "350.00,3,2,1,64,512,2\n");
    free(text);

    /* several runs: one line per run and round */
    struct run_analysis runs[2];
    analyse("rsa", &runs[0]);
    analyse("base", &runs[1]);
    text = render(runs, 2, NULL, REPORT_CSV);
    assert_int_equal(count_lines(text), 4);
    assert_true(starts_with(line_at(text, 1), "rsa,0,"));
    assert_true(starts_with(line_at(text, 2), "rsa,1,"));
    assert_true(starts_with(line_at(text, 3), "base,0,0.583333,"));
    free(text);

    /* with a budget: one line per RSA round of budget points */
    struct budget_cmp b;
    char err[256] = "";
    assert_int_equal(analysis_budget(&runs[0], &runs[1], &b, err, sizeof(err)), RSA_OK);
    text = render(runs, 2, &b, REPORT_CSV);
    assert_int_equal(count_lines(text), 3);
    assert_true(starts_with(text, "rsa_run,baseline_run,round,tokens_per_problem,k,raw_k,capped,"));
    assert_int_equal(count_fields(line_at(text, 1)), count_fields(text));
    assert_true(starts_with(line_at(text, 1), "rsa,base,0,1407.50,3,2.8150,0,2,0.333333,0.166667,0.500000,0.375000,"
                                          "-0.041667,-0.083333,0.000000,1.000000,"));
    assert_true(starts_with(line_at(text, 2), "rsa,base,1,1940.00,4,3.8800,0,2,0.583333,"));
    free(text);
    analysis_budget_free(&b);
    analysis_free(&runs[0]);
    analysis_free(&runs[1]);

    /* unknown lengths are empty fields */
    text = capture_report("nolen", REPORT_CSV, RSA_OK);
    assert_non_null(strstr(line_at(text, 1), ",,,,1,2,0,64,512,1\n"));
    free(text);
}

static void test_text(void **state)
{
    (void)state;
    char *text = capture_report("rsa", REPORT_TEXT, RSA_OK);
    assert_non_null(strstr(text, "run rsa (complete): N=3 C=2 T_agg=1 (stages 2) tau=64 beta=512 repeats=2 seed=7"));
    assert_non_null(strstr(text, "grader testgrader/9"));
    assert_non_null(strstr(text, "B=2000, seed=20250926"));
    assert_non_null(strstr(text, METRICS_TIE_RULE));
    /* round rows: mean_acc [CI], pass@3, maj@3, cumulative decode per problem, totals */
    assert_non_null(strstr(text, "pass@3"));
    assert_non_null(strstr(text, "0.3333  [0.1667, 0.5000]   0.7500   0.5000          1407.5           5630"));
    assert_non_null(strstr(text, "0.5833  [0.5000, 0.6667]   1.0000   0.7500          1940.0           2130"));
    /* pass@k / maj@k table and heat map */
    assert_non_null(strstr(text, "    0    0.3333    0.5833    0.7500      0.3333    0.5833    0.5000\n"));
    assert_non_null(strstr(text, "prob-B   0.1667  0.5000\n"));
    free(text);

    struct run_analysis runs[2];
    analyse("rsa", &runs[0]);
    analyse("base", &runs[1]);
    struct budget_cmp b;
    char err[256] = "";
    assert_int_equal(analysis_budget(&runs[0], &runs[1], &b, err, sizeof(err)), RSA_OK);
    text = render(runs, 2, &b, REPORT_TEXT);
    assert_non_null(strstr(text, "comparison of 2 runs"));
    assert_non_null(strstr(text, "run rsa (complete)"));
    assert_non_null(strstr(text, "run base (complete): N=4 C=2 T_agg=0"));
    assert_non_null(strstr(text, "mean_acc by round (columns: runs)"));
    assert_non_null(strstr(text, "    1     0.5833          -\n")); /* base has no round 1 */
    assert_non_null(strstr(text, "budget-matched comparison: RSA run rsa against plain-sampling baseline base"));
    assert_non_null(strstr(text, "500.0 decode tokens per sample"));
    assert_non_null(strstr(text, "    0        1407.5     3    0.3333"));
    assert_non_null(strstr(text, "    1        1940.0     4    0.5833"));
    free(text);
    analysis_budget_free(&b);

    /* capped points are starred */
    struct budget_point pt = {.round = 0, .tokens = 10, .k = 2, .capped = 1};
    b = (struct budget_cmp){.rsa_name = "r", .base_name = "b", .n_common = 1, .base_n = 2, .n_points = 1,
                            .points = &pt};
    text = render(runs, 1, &b, REPORT_TEXT);
    assert_non_null(strstr(text, "     2* "));
    free(text);
    analysis_free(&runs[0]);
    analysis_free(&runs[1]);
}

static void test_empty_run(void **state)
{
    (void)state;
    char *text = capture_report("empty", REPORT_TEXT, RSA_OK);
    assert_non_null(strstr(text, "no traces yet"));
    free(text);
    text = capture_report("empty", REPORT_JSON, RSA_OK);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(get(o, "rounds")), 0);
    assert_string_equal(get(o, "grader")->valuestring, "none");
    cJSON_Delete(o);
    free(text);
    text = capture_report("empty", REPORT_CSV, RSA_OK);
    assert_int_equal(count_lines(text), 1);
    free(text);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct run_analysis a1, a2;
    analyse("rsa", &a1);
    analyse("rsa", &a2);
    for (int fmt = REPORT_TEXT; fmt <= REPORT_CSV; fmt++) {
        char *x = render(&a1, 1, NULL, (enum report_format)fmt);
        char *y = render(&a2, 1, NULL, (enum report_format)fmt);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
    analysis_free(&a1);
    analysis_free(&a2);
}

static void test_plots_delegated(void **state)
{
    (void)state;
    char *svg = capture_report("rsa", REPORT_SVG, RSA_OK);
    assert_non_null(svg);
    assert_true(strlen(svg) > 0);
    free(svg);
    char *html = capture_report("rsa", REPORT_HTML, RSA_OK);
    assert_true(strlen(html) > 0);
    free(html);
}

static void test_not_found(void **state)
{
    (void)state;
    char *text = capture_report("nope", REPORT_JSON, RSA_ERR_NOT_FOUND);
    assert_true(text == NULL || text[0] == '\0');
    free(text);
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/empty.db", tmpdir);
    struct store *none = NULL;
    assert_int_equal(store_open(path, &none, err, sizeof(err)), RSA_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(report_write(none, NULL, REPORT_TEXT, f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_int_equal(report_export(none, NULL, f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_int_equal(report_export(db, "nope", f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "nope"));
    struct run_analysis a;
    memset(&a, 0, sizeof(a));
    assert_int_equal(report_render(&a, 0, NULL, REPORT_TEXT, f, err, sizeof(err)), RSA_ERR_USAGE);
    fclose(f);
    store_close(none);
}

/* ===== export ===== */

static char *capture_export(const char *name)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    enum rsa_err rc = report_export(db, name, f, err, sizeof(err));
    fclose(f);
    if (rc != RSA_OK)
        fail_msg("report_export: %s", err);
    return text;
}

static void test_export(void **state)
{
    (void)state;
    char *text = capture_export("rsa");
    static const char *const fields[] = {"problem", "repeat", "round", "slot", "parents", "seed", "prompt", "text",
                                         "tail", "tail_tokens", "completion_tokens", "prompt_tokens",
                                         "finish_reason", "answer", "correct", "status", "reason"};
    int n = 0, last_key = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < N_OF(rsa_rows));
        cJSON *o = cJSON_Parse(line);
        if (o == NULL)
            fail_msg("line %d is not JSON: %s", n + 1, line);
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
            if (cJSON_GetObjectItemCaseSensitive(o, fields[k]) == NULL)
                fail_msg("line %d lacks \"%s\": %s", n + 1, fields[k], line);
        const char *pid = get(o, "problem")->valuestring;
        int problem = strcmp(pid, "prob-A") == 0 ? 0 : strcmp(pid, "prob-B") == 0 ? 1 : -1;
        assert_true(problem >= 0);
        int repeat = (int)num(o, "repeat"), round = (int)num(o, "round"), slot = (int)num(o, "slot");
        int key = problem * 1000 + repeat * 100 + round * 10 + slot; /* ordered by problem, repeat, round, slot */
        assert_true(key > last_key);
        last_key = key;
        const struct row *r = NULL;
        for (int i = 0; i < N_OF(rsa_rows); i++)
            if (rsa_rows[i].problem == problem && rsa_rows[i].repeat == repeat && rsa_rows[i].round == round &&
                rsa_rows[i].slot == slot)
                r = &rsa_rows[i];
        assert_non_null(r);
        assert_string_equal(get(o, "prompt")->valuestring, "PROMPT"); /* completions API: the raw prompt */
        char want[64];
        snprintf(want, sizeof(want), "text %d/%d/%d/%d", problem, repeat, round, slot);
        assert_string_equal(get(o, "text")->valuestring, want);
        assert_int_equal(cJSON_GetArraySize(get(o, "parents")), round > 0 ? 2 : 0);
        const cJSON *ct = get(o, "completion_tokens");
        if (r->completion < 0)
            assert_true(cJSON_IsNull(ct));
        else
            assert_near(ct->valuedouble, r->completion);
        const cJSON *ans = get(o, "answer");
        if (r->answer == NULL)
            assert_true(cJSON_IsNull(ans));
        else
            assert_string_equal(ans->valuestring, r->answer);
        const cJSON *cor = get(o, "correct");
        if (r->correct < 0)
            assert_true(cJSON_IsNull(cor));
        else
            assert_true(cJSON_IsBool(cor) && cJSON_IsTrue(cor) == r->correct);
        const cJSON *st = get(o, "status"), *rs = get(o, "reason");
        if (r->status == NULL)
            assert_true(cJSON_IsNull(st));
        else
            assert_string_equal(st->valuestring, r->status);
        if (r->correct == 0)
            assert_string_equal(rs->valuestring, "not equivalent");
        else
            assert_true(cJSON_IsNull(rs));
        cJSON_Delete(o);
    }
    assert_int_equal(n, N_OF(rsa_rows));
    free(text);
}

static void test_export_chat_prompt(void **state)
{
    (void)state;
    char *text = capture_export("chatrun");
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_ptr_equal(strchr(text, '\n'), text + len - 1); /* one line */
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(get(o, "problem")->valuestring, "chat-prob");
    const cJSON *msgs = get(o, "prompt");
    assert_true(cJSON_IsArray(msgs));
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(get(cJSON_GetArrayItem(msgs, 0), "role")->valuestring, "system");
    assert_string_equal(get(cJSON_GetArrayItem(msgs, 0), "content")->valuestring, "SYS");
    assert_string_equal(get(cJSON_GetArrayItem(msgs, 1), "role")->valuestring, "user");
    assert_string_equal(get(cJSON_GetArrayItem(msgs, 1), "content")->valuestring, "USER");
    cJSON_Delete(o);
    free(text);

    /* a run without problems rows exports "?" as the id rather than failing */
    text = capture_export("nolen");
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(get(o, "problem")->valuestring, "?");
    cJSON_Delete(o);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_json_single),
        cmocka_unit_test(test_json_several_with_budget),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_empty_run),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_plots_delegated),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_chat_prompt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
