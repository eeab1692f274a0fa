/*
 * test_dataset.c: JSONL problems (bench/dataset.c): string and integer ids
 * (MathArena's problem_idx), integer answers, blank lines and CRLF; every bad line
 * is an error naming file:line; dataset_filter; the content hash.
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

#include "bench/dataset.h"
#include "rsa/util.h"
#include "testutil.h"

static int group_setup(void **state)
{
    (void)state;
    return testutil_tmpdir_make("dataset");
}

static int group_teardown(void **state)
{
    (void)state;
    return testutil_tmpdir_remove();
}

static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static enum rsa_err parse(const char *text, struct dataset *ds, char *err, size_t errlen)
{
    return dataset_parse("d.jsonl", text, strlen(text), ds, err, errlen);
}

static void assert_empty(const struct dataset *ds)
{
    assert_null(ds->items);
    assert_int_equal(ds->n, 0);
}

/* ===== good files ===== */

static const char good[] =
    "{\"id\": \"alpha\", \"problem\": \"What is 1+1?\", \"answer\": \"2\"}\r\n"
    "\r\n"
    "   \t \n"
    "{\"problem_idx\": 7, \"problem\": \"P seven\", \"answer\": 42, \"points\": 5}\n"
    "\n"
    "{\"id\": 3, \"problem\": \"Unicode: \\u00e9\\u00e8 \\\\boxed{}\", \"answer\": \"\\\\frac{1}{2}\"}\r\n"
    "  {\"problem\": \"indented\", \"answer\": -5, \"id\": \"z\"}  \n"
    "{\"id\": \"last\", \"problem\": \"no newline at the end\", \"answer\": \"0\"}";

static void test_good(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(parse(good, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 5);
    assert_string_equal(ds.items[0].id, "alpha");
    assert_string_equal(ds.items[0].text, "What is 1+1?");
    assert_string_equal(ds.items[0].answer, "2");
    assert_string_equal(ds.items[1].id, "7"); /* MathArena: integer problem_idx */
    assert_string_equal(ds.items[1].text, "P seven");
    assert_string_equal(ds.items[1].answer, "42"); /* integer answer as text */
    assert_string_equal(ds.items[2].id, "3");
    assert_string_equal(ds.items[2].text, "Unicode: \xc3\xa9\xc3\xa8 \\boxed{}");
    assert_string_equal(ds.items[2].answer, "\\frac{1}{2}");
    assert_string_equal(ds.items[3].id, "z");
    assert_string_equal(ds.items[3].answer, "-5");
    assert_string_equal(ds.items[4].id, "last");
    assert_int_equal(strlen(ds.sha256), 64);
    dataset_free(&ds);
    assert_empty(&ds);
    dataset_free(&ds); /* twice is fine */
    dataset_free(NULL);
}

static void test_id_wins_over_problem_idx(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(parse("{\"id\": \"s\", \"problem_idx\": 9, \"problem\": \"p\", \"answer\": 1}\n", &ds, err,
                           sizeof(err)),
                     RSA_OK);
    assert_string_equal(ds.items[0].id, "s");
    dataset_free(&ds);
}

static void test_large_integer_answer(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(parse("{\"id\": 1, \"problem\": \"p\", \"answer\": 9007199254740991}\n", &ds, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(ds.items[0].answer, "9007199254740991");
    dataset_free(&ds);
}

static void test_load_file(void **state)
{
    (void)state;
    const char *path = write_file("good.jsonl", good, strlen(good));
    struct dataset ds, ds2;
    char err[256] = "";
    assert_int_equal(dataset_load(path, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 5);
    assert_int_equal(parse(good, &ds2, err, sizeof(err)), RSA_OK);
    assert_string_equal(ds.sha256, ds2.sha256); /* the hash is of the bytes, whatever the source */
    dataset_free(&ds);
    dataset_free(&ds2);

    char missing[512];
    snprintf(missing, sizeof(missing), "%s/none.jsonl", tmpdir);
    assert_int_not_equal(dataset_load(missing, &ds, err, sizeof(err)), RSA_OK);
    assert_non_null(strstr(err, missing));
    assert_empty(&ds);
}

/* the project's own synthetic set loads */
static void test_repo_dataset(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(dataset_load("bench/data/synthetic.jsonl", &ds, err, sizeof(err)), RSA_OK);
    assert_true(ds.n > 0);
    for (size_t i = 0; i < ds.n; i++) {
        assert_true(ds.items[i].id[0] != '\0');
        assert_true(ds.items[i].text[0] != '\0');
        assert_true(ds.items[i].answer[0] != '\0');
    }
    dataset_free(&ds);
}

/* ===== errors ===== */

struct err_case {
    const char *what;
    const char *text;
    int line;                /* 0: the message names the file only */
    const char *needle;
};

static const struct err_case err_cases[] = {
    {"invalid JSON", "{\"id\": 1, \"problem\": \"p\", \"answer\": 1}\n{\"id\": 2, \"problem\": \n", 2, "not valid JSON"},
    {"trailing garbage", "{\"id\": 1, \"problem\": \"p\", \"answer\": 1} x\n", 1, "not valid JSON"},
    {"two objects on a line", "{\"id\": 1, \"problem\": \"p\", \"answer\": 1}{\"id\": 2}\n", 1, "not valid JSON"},
    {"not an object: array", "\n\n[1, 2, 3]\n", 3, "object"},
    {"not an object: string", "\"hello\"\n", 1, "object"},
    {"not an object: number", "42\n", 1, "object"},
    {"missing id", "{\"problem\": \"p\", \"answer\": 1}\n", 1, "\"id\""},
    {"id null", "{\"id\": null, \"problem\": \"p\", \"answer\": 1}\n", 1, "id"},
    {"id an object", "{\"id\": {}, \"problem\": \"p\", \"answer\": 1}\n", 1, "id"},
    {"id a fraction", "{\"id\": 1.5, \"problem\": \"p\", \"answer\": 1}\n", 1, "id"},
    {"id empty", "{\"id\": \"\", \"problem\": \"p\", \"answer\": 1}\n", 1, "empty id"},
    {"missing problem", "{\"id\": \"a\", \"answer\": 1}\n", 1, "\"problem\""},
    {"problem a number", "{\"id\": \"a\", \"problem\": 5, \"answer\": 1}\n", 1, "must be a string"},
    {"problem null", "{\"id\": \"a\", \"problem\": null, \"answer\": 1}\n", 1, "\"problem\""},
    {"missing answer", "{\"id\": \"a\", \"problem\": \"p\"}\n", 1, "\"answer\""},
    {"answer an object", "{\"id\": \"a\", \"problem\": \"p\", \"answer\": {\"v\": 1}}\n", 1, "answer"},
    {"answer an array", "{\"id\": \"a\", \"problem\": \"p\", \"answer\": [1]}\n", 1, "answer"},
    {"answer a fraction", "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 2.5}\n", 1, "answer"},
    {"answer a bool", "{\"id\": \"a\", \"problem\": \"p\", \"answer\": true}\n", 1, "answer"},
    {"duplicate id",
     "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 1}\n{\"id\": \"b\", \"problem\": \"q\", \"answer\": 2}\n"
     "{\"id\": \"a\", \"problem\": \"r\", \"answer\": 3}\n",
     3, "duplicate id \"a\""},
    {"duplicate across id kinds", "{\"id\": \"7\", \"problem\": \"p\", \"answer\": 1}\n"
                                  "{\"problem_idx\": 7, \"problem\": \"q\", \"answer\": 2}\n",
     2, "duplicate"},
    {"error after CRLF lines", "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 1}\r\n\r\n{oops}\r\n", 3,
     "not valid JSON"},
    {"empty file", "", 0, "no problems"},
    {"only blank lines", "\n  \r\n\t\n", 0, "no problems"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *ec = &err_cases[i];
        /* through a real file, so the message names its path */
        const char *path = write_file("bad.jsonl", ec->text, strlen(ec->text));
        struct dataset ds;
        memset(&ds, 0x55, sizeof(ds));
        char err[512] = "";
        enum rsa_err rc = dataset_load(path, &ds, err, sizeof(err));
        if (rc != RSA_ERR_PARSE)
            fail_msg("case \"%s\": rc %d, want RSA_ERR_PARSE (%s)", ec->what, rc, err);
        char where[600];
        if (ec->line > 0)
            snprintf(where, sizeof(where), "%s:%d: ", path, ec->line);
        else
            snprintf(where, sizeof(where), "%s", path);
        if (strncmp(err, where, strlen(where)) != 0)
            fail_msg("case \"%s\": message \"%s\" does not start with \"%s\"", ec->what, err, where);
        if (strstr(err, ec->needle) == NULL)
            fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", ec->what, err, ec->needle);
        assert_empty(&ds);
    }
}

/* ===== filter ===== */

static const char five[] = "{\"id\": \"a\", \"problem\": \"pa\", \"answer\": 1}\n"
                           "{\"id\": \"b\", \"problem\": \"pb\", \"answer\": 2}\n"
                           "{\"id\": \"c\", \"problem\": \"pc\", \"answer\": 3}\n"
                           "{\"id\": \"d\", \"problem\": \"pd\", \"answer\": 4}\n"
                           "{\"id\": \"e e\", \"problem\": \"pe\", \"answer\": 5}\n";

static void test_filter_keeps_list_order(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(parse(five, &ds, err, sizeof(err)), RSA_OK);
    char sha[65];
    memcpy(sha, ds.sha256, sizeof(sha));
    assert_int_equal(dataset_filter(&ds, "d, a,e e ,,b", err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 4);
    assert_string_equal(ds.items[0].id, "d");
    assert_string_equal(ds.items[1].id, "a");
    assert_string_equal(ds.items[2].id, "e e");
    assert_string_equal(ds.items[3].id, "b");
    assert_string_equal(ds.items[0].text, "pd");
    assert_string_equal(ds.items[1].answer, "1");
    assert_string_equal(ds.sha256, sha); /* the hash stays the file's */
    dataset_free(&ds);

    /* a repeated id is kept once */
    assert_int_equal(parse(five, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(dataset_filter(&ds, "c,c", err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 1);
    assert_string_equal(ds.items[0].id, "c");
    dataset_free(&ds);

    /* "" and NULL keep everything, in file order */
    assert_int_equal(parse(five, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(dataset_filter(&ds, "", err, sizeof(err)), RSA_OK);
    assert_int_equal(dataset_filter(&ds, NULL, err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 5);
    assert_string_equal(ds.items[0].id, "a");
    assert_string_equal(ds.items[4].id, "e e");
    dataset_free(&ds);
}

static void test_filter_unknown_id(void **state)
{
    (void)state;
    struct dataset ds;
    char err[256] = "";
    assert_int_equal(parse(five, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(dataset_filter(&ds, "a,zz,b", err, sizeof(err)), RSA_ERR_CONFIG);
    assert_non_null(strstr(err, "\"zz\""));
    /* the dataset is left as it was */
    assert_int_equal(ds.n, 5);
    assert_string_equal(ds.items[0].id, "a");
    assert_string_equal(ds.items[4].text, "pe");
    /* a prefix of an id is not that id */
    assert_int_equal(dataset_filter(&ds, "e", err, sizeof(err)), RSA_ERR_CONFIG);
    assert_non_null(strstr(err, "\"e\""));
    /* only separators: no ids */
    assert_int_equal(dataset_filter(&ds, " , ,", err, sizeof(err)), RSA_ERR_CONFIG);
    assert_int_equal(ds.n, 5);
    dataset_free(&ds);
}

/* ===== hash ===== */

static void test_sha256_changes_with_content(void **state)
{
    (void)state;
    const char *a = "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 1}\n";
    const char *b = "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 2}\n";
    const char *a_crlf = "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 1}\r\n";
    struct dataset da, da2, db, dc;
    char err[256] = "";
    assert_int_equal(parse(a, &da, err, sizeof(err)), RSA_OK);
    assert_int_equal(parse(a, &da2, err, sizeof(err)), RSA_OK);
    assert_int_equal(parse(b, &db, err, sizeof(err)), RSA_OK);
    assert_int_equal(parse(a_crlf, &dc, err, sizeof(err)), RSA_OK);
    assert_string_equal(da.sha256, da2.sha256);
    assert_string_not_equal(da.sha256, db.sha256);
    assert_string_not_equal(da.sha256, dc.sha256); /* same problems, different bytes */
    /* it is the SHA-256 of the bytes */
    char want[65];
    assert_int_equal(util_sha256_hex(a, strlen(a), want), RSA_OK);
    assert_string_equal(da.sha256, want);
    /* a known vector: SHA-256("abc") */
    assert_int_equal(util_sha256_hex("abc", 3, want), RSA_OK);
    assert_string_equal(want, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    dataset_free(&da);
    dataset_free(&da2);
    dataset_free(&db);
    dataset_free(&dc);
}

/* the parser reads only len bytes, not up to a NUL */
static void test_parse_respects_len(void **state)
{
    (void)state;
    const char *text = "{\"id\": \"a\", \"problem\": \"p\", \"answer\": 1}\n{\"id\": \"b\", \"probl";
    struct dataset ds;
    char err[256] = "";
    size_t first = strchr(text, '\n') - text + 1;
    assert_int_equal(dataset_parse("d.jsonl", text, first, &ds, err, sizeof(err)), RSA_OK);
    assert_int_equal(ds.n, 1);
    dataset_free(&ds);
    assert_int_equal(dataset_parse("d.jsonl", text, strlen(text), &ds, err, sizeof(err)), RSA_ERR_PARSE);
    assert_non_null(strstr(err, "d.jsonl:2:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_id_wins_over_problem_idx),
        cmocka_unit_test(test_large_integer_answer),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_repo_dataset),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_filter_keeps_list_order),
        cmocka_unit_test(test_filter_unknown_id),
        cmocka_unit_test(test_sha256_changes_with_content),
        cmocka_unit_test(test_parse_respects_len),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
