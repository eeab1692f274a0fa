/*
 * test_config.c: the config table and INI loader (rsa/config.c): defaults, a full
 * file, every error path (code, file:line, key), --set, cross-key checks, path
 * resolution, the run name, config_format (identity and round trip) and config_help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rsa/config.h"
#include "testutil.h"

/* ===== a temp directory per binary ===== */

static int group_setup(void **state)
{
    (void)state;
    return testutil_tmpdir_make("config");
}

static int group_teardown(void **state)
{
    (void)state;
    return testutil_tmpdir_remove();
}

/* write_file: tmpdir/name := text; returns the path (static buffer, rotated). */
static const char *write_file(const char *name, const char *text)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
    /* make parent directories */
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", p);
    for (char *s = dir + strlen(tmpdir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(dir, 0700);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return p;
}

#define assert_contains(hay, needle) assert_contains_at((hay), (needle), __FILE__, __LINE__)
static void assert_contains_at(const char *hay, const char *needle, const char *file, int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("%s:%d: \"%s\" does not contain \"%s\"", file, line, hay ? hay : "(null)", needle);
}

#define assert_not_contains(hay, needle) assert_not_contains_at((hay), (needle), __FILE__, __LINE__)
static void assert_not_contains_at(const char *hay, const char *needle, const char *file, int line)
{
    if (hay != NULL && strstr(hay, needle) != NULL)
        fail_msg("%s:%d: \"%s\" unexpectedly contains \"%s\"", file, line, hay, needle);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void assert_zeroed(const struct rsa_config *cfg)
{
    static const struct rsa_config zero;
    assert_memory_equal(cfg, &zero, sizeof(zero));
}

/* ===== defaults ===== */

static void test_defaults(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(NULL, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "default");
    assert_string_equal(c.dataset, "");
    assert_int_equal(c.seed, 1234);
    assert_string_equal(c.problems, "");
    assert_int_equal(c.repeats, 1);
    assert_int_equal(c.population, 16);
    assert_int_equal(c.subset, 4);
    assert_int_equal(c.rounds, 2);
    assert_int_equal(c.tail_tokens, 4096);
    assert_int_equal(c.tail_source, TAIL_FULL);
    assert_int_equal(c.subset_sampling, SUBSET_WITHOUT_REPLACEMENT);
    assert_int_equal(c.mode, MODE_MARKOVIAN);
    assert_true(ends_with(c.prompt_template, "prompts/markovian.txt"));
    assert_true(ends_with(c.initial_template, "prompts/initial.txt"));
    assert_true(ends_with(c.refine_template, "prompts/refine.txt"));
    /* the defaults name files that exist (found under the project's configs/) */
    assert_int_equal(access(c.prompt_template, R_OK), 0);
    assert_int_equal(access(c.initial_template, R_OK), 0);
    assert_int_equal(access(c.refine_template, R_OK), 0);
    assert_int_equal(c.tail_approx, TAIL_APPROX_NONE);
    assert_true(c.chars_per_token == 4.0);
    assert_string_equal(c.think_open, "<think>");
    assert_string_equal(c.think_close, "</think>");
    assert_string_equal(c.system_prompt, "");
    assert_true(c.temperature == 1.0);
    assert_true(c.top_p == 1.0);
    assert_int_equal(c.top_k, -1);
    assert_true(c.min_p == 0.0);
    assert_int_equal(c.max_tokens, 8192);
    assert_int_equal(c.kind, BACKEND_HTTP);
    assert_string_equal(c.url, "http://127.0.0.1:8000/v1");
    assert_string_equal(c.model, "");
    assert_string_equal(c.api_key_env, "");
    assert_int_equal(c.api, API_CHAT);
    assert_int_equal(c.stream, 1);
    assert_int_equal(c.concurrency, 64);
    assert_true(c.timeout_s == 3600.0);
    assert_true(c.connect_timeout_s == 10.0);
    assert_int_equal(c.retries, 6);
    assert_true(c.backoff_s == 1.0);
    assert_string_equal(c.tokenizer, "");
    assert_int_equal(c.device, DEVICE_CPU);
    assert_int_equal(c.threads, 0);
    assert_true(c.memory_gb == 0.0);
    assert_int_equal(c.grader, GRADER_MATH);
    assert_int_equal(c.answer_after_think, 0);
    assert_int_equal(c.strict, 1);
    assert_null(c.path);
    config_free(&c);
    assert_zeroed(&c);
    config_free(&c); /* twice is fine */
    config_free(NULL);
}

static void test_mode_paper_picks_paper_template(void **state)
{
    (void)state;
    const char *sets[] = {"rsa.mode=paper"};
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(NULL, sets, 1, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.mode, MODE_PAPER);
    assert_true(ends_with(c.prompt_template, "prompts/rsa-paper.txt"));
    config_free(&c);
}

/* ===== a full file ===== */

static const char full_ini[] =
    "; every key, none at its default\n"
    "# a hash comment too\n"
    "\n"
    "[run]\n"
    "name = full-run\n"
    "dataset = data/problems.jsonl\n"
    "seed = 9007199254740991\n"
    "problems = a, b\n"
    "repeats = 3\n"
    "\n"
    "[rsa]\n"
    "population = 8\n"
    "subset = 3\n"
    "rounds = 5\n"
    "tail_tokens = 512\n"
    "tail_source = answer_or_think\n"
    "subset_sampling = with_replacement\n"
    "mode = paper\n"
    "prompt_template = agg.txt\n"
    "initial_template = init.txt\n"
    "refine_template = refine.txt\n"
    "tail_approx = chars\n"
    "chars_per_token = 3.5\n"
    "think_open = <reason>\n"
    "think_close = </reason>\n"
    "system_prompt = Be brief.\n"
    "\n"
    "[sampling]\n"
    "temperature = 0.7\n"
    "top_p = 0.95\n"
    "top_k = 20\n"
    "min_p = 0.05\n"
    "max_tokens = 1024\n"
    "\n"
    "[backend]\n"
    "kind = engine\n"
    "url = http://a:1/v1, http://b:2/v1\n"
    "model = my-model\n"
    "api_key_env = MY_KEY\n"
    "api = completions\n"
    "stream = false\n"
    "concurrency = 7\n"
    "timeout_s = 120.5\n"
    "connect_timeout_s = 2\n"
    "retries = 0\n"
    "backoff_s = 0.25\n"
    "tokenizer = tok/tokenizer.json\n"
    "device = cuda\n"
    "threads = 12\n"
    "memory_gb = 1.5\n"
    "\n"
    "[grading]\n"
    "grader = math\n"
    "answer_after_think = yes\n"
    "strict = off\n";

static char *in_tmp(const char *rel)
{
    size_t n = strlen(tmpdir) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", tmpdir, rel);
    return p;
}

static const char *write_full(void)
{
    write_file("full/agg.txt", "{{#candidates}}{candidate}{{/candidates}}\n");
    write_file("full/init.txt", "{problem}\n");
    write_file("full/refine.txt", "{{#candidates}}{candidate}{{/candidates}}\n");
    return write_file("full/full.ini", full_ini);
}

static void test_full_file(void **state)
{
    (void)state;
    const char *path = write_full();
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    char *p;
    assert_string_equal(c.name, "full-run");
    assert_string_equal(c.dataset, p = in_tmp("full/data/problems.jsonl"));
    free(p);
    assert_int_equal(c.seed, 9007199254740991LL);
    assert_string_equal(c.problems, "a, b");
    assert_int_equal(c.repeats, 3);
    assert_int_equal(c.population, 8);
    assert_int_equal(c.subset, 3);
    assert_int_equal(c.rounds, 5);
    assert_int_equal(c.tail_tokens, 512);
    assert_int_equal(c.tail_source, TAIL_ANSWER_OR_THINK);
    assert_int_equal(c.subset_sampling, SUBSET_WITH_REPLACEMENT);
    assert_int_equal(c.mode, MODE_PAPER);
    assert_string_equal(c.prompt_template, p = in_tmp("full/agg.txt"));
    free(p);
    assert_string_equal(c.initial_template, p = in_tmp("full/init.txt"));
    free(p);
    assert_string_equal(c.refine_template, p = in_tmp("full/refine.txt"));
    free(p);
    assert_int_equal(c.tail_approx, TAIL_APPROX_CHARS);
    assert_true(c.chars_per_token == 3.5);
    assert_string_equal(c.think_open, "<reason>");
    assert_string_equal(c.think_close, "</reason>");
    assert_string_equal(c.system_prompt, "Be brief.");
    assert_true(c.temperature == 0.7);
    assert_true(c.top_p == 0.95);
    assert_int_equal(c.top_k, 20);
    assert_true(c.min_p == 0.05);
    assert_int_equal(c.max_tokens, 1024);
    assert_int_equal(c.kind, BACKEND_ENGINE);
    assert_string_equal(c.url, "http://a:1/v1, http://b:2/v1");
    assert_string_equal(c.model, "my-model");
    assert_string_equal(c.api_key_env, "MY_KEY");
    assert_int_equal(c.api, API_COMPLETIONS);
    assert_int_equal(c.stream, 0);
    assert_int_equal(c.concurrency, 7);
    assert_true(c.timeout_s == 120.5);
    assert_true(c.connect_timeout_s == 2.0);
    assert_int_equal(c.retries, 0);
    assert_true(c.backoff_s == 0.25);
    assert_string_equal(c.tokenizer, p = in_tmp("full/tok/tokenizer.json"));
    free(p);
    assert_int_equal(c.device, DEVICE_CUDA);
    assert_int_equal(c.threads, 12);
    assert_true(c.memory_gb == 1.5);
    assert_int_equal(c.grader, GRADER_MATH);
    assert_int_equal(c.answer_after_think, 1);
    assert_int_equal(c.strict, 0);
    assert_string_equal(c.path, path);
    assert_string_equal(c.dir, p = in_tmp("full"));
    free(p);
    config_free(&c);
    assert_zeroed(&c);
}

static void test_bools_and_enums_case_insensitive(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int want;
    } bools[] = {{"true", 1}, {"TRUE", 1}, {"yes", 1}, {"On", 1},   {"1", 1},
                 {"false", 0}, {"No", 0},  {"OFF", 0}, {"0", 0}, {" true ", 1}};
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[backend]\nstream = %s\n", bools[i].v);
        const char *path = write_file("bools.ini", text);
        struct rsa_config c;
        char err[512] = "";
        assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
        assert_int_equal(c.stream, bools[i].want);
        config_free(&c);
    }
    const char *path = write_file("enums.ini", "[rsa]\ntail_source = THINK\nmode = Paper\n");
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.tail_source, TAIL_THINK);
    assert_int_equal(c.mode, MODE_PAPER);
    config_free(&c);
}

static void test_bounds_inclusive(void **state)
{
    (void)state;
    const char *path = write_file("bounds.ini", "[rsa]\npopulation = 4096\nsubset = 1\nrounds = 0\n"
                                                "tail_tokens = 0\n[sampling]\ntop_k = -1\ntop_p = 1\n"
                                                "min_p = 1\n[run]\nseed = 0\n");
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.population, 4096);
    assert_int_equal(c.subset, 1);
    assert_int_equal(c.rounds, 0);
    assert_int_equal(c.seed, 0);
    config_free(&c);
}

/* ===== error paths in a file ===== */

struct err_case {
    const char *what;
    const char *ini;
    enum rsa_err rc;
    int line;               /* expected line in "file:line:" (0 = only the file is named) */
    const char *needle[3];  /* the message contains each (key, value, reason) */
};

static const struct err_case err_cases[] = {
    {"unknown section", "[run]\nseed = 1\n[bogus]\nx = 1\n", RSA_ERR_CONFIG, 4, {"unknown section", "[bogus]"}},
    {"key before any section", "seed = 1\n", RSA_ERR_CONFIG, 1, {"unknown section"}},
    {"unknown key", "[rsa]\npopulation = 4\nfoo = 1\n", RSA_ERR_CONFIG, 3, {"unknown key", "'foo'", "[rsa]"}},
    {"key in the wrong section", "[run]\npopulation = 4\n", RSA_ERR_CONFIG, 2, {"unknown key", "population", "[run]"}},
    {"non-integer int", "[rsa]\n\npopulation = four\n", RSA_ERR_CONFIG, 3, {"rsa.population", "'four'", "not an integer"}},
    {"int with trailing junk", "[rsa]\npopulation = 4x\n", RSA_ERR_CONFIG, 2, {"rsa.population", "not an integer"}},
    {"int written as a decimal", "[rsa]\nrounds = 2.0\n", RSA_ERR_CONFIG, 2, {"rsa.rounds", "not an integer"}},
    {"empty int", "[rsa]\nrounds =\n", RSA_ERR_CONFIG, 2, {"rsa.rounds", "not an integer"}},
    {"int overflowing 64 bits", "[run]\nseed = 99999999999999999999\n", RSA_ERR_CONFIG, 2, {"run.seed", "not an integer"}},
    {"int below range", "[rsa]\npopulation = 0\n", RSA_ERR_CONFIG, 2, {"rsa.population", "0", "out of range"}},
    {"int above range", "[rsa]\npopulation = 4097\n", RSA_ERR_CONFIG, 2, {"rsa.population", "4097", "out of range"}},
    {"negative int below range", "[sampling]\ntop_k = -2\n", RSA_ERR_CONFIG, 2, {"sampling.top_k", "-2", "out of range"}},
    {"seed above 2^53-1", "[run]\nseed = 9007199254740992\n", RSA_ERR_CONFIG, 2, {"run.seed", "out of range"}},
    {"int far above an int's range", "[sampling]\nmax_tokens = 4294967297\n", RSA_ERR_CONFIG, 2, {"sampling.max_tokens", "out of range"}},
    {"non-number double", "[sampling]\ntemperature = hot\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "'hot'", "not a number"}},
    {"double with trailing junk", "[sampling]\ntemperature = 0.5x\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "not a number"}},
    {"NaN", "[sampling]\ntemperature = nan\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "not a number"}},
    {"NAN upper case", "[sampling]\ntop_p = NAN\n", RSA_ERR_CONFIG, 2, {"sampling.top_p", "not a number"}},
    {"inf", "[sampling]\ntemperature = inf\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "not a number"}},
    {"-infinity", "[sampling]\nmin_p = -infinity\n", RSA_ERR_CONFIG, 2, {"sampling.min_p", "not a number"}},
    {"double overflow", "[sampling]\ntemperature = 1e999\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "not a number"}},
    {"double below range", "[sampling]\ntop_p = 0\n", RSA_ERR_CONFIG, 2, {"sampling.top_p", "out of range"}},
    {"double above range", "[sampling]\ntemperature = 100.5\n", RSA_ERR_CONFIG, 2, {"sampling.temperature", "out of range"}},
    {"bad bool", "[backend]\nstream = maybe\n", RSA_ERR_CONFIG, 2, {"backend.stream", "'maybe'", "not a boolean"}},
    {"bool as 2", "[grading]\nstrict = 2\n", RSA_ERR_CONFIG, 2, {"grading.strict", "not a boolean"}},
    {"bad enum", "[rsa]\ntail_source = tail\n", RSA_ERR_CONFIG, 2, {"rsa.tail_source", "'tail'", "full|think|answer_or_think"}},
    {"enum prefix is not a match", "[rsa]\nmode = mark\n", RSA_ERR_CONFIG, 2, {"rsa.mode", "'mark'"}},
    {"bad enum in backend", "[backend]\nkind = grpc\n", RSA_ERR_CONFIG, 2, {"backend.kind", "'grpc'"}},
    {"line without '='", "[rsa]\npopulation = 4\nthis line has no equals\n", RSA_ERR_CONFIG, 3, {"syntax error"}},
    {"unterminated section header", "[rsa\npopulation = 4\n", RSA_ERR_CONFIG, 1, {"syntax error"}},
    {"syntax error before a bad key names the syntax error", "[rsa]\ngarbage\nfoo = 1\n", RSA_ERR_CONFIG, 2,
     {"syntax error"}},
    {"bad key before a syntax error names the key", "[rsa]\nfoo = 1\ngarbage\n", RSA_ERR_CONFIG, 2,
     {"unknown key", "'foo'"}},
    {"first of two bad values", "[rsa]\npopulation = 0\nsubset = 0\n", RSA_ERR_CONFIG, 2, {"rsa.population"}},
};

static void test_file_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *ec = &err_cases[i];
        const char *path = write_file("err.ini", ec->ini);
        struct rsa_config c;
        memset(&c, 0x55, sizeof(c));
        char err[512] = "";
        enum rsa_err rc = config_load(path, NULL, 0, &c, err, sizeof(err));
        if (rc != ec->rc)
            fail_msg("case \"%s\": rc %d, want %d (err: %s)", ec->what, rc, ec->rc, err);
        char where[600];
        if (ec->line > 0)
            snprintf(where, sizeof(where), "%s:%d: ", path, ec->line);
        else
            snprintf(where, sizeof(where), "%s", path);
        if (strncmp(err, where, strlen(where)) != 0)
            fail_msg("case \"%s\": message \"%s\" does not start with \"%s\"", ec->what, err, where);
        for (int k = 0; k < 3 && ec->needle[k]; k++)
            if (strstr(err, ec->needle[k]) == NULL)
                fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", ec->what, err, ec->needle[k]);
        assert_zeroed(&c); /* freed and zeroed on error */
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    char *path = in_tmp("does-not-exist.ini");
    struct rsa_config c;
    char err[512] = "";
    /* a missing config is bad input (RSA_ERR_CONFIG: exit code 2) */
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, path);
    assert_zeroed(&c);
    free(path);
}

/* inih (as packaged) reads lines of at most 199 characters; a longer line must not be
   silently cut, re-read as another key or (after a space) as a continuation line. */
static void test_long_line_not_silently_split(void **state)
{
    (void)state;
    static const size_t lens[] = {150, 183, 184, 200, 300, 1000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int variant = 0; variant < 3; variant++) {
            /* variant 0: no spaces; 1: a space right where inih would cut; 2: an '=' after the cut */
            char value[1100];
            size_t n = lens[i];
            memset(value, 'x', n);
            value[n] = '\0';
            if (variant == 1 && n > 190)
                value[183] = ' ';
            if (variant == 2 && n > 190)
                value[n - 5] = '=';
            char *ini = malloc(n + 128);
            assert_non_null(ini);
            snprintf(ini, n + 128, "[rsa]\nsystem_prompt = %s\npopulation = 5\n", value);
            const char *path = write_file("long.ini", ini);
            free(ini);
            struct rsa_config c;
            char err[512] = "";
            enum rsa_err rc = config_load(path, NULL, 0, &c, err, sizeof(err));
            if (rc == RSA_OK) {
                assert_string_equal(c.system_prompt, value);
                assert_int_equal(c.population, 5);
                config_free(&c);
            } else {
                /* refused: then clearly, at the long line */
                char where[600];
                snprintf(where, sizeof(where), "%s:2: ", path);
                if (strncmp(err, where, strlen(where)) != 0 || rc != RSA_ERR_CONFIG)
                    fail_msg("value of %zu chars (variant %d): rc %d, message \"%s\"", n, variant, rc, err);
                assert_contains(err, "long");
            }
        }
    }
}

/* ===== --set ===== */

struct set_case {
    const char *what;
    const char *set;
    enum rsa_err rc;
    const char *needle[3];
};

static const struct set_case set_cases[] = {
    {"no '='", "rsa.population", RSA_ERR_USAGE, {"--set rsa.population", "section.key=value"}},
    {"no '.'", "population=4", RSA_ERR_USAGE, {"--set population=4", "section.key=value"}},
    {"'.' only in the value", "population=4.0", RSA_ERR_USAGE, {"--set population=4.0"}},
    {"empty", "", RSA_ERR_USAGE, {"--set "}},
    {"unknown key", "rsa.bogus=1", RSA_ERR_CONFIG, {"--set rsa.bogus=1", "rsa.bogus"}},
    {"unknown section", "nope.population=1", RSA_ERR_CONFIG, {"--set nope.population=1", "nope.population"}},
    {"very long section", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.population=1",
     RSA_ERR_CONFIG, {"unknown key"}},
    {"below range", "rsa.population=0", RSA_ERR_CONFIG, {"--set rsa.population=0", "out of range"}},
    {"above range", "rsa.population=5000", RSA_ERR_CONFIG, {"--set rsa.population=5000", "out of range"}},
    {"not an integer", "rsa.rounds=two", RSA_ERR_CONFIG, {"--set rsa.rounds=two", "not an integer"}},
    {"not a number", "sampling.temperature=nan", RSA_ERR_CONFIG, {"--set sampling.temperature=nan", "not a number"}},
    {"bad bool", "backend.stream=sure", RSA_ERR_CONFIG, {"--set backend.stream=sure", "not a boolean"}},
    {"bad enum", "rsa.mode=fancy", RSA_ERR_CONFIG, {"--set rsa.mode=fancy", "rsa.mode"}},
};

static void test_set_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        const struct set_case *sc = &set_cases[i];
        const char *sets[] = {"rsa.population=8", sc->set};
        struct rsa_config c;
        char err[512] = "";
        enum rsa_err rc = config_load(NULL, sets, 2, &c, err, sizeof(err));
        if (rc != sc->rc)
            fail_msg("case \"%s\": rc %d, want %d (err: %s)", sc->what, rc, sc->rc, err);
        for (int k = 0; k < 3 && sc->needle[k]; k++)
            if (strstr(err, sc->needle[k]) == NULL)
                fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", sc->what, err, sc->needle[k]);
        assert_zeroed(&c);
    }
}

static void test_set_overrides_file(void **state)
{
    (void)state;
    const char *path = write_file("over.ini", "[rsa]\npopulation = 4\nsubset = 2\n[sampling]\ntemperature = 0.5\n");
    const char *sets[] = {"rsa.population=8", "sampling.temperature= 0.25 ", "rsa.population=6",
                          "rsa.system_prompt=a=b"};
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, sets, 4, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.population, 6); /* the last --set wins */
    assert_int_equal(c.subset, 2);     /* untouched file value */
    assert_true(c.temperature == 0.25);
    assert_string_equal(c.system_prompt, "a=b"); /* only the first '=' splits */
    config_free(&c);

    /* without the --set the file value stands */
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.population, 4);
    assert_true(c.temperature == 0.5);
    config_free(&c);
}

/* ===== cross-key checks ===== */

static void test_subset_larger_than_population(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    const char *path = write_file("cross.ini", "[rsa]\npopulation = 2\nsubset = 4\n");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, "rsa.subset");
    assert_contains(err, "without replacement");
    assert_zeroed(&c);

    /* the same through --set alone */
    const char *bad[] = {"rsa.population=3", "rsa.subset=4"};
    assert_int_equal(config_load(NULL, bad, 2, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, "rsa.subset");

    /* subset == population is fine */
    const char *eq[] = {"rsa.population=4", "rsa.subset=4"};
    assert_int_equal(config_load(NULL, eq, 2, &c, err, sizeof(err)), RSA_OK);
    config_free(&c);

    /* allowed with replacement */
    const char *with[] = {"rsa.subset_sampling=with_replacement"};
    assert_int_equal(config_load(path, with, 1, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.subset, 4);
    assert_int_equal(c.population, 2);
    config_free(&c);

    /* allowed when no aggregation round draws parents */
    const char *norounds[] = {"rsa.rounds=0"};
    assert_int_equal(config_load(path, norounds, 1, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.rounds, 0);
    config_free(&c);

    /* a --set can also repair the file */
    const char *fix[] = {"rsa.subset=2"};
    assert_int_equal(config_load(path, fix, 1, &c, err, sizeof(err)), RSA_OK);
    config_free(&c);
}

static void test_empty_think_markers(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    const char *path = write_file("think.ini", "[rsa]\nthink_open =\n");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, "think_open");
    assert_zeroed(&c);

    path = write_file("think2.ini", "[rsa]\nthink_close =   \n");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, "think_close");

    const char *sets[] = {"rsa.think_close="};
    assert_int_equal(config_load(NULL, sets, 1, &c, err, sizeof(err)), RSA_ERR_CONFIG);
    assert_contains(err, "think_close");
    assert_zeroed(&c);
}

/* ===== paths and names ===== */

static void test_relative_paths_resolve_against_config_dir(void **state)
{
    (void)state;
    write_file("cfgdir/prompts2/agg.txt", "{{#candidates}}{candidate}{{/candidates}}\n");
    const char *path = write_file("cfgdir/exp.ini", "[run]\ndataset = ../data/set.jsonl\n"
                                                    "[rsa]\nprompt_template = prompts2/agg.txt\n"
                                                    "[backend]\ntokenizer = /abs/tokenizer.json\n");
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    char *p = in_tmp("cfgdir/../data/set.jsonl");
    assert_string_equal(c.dataset, p);
    free(p);
    p = in_tmp("cfgdir/prompts2/agg.txt");
    assert_string_equal(c.prompt_template, p);
    free(p);
    assert_string_equal(c.tokenizer, "/abs/tokenizer.json"); /* absolute stays */
    p = in_tmp("cfgdir");
    assert_string_equal(c.dir, p);
    free(p);
    /* default templates are still found under the project's configs/ */
    assert_int_equal(access(c.initial_template, R_OK), 0);
    config_free(&c);

    /* --set paths are relative to the current directory, not the config's */
    const char *sets[] = {"run.dataset=rel/set.jsonl"};
    assert_int_equal(config_load(path, sets, 1, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.dataset, "rel/set.jsonl");
    config_free(&c);
}

static void test_name_defaults_to_stem(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    const char *path = write_file("names/my-experiment.ini", "[rsa]\npopulation = 4\n");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "my-experiment");
    config_free(&c);

    path = write_file("names/two.dots.ini", "");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "two.dots");
    config_free(&c);

    path = write_file("names/noext", "");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "noext");
    config_free(&c);

    path = write_file("names/named.ini", "[run]\nname = explicit\n");
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "explicit");
    config_free(&c);

    const char *sets[] = {"run.name=from-set"};
    assert_int_equal(config_load(path, sets, 1, &c, err, sizeof(err)), RSA_OK);
    assert_string_equal(c.name, "from-set");
    config_free(&c);
}

/* ===== format ===== */

static void test_format_identity_only(void **state)
{
    (void)state;
    const char *path = write_full();
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(path, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    char *id = config_format(&c, 1);
    assert_non_null(id);
    assert_contains(id, "[sampling]\ntemperature = 0.69999999999999996\n");
    assert_contains(id, "\nseed = 9007199254740991\n");
    assert_contains(id, "\npopulation = 8\n");
    assert_contains(id, "\nsubset = 3\n");
    assert_contains(id, "\ntail_tokens = 512\n");
    assert_contains(id, "\nmax_tokens = 1024\n");
    assert_contains(id, "\nmodel = my-model\n");
    assert_contains(id, "\nthink_open = <reason>\n");
    /* not part of a run's identity: where it runs, how fast, where files live */
    assert_not_contains(id, "url");
    assert_not_contains(id, "concurrency");
    assert_not_contains(id, "timeout_s");
    assert_not_contains(id, "retries");
    assert_not_contains(id, "backoff_s");
    assert_not_contains(id, "api_key_env");
    assert_not_contains(id, "dataset");
    assert_not_contains(id, "_template");
    assert_not_contains(id, "tokenizer");
    assert_not_contains(id, "name =");
    assert_not_contains(id, "[grading]");
    assert_not_contains(id, tmpdir);

    char *full = config_format(&c, 0);
    assert_non_null(full);
    assert_contains(full, "\nurl = http://a:1/v1, http://b:2/v1\n");
    assert_contains(full, "\nconcurrency = 7\n");
    assert_contains(full, "\ntimeout_s = 120.5\n");
    assert_contains(full, "\nconnect_timeout_s = 2\n");
    assert_contains(full, "\nstream = false\n");
    assert_contains(full, "\nkind = engine\n");
    assert_contains(full, "\nstrict = false\n");
    assert_contains(full, "\nanswer_after_think = true\n");
    assert_contains(full, "[grading]\n");
    assert_true(strncmp(full, "[run]\nname = full-run\n", 21) == 0);
    assert_true(strlen(id) < strlen(full));
    free(id);
    free(full);
    config_free(&c);
}

/* keys added after runs existed (sampling.stop, backend.chat_template, backend.enable_thinking)
 * join a run's identity only when set, so the identity of an older run is unchanged */
static void test_late_identity_keys(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(NULL, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    char *id = config_format(&c, 1);
    assert_non_null(id);
    assert_not_contains(id, "stop");
    assert_not_contains(id, "chat_template");
    assert_not_contains(id, "enable_thinking");
    free(id);
    config_free(&c);
    const char *sets[] = {"sampling.stop=[\"</answer>\", \"\\n\\nQ:\"]", "backend.chat_template=chatml",
                          "backend.enable_thinking=false"};
    assert_int_equal(config_load(NULL, sets, 3, &c, err, sizeof(err)), RSA_OK);
    assert_int_equal(c.chat_template, CHAT_CHATML);
    assert_int_equal(c.enable_thinking, 0);
    id = config_format(&c, 1);
    assert_contains(id, "\nstop = [\"</answer>\", \"\\n\\nQ:\"]\n");
    assert_contains(id, "\nchat_template = chatml\n");
    assert_contains(id, "\nenable_thinking = false\n");
    free(id);
    char **stop = NULL;
    size_t n = 0;
    assert_int_equal(config_stop_list(c.stop, &stop, &n, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 2);
    assert_string_equal(stop[0], "</answer>");
    assert_string_equal(stop[1], "\n\nQ:");
    assert_null(stop[2]);
    config_stop_free(stop);
    config_free(&c);
    /* bad stop lists are errors naming the key */
    const char *bad[] = {"sampling.stop=</answer>", "sampling.stop=[1]", "sampling.stop=[\"\"]",
                         "sampling.stop=[\"a\"] junk"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(config_load(NULL, &bad[i], 1, &c, err, sizeof(err)), RSA_ERR_CONFIG);
        assert_contains(err, "sampling.stop");
    }
}

static void test_format_round_trip(void **state)
{
    (void)state;
    /* a file whose paths are all absolute after loading: the full config, and the defaults */
    const char *sources[2] = {write_full(), NULL};
    for (int s = 0; s < 2; s++) {
        struct rsa_config a, b;
        char err[512] = "";
        assert_int_equal(config_load(sources[s], NULL, 0, &a, err, sizeof(err)), RSA_OK);
        char *t1 = config_format(&a, 0);
        assert_non_null(t1);
        const char *copy = write_file(s == 0 ? "rt/full-copy.ini" : "rt/defaults-copy.ini", t1);
        assert_int_equal(config_load(copy, NULL, 0, &b, err, sizeof(err)), RSA_OK);
        char *t2 = config_format(&b, 0);
        assert_non_null(t2);
        assert_string_equal(t1, t2);
        char *i1 = config_format(&a, 1), *i2 = config_format(&b, 1);
        assert_string_equal(i1, i2);
        /* the values themselves survived, not just their text */
        assert_true(a.temperature == b.temperature);
        assert_true(a.seed == b.seed);
        assert_string_equal(a.name, b.name);
        free(t1);
        free(t2);
        free(i1);
        free(i2);
        config_free(&a);
        config_free(&b);
    }
}

/* ===== help ===== */

static const char *const all_keys[] = {
    "run.name", "run.dataset", "run.seed", "run.problems", "run.repeats",
    "rsa.population", "rsa.subset", "rsa.rounds", "rsa.tail_tokens", "rsa.tail_source",
    "rsa.subset_sampling", "rsa.mode", "rsa.prompt_template", "rsa.initial_template", "rsa.refine_template",
    "rsa.tail_approx", "rsa.chars_per_token", "rsa.think_open", "rsa.think_close", "rsa.system_prompt",
    "sampling.temperature", "sampling.top_p", "sampling.top_k", "sampling.min_p", "sampling.max_tokens", "sampling.stop",
    "backend.kind", "backend.url", "backend.model", "backend.api_key_env", "backend.api", "backend.stream",
    "backend.concurrency", "backend.timeout_s", "backend.connect_timeout_s", "backend.retries",
    "backend.backoff_s", "backend.tokenizer", "backend.device", "backend.threads", "backend.isa", "backend.memory_gb", "backend.chat_template", "backend.enable_thinking",
    "grading.grader", "grading.answer_after_think", "grading.strict",
};

static void test_help_lists_every_key(void **state)
{
    (void)state;
    char *help = config_help();
    assert_non_null(help);
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "%s (", all_keys[i]);
        assert_contains(help, needle);
    }
    assert_contains(help, "rsa.population (int, default \"16\", range [1, 4096])");
    assert_contains(help, "rsa.tail_source (enum, default \"full\", one of full|think|answer_or_think)");
    assert_contains(help, "[identity]");

    /* and the other way round: every key that config_format prints appears in the help */
    struct rsa_config c;
    char err[512] = "";
    assert_int_equal(config_load(NULL, NULL, 0, &c, err, sizeof(err)), RSA_OK);
    char *text = config_format(&c, 0);
    assert_non_null(text);
    char section[32] = "";
    int n_keys = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '[') {
            snprintf(section, sizeof(section), "%.*s", (int)(strchr(line, ']') - line - 1), line + 1);
            continue;
        }
        char *eq = strstr(line, " = ");
        assert_non_null(eq);
        char needle[128];
        snprintf(needle, sizeof(needle), "%s.%.*s (", section, (int)(eq - line), line);
        assert_contains(help, needle);
        n_keys++;
    }
    assert_int_equal(n_keys, (int)(sizeof(all_keys) / sizeof(all_keys[0])));
    free(text);
    free(help);
    config_free(&c);
}

static void test_tail_source_names(void **state)
{
    (void)state;
    assert_string_equal(config_tail_source_str(TAIL_FULL), "full");
    assert_string_equal(config_tail_source_str(TAIL_THINK), "think");
    assert_string_equal(config_tail_source_str(TAIL_ANSWER_OR_THINK), "answer_or_think");
}

/* config_text_get reads a value back from the text a run stores (config_format) */
static void test_text_get(void **state)
{
    (void)state;
    struct rsa_config c;
    char err[512] = "";
    const char *sets[] = {"grading.strict=false", "rsa.think_close=</reasoning>"};
    assert_int_equal(config_load(NULL, sets, 2, &c, err, sizeof(err)), RSA_OK);
    char *txt = config_format(&c, 0);
    assert_non_null(txt);
    char *v = config_text_get(txt, "grading", "strict");
    assert_string_equal(v, "false");
    free(v);
    v = config_text_get(txt, "rsa", "think_close");
    assert_string_equal(v, "</reasoning>");
    free(v);
    v = config_text_get(txt, "grading", "answer_after_think");
    assert_string_equal(v, "false");
    free(v);
    assert_null(config_text_get(txt, "grading", "nope"));
    assert_null(config_text_get(txt, "nope", "strict"));
    assert_null(config_text_get(NULL, "grading", "strict"));
    free(txt);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_mode_paper_picks_paper_template),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_bools_and_enums_case_insensitive),
        cmocka_unit_test(test_bounds_inclusive),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_long_line_not_silently_split),
        cmocka_unit_test(test_set_errors),
        cmocka_unit_test(test_set_overrides_file),
        cmocka_unit_test(test_subset_larger_than_population),
        cmocka_unit_test(test_empty_think_markers),
        cmocka_unit_test(test_relative_paths_resolve_against_config_dir),
        cmocka_unit_test(test_name_defaults_to_stem),
        cmocka_unit_test(test_format_identity_only),
        cmocka_unit_test(test_late_identity_keys),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_help_lists_every_key),
        cmocka_unit_test(test_tail_source_names),
        cmocka_unit_test(test_text_get),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
