/*
 * test_grade.c: the "boxed" grader (rsa/grade.c): answer extraction, normalisation
 * and comparison, as tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/grade.h"

/* ===== extraction ===== */

struct extract_case {
    const char *text;
    const char *after;  /* marker, or NULL */
    int strict;
    const char *want;   /* NULL: no answer */
};

static const struct extract_case extract_cases[] = {
    /* the last box wins */
    {"first \\boxed{1} then \\boxed{2}", NULL, 1, "2"},
    {"\\boxed{42}", NULL, 1, "42"},
    {"The answer is $\\boxed{ 17 }$.", NULL, 1, " 17 "},
    /* nested braces */
    {"so \\boxed{\\frac{1}{2}} done", NULL, 1, "\\frac{1}{2}"},
    {"\\boxed{\\sqrt{\\frac{a}{b}} + {c}}", NULL, 1, "\\sqrt{\\frac{a}{b}} + {c}"},
    /* escaped braces do not count */
    {"\\boxed{\\{1,2\\}}", NULL, 1, "\\{1,2\\}"},
    /* \fbox, and the later of \fbox and \boxed */
    {"\\fbox{9}", NULL, 1, "9"},
    {"\\boxed{1} and \\fbox{2}", NULL, 1, "2"},
    {"\\fbox{1} and \\boxed{2}", NULL, 1, "2"},
    /* \boxed 5 */
    {"answer: \\boxed 5", NULL, 1, "5"},
    {"$\\boxed 12$ and so on", NULL, 1, "12"},
    {"\\boxed   7\nnext line", NULL, 1, "7"},
    /* an unbalanced last box falls back to the previous one */
    {"\\boxed{3} but then \\boxed{4", NULL, 1, "3"},
    {"\\boxed{3} but then \\boxed{\\frac{4}{5}", NULL, 1, "3"},
    {"only \\boxed{4", NULL, 1, NULL},
    {"\\boxed{} empty box", NULL, 1, ""},
    /* \boxed followed by neither brace nor space is not a box */
    {"\\boxedx 5", NULL, 1, NULL},
    {"\\boxed", NULL, 1, NULL},
    /* no box: strict gives nothing, non-strict the last integer */
    {"the answer is 12, not 13", NULL, 1, NULL},
    {"the answer is 12, not 13", NULL, 0, "13"},
    {"it is -5", NULL, 0, "-5"},
    {"value 1234567890123 end", NULL, 0, "1234567890123"},
    {"no digits here", NULL, 0, NULL},
    {"", NULL, 0, NULL},
    {"7", NULL, 0, "7"},
    /* a box beats the fallback in non-strict mode */
    {"\\boxed{x+1} and 99", NULL, 0, "x+1"},
    /* after: only the text after the last marker */
    {"<think>\\boxed{1}</think> so \\boxed{2}", "</think>", 1, "2"},
    {"<think>\\boxed{1}</think> no box after", "</think>", 1, NULL},
    {"<think>\\boxed{1}</think> but 8 after", "</think>", 0, "8"},
    {"<think>\\boxed{1} still thinking", "</think>", 1, NULL},
    {"<think>\\boxed{1} still thinking 5", "</think>", 0, NULL}, /* marker absent: nothing at all */
    {"a</think>\\boxed{1}</think>\\boxed{2}</think>", "</think>", 1, NULL},
    {"a</think>\\boxed{1}</think>\\boxed{2}", "</think>", 1, "2"},
    /* an empty marker means no marker */
    {"\\boxed{6}", "", 1, "6"},
};

static void test_extract(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(extract_cases) / sizeof(extract_cases[0]); i++) {
        const struct extract_case *ec = &extract_cases[i];
        char *got = grade_extract(ec->text, ec->after, ec->strict);
        if (ec->want == NULL && got != NULL)
            fail_msg("case %zu \"%s\": got \"%s\", want no answer", i, ec->text, got);
        if (ec->want != NULL && (got == NULL || strcmp(got, ec->want) != 0))
            fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i, ec->text, got ? got : "(null)", ec->want);
        free(got);
    }
    assert_null(grade_extract(NULL, NULL, 0));
    assert_null(grade_extract(NULL, "</think>", 1));
}

/* ===== normalisation and equality ===== */

struct eq_case {
    const char *a, *b;
    int equal;
};

static const struct eq_case eq_cases[] = {
    {"25", "25", 1},
    {"025", "25", 1},
    {"000", "0", 1},
    {"0", "0", 1},
    {"1,000", "1000", 1},
    {"1{,}000", "1000", 1},
    {"1,000,000", "1000000", 1},
    {"-1,000", "-1000", 1},
    {"1,2", "12", 0},        /* a list is not a grouped number */
    {"1,2", "1,2", 1},
    {"10,00", "1000", 0},    /* bad grouping */
    {"1000,000", "1000000", 0},
    {"\\dfrac{1}{2}", "\\frac{1}{2}", 1},
    {"\\tfrac{1}{2}", "\\frac{1}{2}", 1},
    {"\\frac{1}{2}", "\\frac{1}{3}", 0},
    {"\\frac12", "\\frac{1}{2}", 0}, /* symbolic equivalence is not this grader's job */
    {"$7$", "7", 1},
    {"7.", "7", 1},
    {"7", "7.0", 0},
    {" 7 ", "7", 1},
    {"\\text{7}", "7", 1},
    {"12\\text{ cm}", "12 cm", 1},
    {"12\\text{ cm}", "12cm", 1},
    {"\\textbf{7}", "7", 1},
    {"\\mathrm{7}", "7", 1},
    {"\\textbf{7}\\text{ cm}", "7 cm", 1},
    {"\\text{(A)}", "(A)", 1},
    {"-0", "0", 1},
    {"+5", "5", 1},
    {"-05", "-5", 1},
    {"-5", "5", 0},
    {"\\left(1,2\\right)", "(1,2)", 1},
    {"90^\\circ", "90", 1},
    {"90^{\\circ}", "90", 1},
    {"1\\,000", "1000", 1},
    {"1\\!000", "1000", 1},
    {"3", "4", 0},
    {"12", "21", 0},
    {"99999999999999999999", "99999999999999999999", 1},
    {"99999999999999999999", "99999999999999999998", 0},
    {"x+1", "x + 1", 1},
    {"X", "x", 0},
    {"", "", 0},             /* no answer is never correct */
    {"$ $", "", 0},
};

static void test_equal(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(eq_cases) / sizeof(eq_cases[0]); i++) {
        const struct eq_case *ec = &eq_cases[i];
        int got = grade_equal(ec->a, ec->b);
        if (got != ec->equal)
            fail_msg("grade_equal(\"%s\", \"%s\") = %d, want %d", ec->a, ec->b, got, ec->equal);
        /* symmetric */
        if (grade_equal(ec->b, ec->a) != ec->equal)
            fail_msg("grade_equal(\"%s\", \"%s\") is not symmetric", ec->b, ec->a);
    }
    assert_int_equal(grade_equal(NULL, "7"), 0);
    assert_int_equal(grade_equal("7", NULL), 0);
    assert_int_equal(grade_equal(NULL, NULL), 0);
}

struct norm_case {
    const char *in, *want;
};

static const struct norm_case norm_cases[] = {
    {"025", "25"},
    {"1{,}000", "1000"},
    {"1,000", "1000"},
    {"1,2", "1,2"},
    {"-0", "0"},
    {"+007", "7"},
    {"$\\dfrac{1}{2}$.", "\\frac{1}{2}"},
    {"\\left[ 1, 2 \\right]", "[1,2]"},
    {"12\\text{ cm}", "12cm"},
    {"7...", "7"},
    {"", ""},
};

static void test_normalize(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        char *got = grade_normalize(norm_cases[i].in);
        assert_non_null(got);
        if (strcmp(got, norm_cases[i].want) != 0)
            fail_msg("grade_normalize(\"%s\") = \"%s\", want \"%s\"", norm_cases[i].in, got, norm_cases[i].want);
        /* idempotent */
        char *again = grade_normalize(got);
        assert_string_equal(again, got);
        free(again);
        free(got);
    }
    assert_null(grade_normalize(NULL));
}

/* extraction and comparison together, as the runner uses them */
static void test_extract_then_grade(void **state)
{
    (void)state;
    char *a = grade_extract("<think>maybe \\boxed{12}</think>The total is $\\boxed{1{,}000}$.", "</think>", 1);
    assert_string_equal(a, "1{,}000");
    assert_int_equal(grade_equal(a, "1000"), 1);
    assert_int_equal(grade_equal(a, "12"), 0);
    free(a);
    a = grade_extract("Therefore the answer is \\boxed{\\dfrac{3}{4}}.", NULL, 1);
    assert_int_equal(grade_equal(a, "\\frac{3}{4}"), 1);
    free(a);
    assert_string_equal(GRADE_NAME, "boxed");
    assert_string_equal(GRADE_VERSION, "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_extract_then_grade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
