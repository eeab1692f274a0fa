/*
 * test_report.c: per-round metrics (rsa/report.c) over hand-made traces with known
 * verdicts, the JSON / CSV / text reports, and the JSONL trace export.
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
#include <ftw.h>
#include <sys/stat.h>

#include "rsa/report.h"
#include "store/store.h"

#define assert_near(a, b) assert_near_at((a), (b), __FILE__, __LINE__)
static void assert_near_at(double a, double b, const char *file, int line)
{
    double d = a > b ? a - b : b - a;
    if (!(d <= 1e-12))
        fail_msg("%s:%d: %.17g != %.17g", file, line, a, b);
}

static char tmpdir[256];
static struct store *db;
static int64_t run_main, run_rep, run_chat;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ===== the data =====
 *
 * Run "rpt": 2 problems x N = 4 x 2 rounds (round 0 and one aggregation round).
 *   problem 0 (gold 5):
 *     round 0: 5 ok, 7, 7, 05 ok      -> clusters {5: 2, 7: 2}: a tie, the first-formed (5) wins: maj 1
 *     round 1: 5 ok, 7, 07, $7$       -> after normalisation {5: 1, 7: 3}: maj 0
 *   problem 1 (gold 10):
 *     round 0: -, -, 10 ok, 3         -> no-answer traces do not vote: {10: 1, 3: 1}, tie -> 10: maj 1
 *     round 1: 3, 3, 4, - (ungraded)  -> nothing correct: mean 0, pass 0, maj 0
 *   round 0: mean (2/4 + 1/4) / 2 = 0.375, pass 1, maj 1
 *   round 1: mean (1/4 + 0) / 2 = 0.125, pass 0.5, maj 0
 */
struct row {
    int problem, round, slot;
    const char *answer;
    int correct;
    int completion, prompt;  /* -1 unknown */
    const char *finish;
    int think_closed;
};

static const struct row rows[] = {
    {0, 0, 0, "5", 1, 100, 50, "stop", 1},
    {0, 0, 1, "7", 0, 101, -1, "stop", 1},
    {0, 0, 2, "7", 0, 102, 50, "stop", 1},
    {0, 0, 3, "05", 1, 103, 50, "stop", 1},
    {1, 0, 0, NULL, 0, 1100, 60, "length", 0},
    {1, 0, 1, NULL, 0, 1101, 60, "stop", 0},
    {1, 0, 2, "10", 1, 1102, 60, "stop", 1},
    {1, 0, 3, "3", 0, 1103, 60, "", 1},
    {0, 1, 0, "5", 1, 110, 500, "stop", 1},
    {0, 1, 1, "7", 0, 111, 500, "stop", 1},
    {0, 1, 2, "07", 0, 112, 500, "length", 0},
    {0, 1, 3, "$7$", 0, 113, 500, "abort", 1},
    {1, 1, 0, "3", 0, 1110, 600, "stop", 1},
    {1, 1, 1, "3", 0, 1111, 600, "stop", 1},
    {1, 1, 2, "4", 0, 1112, 600, "stop", 1},
    {1, 1, 3, NULL, -1, -1, 600, NULL, 1},
};
#define N_ROWS ((int)(sizeof(rows) / sizeof(rows[0])))

static struct store_run make_run(const char *name, const char *manifest, int rounds)
{
    struct store_run r = {
        .name = name, .config = "[rsa]\n", .identity = "id", .identity_hash = "h", .git_rev = "rev",
        .status = "complete", .tail_method = "chars:4", .backend = "fake", .manifest = manifest,
        .seed = 7, .population = 4, .subset = 2, .rounds = rounds, .tail_tokens = 64, .max_tokens = 512,
        .repeats = 1,
    };
    return r;
}

static int put_row(int64_t run, const struct row *r, int repeat, const char *prompt, const char *text)
{
    int parents[2] = {(r->slot + 1) % 4, (r->slot + 3) % 4};
    char err[256] = "";
    struct store_trace t = {
        .problem = r->problem,
        .repeat = repeat,
        .round = r->round,
        .slot = r->slot,
        .parents = r->round > 0 ? parents : NULL,
        .n_parents = r->round > 0 ? 2 : 0,
        .seed = 1000 + r->problem * 100 + r->round * 10 + r->slot,
        .prompt = prompt,
        .text = text,
        .tail = "tail",
        .tail_tokens = r->slot == 3 ? -1 : 16,
        .tail_truncated = r->slot % 2,
        .source_tokens = 64,
        .prompt_tokens = r->prompt,
        .completion_tokens = r->completion,
        .finish_reason = r->finish,
        .think_closed = r->think_closed,
        .latency_ms = 5,
        .endpoint = "http://e",
        .attempts = 1,
        .answer = r->answer,
        .correct = r->correct,
        .grader = "boxed",
        .grader_version = "1",
    };
    if (store_put_trace(db, run, &t, err, sizeof(err)) != RSA_OK) {
        fprintf(stderr, "put_trace: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rsa_test_report_XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/report.db", tmpdir);
    if (store_open(path, &db, err, sizeof(err)) != RSA_OK)
        return -1;

    /* "rep": one problem, two repeats, round 0 only: repeat 0 all correct, repeat 1 none */
    struct store_run r = make_run("rep", "{}", 0);
    if (store_create_run(db, &r, &run_rep, err, sizeof(err)) != RSA_OK)
        return -1;
    for (int rep = 0; rep < 2; rep++)
        for (int slot = 0; slot < 4; slot++) {
            struct row x = {0, 0, slot, rep == 0 ? "1" : "2", rep == 0, 10, 5, "stop", 1};
            if (put_row(run_rep, &x, rep, "p", "t") != 0)
                return -1;
        }

    /* "chatrun": chat API with a system prompt, one trace */
    r = make_run("chatrun", "{\"api\":\"chat\",\"system_prompt\":\"SYS\"}", 0);
    if (store_create_run(db, &r, &run_chat, err, sizeof(err)) != RSA_OK)
        return -1;
    struct store_problem cp = {0, "chat-prob", "q", "1"};
    if (store_put_problems(db, run_chat, &cp, 1, err, sizeof(err)) != RSA_OK || put_row(run_chat, &rows[0], 0, "USER", "T"))
        return -1;

    /* "rpt" last: the newest */
    r = make_run("rpt", "{\"api\":\"completions\"}", 1);
    if (store_create_run(db, &r, &run_main, err, sizeof(err)) != RSA_OK)
        return -1;
    struct store_problem probs[2] = {{0, "prob-A", "what is 2+3?", "5"}, {1, "prob-B", "what is 5+5?", "10"}};
    if (store_put_problems(db, run_main, probs, 2, err, sizeof(err)) != RSA_OK)
        return -1;
    /* written in reverse: the store orders them */
    for (int i = N_ROWS - 1; i >= 0; i--) {
        char prompt[64], text[64];
        snprintf(prompt, sizeof(prompt), "prompt %d/%d/%d", rows[i].problem, rows[i].round, rows[i].slot);
        snprintf(text, sizeof(text), "text %d/%d/%d", rows[i].problem, rows[i].round, rows[i].slot);
        if (put_row(run_main, &rows[i], 0, prompt, text) != 0)
            return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    store_close(db);
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ===== metrics ===== */

static void test_metrics(void **state)
{
    (void)state;
    struct round_metrics *m = NULL;
    int n = 0;
    char err[256] = "";
    assert_int_equal(report_metrics(db, run_main, 1, &m, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 2);

    assert_int_equal(m[0].round, 0);
    assert_int_equal(m[0].groups, 2);
    assert_int_equal(m[0].traces, 8);
    assert_int_equal(m[0].graded, 8);
    assert_near(m[0].mean_acc, 0.375);
    assert_near(m[0].pass_at_n, 1.0);
    assert_near(m[0].maj_at_n, 1.0); /* tie -> first-formed; no-answer traces do not vote */
    assert_int_equal(m[0].decode_tokens, 100 + 101 + 102 + 103 + 1100 + 1101 + 1102 + 1103);
    assert_int_equal(m[0].prefill_tokens, 50 * 3 + 60 * 4); /* the unknown (-1) is not summed */
    assert_int_equal(m[0].finish_stop, 6);
    assert_int_equal(m[0].finish_length, 1);
    assert_int_equal(m[0].finish_other, 1);
    assert_int_equal(m[0].no_answer, 2);
    assert_int_equal(m[0].think_unclosed, 2);

    assert_int_equal(m[1].round, 1);
    assert_int_equal(m[1].groups, 2);
    assert_int_equal(m[1].traces, 8);
    assert_int_equal(m[1].graded, 7); /* one ungraded */
    assert_near(m[1].mean_acc, 0.125);
    assert_near(m[1].pass_at_n, 0.5);
    assert_near(m[1].maj_at_n, 0.0); /* 7, 07, $7$ are one cluster */
    assert_int_equal(m[1].decode_tokens, 110 + 111 + 112 + 113 + 1110 + 1111 + 1112);
    assert_int_equal(m[1].prefill_tokens, 500 * 4 + 600 * 4);
    assert_int_equal(m[1].finish_stop, 5);
    assert_int_equal(m[1].finish_length, 1);
    assert_int_equal(m[1].finish_other, 2);
    assert_int_equal(m[1].no_answer, 1);
    assert_int_equal(m[1].think_unclosed, 1);
    free(m);

    /* more rounds than stored: empty rounds are zero */
    assert_int_equal(report_metrics(db, run_main, 3, &m, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 4);
    assert_near(m[0].mean_acc, 0.375);
    assert_int_equal(m[2].round, 2);
    assert_int_equal(m[2].groups, 0);
    assert_int_equal(m[2].traces, 0);
    assert_near(m[3].mean_acc, 0.0);
    free(m);

    /* fewer rounds than stored: later traces are ignored */
    assert_int_equal(report_metrics(db, run_main, 0, &m, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].traces, 8);
    assert_near(m[0].mean_acc, 0.375);
    free(m);
}

static void test_metrics_repeats_are_groups(void **state)
{
    (void)state;
    struct round_metrics *m = NULL;
    int n = 0;
    char err[256] = "";
    assert_int_equal(report_metrics(db, run_rep, 0, &m, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].groups, 2);
    assert_int_equal(m[0].traces, 8);
    assert_near(m[0].mean_acc, 0.5);
    assert_near(m[0].pass_at_n, 0.5);
    assert_near(m[0].maj_at_n, 0.5);
    free(m);
}

/* ===== reports ===== */

static char *capture_report(const char *name, enum report_format fmt, enum rsa_err want)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    char err[256] = "";
    enum rsa_err rc = report_write(db, name, fmt, f, err, sizeof(err));
    fclose(f);
    if (rc != want)
        fail_msg("report_write(%s): rc %d, want %d (%s)", name ? name : "NULL", rc, want, err);
    return text;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", key);
    return v->valuedouble;
}

static void test_report_json(void **state)
{
    (void)state;
    char *text = capture_report("rpt", REPORT_JSON, RSA_OK);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
    assert_true(cJSON_IsString(run));
    assert_string_equal(run->valuestring, "rpt");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "status")->valuestring, "complete");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "tail_method")->valuestring, "chars:4");
    assert_near(num(o, "population"), 4);
    assert_near(num(o, "subset"), 2);
    assert_near(num(o, "aggregation_rounds"), 1);
    assert_near(num(o, "stages"), 2);
    const cJSON *rounds = cJSON_GetObjectItemCaseSensitive(o, "rounds");
    assert_true(cJSON_IsArray(rounds));
    assert_int_equal(cJSON_GetArraySize(rounds), 2);
    const cJSON *r0 = cJSON_GetArrayItem(rounds, 0), *r1 = cJSON_GetArrayItem(rounds, 1);
    assert_near(num(r0, "round"), 0);
    assert_near(num(r0, "mean_acc"), 0.375);
    assert_near(num(r0, "pass_at_n"), 1.0);
    assert_near(num(r0, "maj_at_n"), 1.0);
    assert_near(num(r0, "traces"), 8);
    assert_near(num(r0, "groups"), 2);
    assert_near(num(r0, "no_answer"), 2);
    double d0 = 100 + 101 + 102 + 103 + 1100 + 1101 + 1102 + 1103;
    double d1 = 110 + 111 + 112 + 113 + 1110 + 1111 + 1112;
    assert_near(num(r0, "decode_tokens"), d0);
    assert_near(num(r0, "cumulative_decode_tokens"), d0);
    assert_near(num(r1, "mean_acc"), 0.125);
    assert_near(num(r1, "pass_at_n"), 0.5);
    assert_near(num(r1, "maj_at_n"), 0.0);
    assert_near(num(r1, "decode_tokens"), d1);
    assert_near(num(r1, "cumulative_decode_tokens"), d0 + d1);
    assert_near(num(r1, "prefill_tokens"), 4400);
    assert_near(num(r1, "finish_other"), 2);
    cJSON_Delete(o);
    free(text);

    /* NULL: the newest run, which is "rpt" */
    text = capture_report(NULL, REPORT_JSON, RSA_OK);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "run")->valuestring, "rpt");
    cJSON_Delete(o);
    free(text);
}

static void test_report_csv(void **state)
{
    (void)state;
    char *text = capture_report("rpt", REPORT_CSV, RSA_OK);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3); /* header + one row per round */
    assert_true(strncmp(text, "run,round,mean_acc,pass_at_n,maj_at_n,decode_tokens,", 51) == 0);
    char *row0 = strchr(text, '\n') + 1;
    char *row1 = strchr(row0, '\n') + 1;
    /* decode 406 + 4406 = 4812 and 446 + 3333 = 3779; prefill 150 + 240 and 2000 + 2400 */
    assert_string_equal(row0, "rpt,0,0.375000,1.000000,1.000000,4812,390,4812,8,6,1,2\n"
                                                      "rpt,1,0.125000,0.500000,0.000000,3779,4400,8591,8,5,1,1\n");
    assert_string_equal(row1, "rpt,1,0.125000,0.500000,0.000000,3779,4400,8591,8,5,1,1\n");
    /* every row has as many fields as the header */
    char *header_end = strchr(text, '\n');
    int fields = 1;
    for (char *p = text; p < header_end; p++)
        fields += *p == ',';
    for (char *row = row0; *row; row = strchr(row, '\n') + 1) {
        int f = 1;
        for (char *p = row; *p != '\n'; p++)
            f += *p == ',';
        assert_int_equal(f, fields);
    }
    free(text);
}

static void test_report_text(void **state)
{
    (void)state;
    char *text = capture_report("rpt", REPORT_TEXT, RSA_OK);
    assert_non_null(strstr(text, "run rpt (complete): N=4 C=2 T_agg=1"));
    assert_non_null(strstr(text, "mean_acc"));
    assert_non_null(strstr(text, "0.3750"));
    assert_non_null(strstr(text, "0.1250"));
    free(text);
}

static void test_report_not_found(void **state)
{
    (void)state;
    char *text = capture_report("nope", REPORT_JSON, RSA_ERR_NOT_FOUND);
    assert_true(text == NULL || text[0] == '\0');
    free(text);

    /* an empty database has no newest run */
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/empty.db", tmpdir);
    struct store *empty = NULL;
    assert_int_equal(store_open(path, &empty, err, sizeof(err)), RSA_OK);
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(report_write(empty, NULL, REPORT_TEXT, f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_int_equal(report_export(empty, NULL, f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_int_equal(report_export(db, "nope", f, err, sizeof(err)), RSA_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "nope"));
    fclose(f);
    store_close(empty);
}

/* ===== export ===== */

static char *capture_export(const char *name)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    char err[256] = "";
    enum rsa_err rc = report_export(db, name, f, err, sizeof(err));
    fclose(f);
    if (rc != RSA_OK)
        fail_msg("report_export: %s", err);
    return text;
}

static void test_export(void **state)
{
    (void)state;
    char *text = capture_export("rpt");
    static const char *const fields[] = {"problem", "round", "slot", "parents", "seed", "prompt", "text", "tail",
                                         "tail_tokens", "completion_tokens", "prompt_tokens", "finish_reason",
                                         "answer", "correct"};
    int n = 0, last_key = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        assert_true(n < N_ROWS);
        cJSON *o = cJSON_Parse(line);
        if (o == NULL)
            fail_msg("line %d is not JSON: %s", n + 1, line);
        for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
            if (cJSON_GetObjectItemCaseSensitive(o, fields[k]) == NULL)
                fail_msg("line %d lacks \"%s\": %s", n + 1, fields[k], line);
        /* lines come ordered by problem, repeat, round, slot */
        const char *pid = cJSON_GetObjectItemCaseSensitive(o, "problem")->valuestring;
        int problem = strcmp(pid, "prob-A") == 0 ? 0 : strcmp(pid, "prob-B") == 0 ? 1 : -1;
        assert_true(problem >= 0);
        int round = (int)num(o, "round"), slot = (int)num(o, "slot");
        int key = problem * 100 + round * 10 + slot;
        assert_true(key > last_key);
        last_key = key;
        const struct row *r = NULL;
        for (int i = 0; i < N_ROWS; i++)
            if (rows[i].problem == problem && rows[i].round == round && rows[i].slot == slot)
                r = &rows[i];
        assert_non_null(r);
        assert_near(num(o, "repeat"), 0);
        assert_near(num(o, "seed"), 1000 + r->problem * 100 + r->round * 10 + r->slot);
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(o, "parents");
        assert_true(cJSON_IsArray(par));
        assert_int_equal(cJSON_GetArraySize(par), r->round > 0 ? 2 : 0);
        if (r->round > 0) {
            assert_near(cJSON_GetArrayItem(par, 0)->valuedouble, (r->slot + 1) % 4);
            assert_near(cJSON_GetArrayItem(par, 1)->valuedouble, (r->slot + 3) % 4);
        }
        char want[64];
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
        assert_true(cJSON_IsString(prompt)); /* completions API: the raw prompt */
        snprintf(want, sizeof(want), "prompt %d/%d/%d", r->problem, r->round, r->slot);
        assert_string_equal(prompt->valuestring, want);
        snprintf(want, sizeof(want), "text %d/%d/%d", r->problem, r->round, r->slot);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "text")->valuestring, want);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "tail")->valuestring, "tail");
        const cJSON *tt = cJSON_GetObjectItemCaseSensitive(o, "tail_tokens");
        if (r->slot == 3)
            assert_true(cJSON_IsNull(tt));
        else
            assert_near(tt->valuedouble, 16);
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "completion_tokens");
        if (r->completion < 0)
            assert_true(cJSON_IsNull(ct));
        else
            assert_near(ct->valuedouble, r->completion);
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens");
        if (r->prompt < 0)
            assert_true(cJSON_IsNull(pt));
        else
            assert_near(pt->valuedouble, r->prompt);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "finish_reason")->valuestring,
                            r->finish ? r->finish : "");
        const cJSON *ans = cJSON_GetObjectItemCaseSensitive(o, "answer");
        if (r->answer == NULL)
            assert_true(cJSON_IsNull(ans));
        else
            assert_string_equal(ans->valuestring, r->answer);
        const cJSON *cor = cJSON_GetObjectItemCaseSensitive(o, "correct");
        if (r->correct < 0)
            assert_true(cJSON_IsNull(cor));
        else
            assert_true(cJSON_IsBool(cor) && cJSON_IsTrue(cor) == r->correct);
        cJSON_Delete(o);
    }
    assert_int_equal(n, N_ROWS);
    free(text);
}

static void test_export_chat_prompt(void **state)
{
    (void)state;
    char *text = capture_export("chatrun");
    assert_non_null(text);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    assert_ptr_equal(strchr(text, '\n'), text + len - 1); /* one line */
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "problem")->valuestring, "chat-prob");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    assert_true(cJSON_IsArray(msgs));
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    const cJSON *m0 = cJSON_GetArrayItem(msgs, 0), *m1 = cJSON_GetArrayItem(msgs, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m0, "role")->valuestring, "system");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m0, "content")->valuestring, "SYS");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m1, "role")->valuestring, "user");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m1, "content")->valuestring, "USER");
    cJSON_Delete(o);
    free(text);

    /* a run without problems rows exports "?" as the id rather than failing */
    text = capture_export("rep");
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "problem")->valuestring, "?");
    cJSON_Delete(o);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_repeats_are_groups),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_report_csv),
        cmocka_unit_test(test_report_text),
        cmocka_unit_test(test_report_not_found),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_chat_prompt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
