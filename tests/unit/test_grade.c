/*
 * test_grade.c: the "rsa-math" grader (rsa/grade.c on rsa/latex.c): answer
 * extraction, list detection, the LaTeX-math parser, exact and numeric equivalence,
 * statuses and reasons, and the size caps, as tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rsa/grade.h"
#include "rsa/latex.h"

/* table failures are all printed, then the test fails */
static int failures;
#define CASE_FAIL(...) (print_error(__VA_ARGS__), print_error("\n"), failures++)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ===== extraction ===== */

struct extract_case {
    const char *text;
    const char *after; /* marker, or NULL */
    int strict;
    int list;
    const char *want;  /* NULL: no answer */
};

static const struct extract_case extract_cases[] = {
    /* the last box wins */
    {"first \\boxed{1} then \\boxed{2}", NULL, 1, 0, "2"},
    {"\\boxed{42}", NULL, 1, 0, "42"},
    {"The answer is $\\boxed{ 17 }$.", NULL, 1, 0, "17"},
    /* nested braces */
    {"so \\boxed{\\frac{1}{2}} done", NULL, 1, 0, "\\frac{1}{2}"},
    {"\\boxed{\\sqrt{\\frac{a}{b}} + {c}}", NULL, 1, 0, "\\sqrt{\\frac{a}{b}} + {c}"},
    /* escaped braces do not count */
    {"\\boxed{\\{1,2\\}}", NULL, 1, 0, "\\{1,2\\}"},
    {"\\boxed{\\}}", NULL, 1, 0, "\\}"},
    /* \fbox, and the later of \fbox and \boxed */
    {"\\fbox{9}", NULL, 1, 0, "9"},
    {"\\boxed{1} and \\fbox{2}", NULL, 1, 0, "2"},
    {"\\fbox{1} and \\boxed{2}", NULL, 1, 0, "2"},
    /* inner boxes are unwrapped */
    {"\\boxed{\\boxed{5}}", NULL, 1, 0, "5"},
    {"\\boxed{x = \\boxed{5}}", NULL, 1, 0, "x = 5"},
    {"\\boxed{\\boxed{\\frac{1}{2}} + 1}", NULL, 1, 0, "\\frac{1}{2} + 1"},
    /* \boxed 5 and \boxed {5} */
    {"answer: \\boxed 5", NULL, 1, 0, "5"},
    {"$\\boxed 12$ and so on", NULL, 1, 0, "12"},
    {"\\boxed   7\nnext line", NULL, 1, 0, "7"},
    {"\\boxed {8}", NULL, 1, 0, "8"},
    /* an unbalanced or empty last box falls back to the previous one */
    {"\\boxed{3} but then \\boxed{4", NULL, 1, 0, "3"},
    {"\\boxed{3} but then \\boxed{\\frac{4}{5}", NULL, 1, 0, "3"},
    {"\\boxed{3} but then \\boxed{}", NULL, 1, 0, "3"},
    {"only \\boxed{4", NULL, 1, 0, NULL},
    {"\\boxed{} empty box", NULL, 1, 0, NULL},
    {"\\boxed{ } blank box", NULL, 0, 0, NULL},
    {"\\boxed{\\boxed{}}", NULL, 1, 0, NULL},
    /* a box command without a valid box stops the fallback */
    {"\\boxed{} but 5", NULL, 0, 0, NULL},
    {"\\boxed{4 and 7", NULL, 0, 0, NULL},
    /* \boxed followed by neither brace nor space is not a box */
    {"\\boxedx 5", NULL, 1, 0, NULL},
    {"\\boxed", NULL, 1, 0, NULL},
    {"\\boxedx 5", NULL, 0, 0, "5"},
    /* no box: strict gives nothing, non-strict the last number */
    {"the answer is 12, not 13", NULL, 1, 0, NULL},
    {"the answer is 12, not 13", NULL, 0, 0, "13"},
    {"it is -5", NULL, 0, 0, "-5"},
    {"x-5", NULL, 0, 0, "5"},
    {"so (-5)", NULL, 0, 0, "-5"},
    {"pi is about 3.14.", NULL, 0, 0, "3.14"},
    {"ratio 3/4 then", NULL, 0, 0, "3/4"},
    {"total 1,000,000 dollars", NULL, 0, 0, "1000000"},
    {"pairs 12,34", NULL, 0, 0, "34"},
    {"value 1234567890123 end", NULL, 0, 0, "1234567890123"},
    {"no digits here", NULL, 0, 0, NULL},
    {"", NULL, 0, 0, NULL},
    {"7", NULL, 0, 0, "7"},
    /* a box beats the fallback in non-strict mode */
    {"\\boxed{x+1} and 99", NULL, 0, 0, "x+1"},
    /* after: only the text after the last marker */
    {"<think>\\boxed{1}</think> so \\boxed{2}", "</think>", 1, 0, "2"},
    {"<think>\\boxed{1}</think> no box after", "</think>", 1, 0, NULL},
    {"<think>\\boxed{1}</think> but 8 after", "</think>", 0, 0, "8"},
    {"<think>\\boxed{1} still thinking", "</think>", 1, 0, NULL},
    {"<think>\\boxed{1} still thinking 5", "</think>", 0, 0, NULL}, /* marker absent: nothing at all */
    {"a</think>\\boxed{1}</think>\\boxed{2}</think>", "</think>", 1, 0, NULL},
    {"a</think>\\boxed{1}</think>\\boxed{2}", "</think>", 1, 0, "2"},
    {"\\boxed{6}", "", 1, 0, "6"}, /* an empty marker means no marker */
    /* list answers: every box of the last line that holds one */
    {"so \\boxed{1}, \\boxed{2} and \\boxed{3}", NULL, 1, 1, "1, 2, 3"},
    {"\\boxed{9}\nfinally \\boxed{1} or \\boxed{2}.", NULL, 1, 1, "1, 2"},
    {"\\boxed{1}\n\\boxed{2}", NULL, 1, 1, "2"},
    {"answer \\boxed{1, 2}", NULL, 1, 1, "1, 2"},
    {"\\boxed{1} \\boxed{2}", NULL, 1, 0, "2"},
    {"\\boxed{1} \\boxed{} \\boxed{3}", NULL, 1, 1, "1, 3"},
    {"\\boxed{\\boxed{1}, \\boxed{2}}", NULL, 1, 1, "1, 2"},
    {"no box, 5 and 6", NULL, 0, 1, "6"},
};

static void test_extract(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof(extract_cases) / sizeof(extract_cases[0]); i++) {
        const struct extract_case *ec = &extract_cases[i];
        struct grade_opts o = {.after = ec->after, .strict = ec->strict};
        char *got = grade_extract(ec->text, &o, ec->list);
        if (ec->want == NULL && got != NULL)
            CASE_FAIL("case %zu \"%s\": got \"%s\", want no answer", i, ec->text, got);
        if (ec->want != NULL && (got == NULL || strcmp(got, ec->want) != 0))
            CASE_FAIL("case %zu \"%s\": got \"%s\", want \"%s\"", i, ec->text, got ? got : "(null)", ec->want);
        free(got);
    }
    struct grade_opts o = {.after = "</think>", .strict = 1};
    assert_null(grade_extract(NULL, NULL, 0));
    assert_null(grade_extract(NULL, &o, 1));
    /* NULL options: whole text, strict */
    char *got = grade_extract("7 \\boxed{8}", NULL, 0);
    assert_string_equal(got, "8");
    free(got);
    assert_null(grade_extract("just 7", NULL, 0));
    assert_int_equal(failures, 0);
}

/* ===== list detection ===== */

struct list_case {
    const char *gold;
    int list;
};

static const struct list_case list_cases[] = {
    {"1, 2", 1},
    {"-2,1", 1},
    {"(1,2), (3,4)", 1},
    {"(1, 2)", 0},
    {"[0, 1)", 0},
    {"\\{1, 2\\}", 0},
    {"\\left\\{ 1, 2 \\right\\}", 0},
    {"\\frac{1}{2}", 0},
    {"1,000", 0},        /* thousands grouping */
    {"1,000,000", 0},
    {"1{,}000", 0},
    {"12,34", 1},        /* not a valid grouping */
    {"1,0000", 1},
    {"1234,567", 1},
    {"0.5,123", 1},
    {"x, y", 1},
    {"", 0},
};

static void test_gold_is_list(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++)
        if (grade_gold_is_list(list_cases[i].gold) != list_cases[i].list)
            CASE_FAIL("grade_gold_is_list(\"%s\") != %d", list_cases[i].gold, list_cases[i].list);
    assert_int_equal(grade_gold_is_list(NULL), 0);
    assert_int_equal(failures, 0);
}

/* ===== equivalence ===== */

struct eq_case {
    const char *gold, *pred;
    int equal;
};

static const struct eq_case eq_cases[] = {
    /* integers of any size, leading zeros, signs */
    {"25", "25", 1},
    {"033", "33", 1},
    {"000", "0", 1},
    {"-0", "0", 1},
    {"+5", "5", 1},
    {"-5", "5", 0},
    {"3", "4", 0},
    {"12", "21", 0},
    {"99999999999999999999", "99999999999999999999", 1},
    {"99999999999999999999", "99999999999999999998", 0},
    {"123456789012345678901234567890", "123456789012345678901234567891", 0},
    {"54", "204_5", 1}, /* a number in another base */
    {"10", "1010_{2}", 1},
    {"54", "204_6", 0},
    /* decimals and exact rationals */
    {"0.5", "\\frac{1}{2}", 1},
    {"1.0", "1", 1},
    {"1.50", "\\frac32", 1},
    {".5", "0.5", 1},
    {"0.1", "\\frac{1}{10}", 1},
    {"12", "12.", 1},
    {"12", "12.00001", 0},
    {"\\frac{1}{3}", "0.333333333", 0},
    {"\\frac{1}{3}", "0.\\overline{3}", 1},
    {"\\frac{1}{6}", "0.1\\overline{6}", 1},
    /* fractions */
    {"\\frac{1}{2}", "\\dfrac{1}{2}", 1},
    {"\\frac{1}{2}", "\\tfrac12", 1},
    {"\\frac12", "0.5", 1},
    {"\\dfrac12", "\\frac{2}{4}", 1},
    {"\\frac1{2}", "1/2", 1},
    {"\\frac{1}{2}", "\\frac{1}{3}", 0},
    {"\\frac{14}{3}", "4\\frac{2}{3}", 1}, /* a mixed number */
    {"2\\frac{1}{2}", "5/2", 1},
    {"-2\\frac{1}{2}", "-2.5", 1},
    {"\\frac{1}{\\frac{1}{2}}", "2", 1},
    {"\\frac{-1+\\sqrt{17}}{2}", "\\frac{\\sqrt{17}-1}{2}", 1},
    {"\\frac{-1+\\sqrt{17}}{2}", "\\frac{1+\\sqrt{17}}{2}", 0},
    {"-\\frac{10}{9}", "-10/9", 1},
    {"10/9", "\\frac{10}{9}", 1},
    /* big exact arithmetic */
    {"2^{25} \\cdot 26!", "13532215908553332190020108288000000", 1},
    {"2^{25} \\cdot 26!", "13532215908553332190020108288000001", 0},
    {"2^{25} \\cdot 26!", "2^{25}26!", 1},
    {"26!", "403291461126605635584000000", 1},
    {"2^{100}", "1267650600228229401496703205376", 1},
    {"2^{100}", "1267650600228229401496703205377", 0},
    {"\\binom{10}{3}", "120", 1},
    {"\\dbinom{10}{3}", "\\tbinom{10}{7}", 1},
    {"\\binom{50}{25}", "126410606437752", 1},
    {"\\binom{-3}{2}", "6", 1},
    {"5!!", "15", 1},
    {"10", "{5 \\choose 2}", 1},
    {"10^{10^{10}}", "10^{10000000000}", 1}, /* huge powers: equal bases and exponents */
    {"10^{10^{10}}", "10^{10000000001}", 0},
    {"0!", "1", 1},
    /* powers */
    {"2^{10}", "1024", 1},
    {"2^10", "1024", 1}, /* a whole number as exponent, as sympy reads it */
    {"x^23", "x^{23}", 1},
    {"2**10", "1024", 1},
    {"2^(10)", "1024", 1},
    {"2^-1", "0.5", 1},
    {"3^{-1}", "\\frac13", 1},
    {"-2^2", "-4", 1},
    {"(-2)^2", "4", 1},
    {"8^{2/3}", "4", 1},
    {"(-8)^{1/3}", "-2", 1},
    {"0^0", "1", 1},
    {"4^{1/2}", "2", 1},
    /* roots */
    {"2\\sqrt{2}", "\\sqrt{8}", 1},
    {"\\sqrt{8}", "3\\sqrt{2}", 0},
    {"3\\sqrt{2}", "\\sqrt{18}", 1},
    {"\\sqrt2", "2^{1/2}", 1},
    {"\\sqrt 2", "\\sqrt{2}", 1},
    {"\\sqrt{2}+\\sqrt{5}", "\\sqrt 2+\\sqrt 5", 1},
    {"\\sqrt[3]{8}", "2", 1},
    {"\\sqrt[3]{-8}", "-2", 1},
    {"\\sqrt[4]{16}", "2", 1},
    {"\\sqrt{\\frac{9}{4}}", "1.5", 1},
    {"\\frac{9\\sqrt{23}}{23}", "\\frac{9}{\\sqrt{23}}", 1},
    {"\\frac{9\\sqrt{23}}{23}", "\\frac{8}{\\sqrt{23}}", 0},
    {"\\dfrac{3}{\\sqrt{3}}", "\\sqrt3", 1},
    {"\\sqrt{-4}", "2i", 1},
    {"\\sqrt{4}", "2", 1},
    {"\\sqrt{2}", "1.41421356", 0},
    {"\\sqrt{12}", "2\\sqrt3", 1},
    {"\\sqrt{x^2}", "x", 0}, /* sign-mixed random points: sqrt(x^2) = |x| */
    {"\\sqrt{x^2}", "|x|", 1},
    {"|x|", "x", 0},
    /* products, implicit and explicit */
    {"6", "2 \\cdot 3", 1},
    {"6", "2\\times 3", 1},
    {"6", "2*3", 1},
    {"6", "(2)(3)", 1},
    {"2 \\times 10^{3}", "2000", 1},
    {"2\\pi", "\\pi + \\pi", 1},
    {"2\\pi", "\\pi", 0},
    {"2(x+1)", "2x+2", 1},
    {"ab", "ba", 1},
    {"\\frac{9}{4}\\pi", "\\frac94\\pi", 1},
    {"\\frac{\\pi r}{h+r}", "\\frac{r \\pi}{r + h}", 1},
    {"6 \\div 3", "2", 1},
    /* constants */
    {"\\pi", "3.14159265358979", 1}, /* within 1e-10 relative */
    {"\\pi", "3.14159", 0},
    {"e^{i\\pi}", "-1", 1},
    {"2e", "e+e", 1},
    {"\\mathrm{e}", "e", 1},
    {"i^2", "-1", 1},
    {"3 + 4i", "4i+3", 1},
    {"3 + 4i", "3 - 4i", 0},
    /* functions */
    {"\\sin \\frac{\\pi}{6}", "\\frac12", 1},
    {"\\sin(30^\\circ)", "1/2", 1},
    {"\\frac{\\sqrt{3}}{2}", "\\cos 30^\\circ", 1},
    {"\\log_2 8", "3", 1},
    {"\\log_{2}(8)", "3", 1},
    {"\\ln e", "1", 1},
    {"\\exp(0)", "1", 1},
    {"\\ln 2", "\\log 2", 1},
    {"\\ln 2", "\\ln 3", 0},
    {"1", "\\sin^2 x + \\cos^2 x", 1},
    {"\\tan^2 y + 1", "\\sec^2 y", 1},
    {"\\arcsin 1", "\\pi/2", 1},
    {"\\sin^{-1}(1)", "\\frac{\\pi}{2}", 1},
    {"2 \\sin b \\cos a", "2\\cos(a)\\sin(b)", 1},
    {"\\sin 2x", "2\\sin x \\cos x", 1},
    {"|{-3}|", "3", 1},
    {"\\left| -3 \\right|", "3", 1},
    {"\\lfloor 2.5 \\rfloor", "2", 1},
    {"\\lceil 2.5 \\rceil", "3", 1},
    {"\\operatorname{sin}(0)", "0", 1},
    /* variables and polynomials (random points) */
    {"x^2+2x+1", "(x+1)^2", 1},
    {"x^2+2x+1", "(x+1)^3", 0},
    {"x+1", "1+x", 1},
    {"x", "y", 0},
    {"\\frac{a}{b}", "a/b", 1},
    {"a_1 + a_2", "a_2 + a_1", 1},
    {"a_{1}", "a_1", 1},
    {"a_1", "a_2", 0},
    {"\\alpha + \\beta", "\\beta+\\alpha", 1},
    {"\\theta", "\\Theta", 0},
    {"\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}", 1},
    {"2-2p", "2(1-p)", 1},
    /* \pm */
    {"1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", 1},
    {"1 \\pm \\sqrt{2}", "1-\\sqrt2, 1+\\sqrt2", 1},
    {"1 \\pm \\sqrt{2}", "1+\\sqrt2", 0},
    {"\\pm 3", "3, -3", 1},
    {"3 \\pm 2 \\sqrt{2}", "\\{3+2\\sqrt2, 3-2\\sqrt2\\}", 1},
    {"\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt5, 1-\\sqrt 5", 1},
    {"1 \\mp 2", "3, -1", 1},
    /* percent (dropped) and degrees (dropped outside trig) */
    {"50\\%", "50", 1},
    {"50\\%", "0.5", 0},
    {"28\\%", "28 \\%", 1},
    {"28", "28 percent", 1},
    {"\\frac{1}{4}\\%", "0.25", 1},
    {"90^\\circ", "90", 1},
    {"90^{\\circ}", "90", 1},
    {"45\\degree", "45", 1},
    {"90^\\circ", "\\frac{\\pi}{2}", 0},
    /* units and text */
    {"5", "5 \\text{ cm}", 1},
    {"15", "15\\mbox{ cm}^2", 1},
    {"\\frac{1}{2}", "\\frac{1}{2}\\text{ meters}", 1},
    {"\\frac{1}{2}", "\\frac{1}{2} \\textbf{meters}", 1},
    {"125", "125\\textnormal{ miles}", 1},
    {"5", "5 cm", 1},
    {"5", "\\$5", 1},
    {"12", "\\text{12}", 1},
    {"12", "\\mathbf{12}", 1},
    {"\\text{Evelyn}", "Evelyn", 1},
    {"\\text{Evelyn}", "\\textbf{Evelyn}", 1},
    {"\\text{Alice}", "\\text{Bob}", 0},
    {"\\text{yes}", "Yes", 1},
    {"\\text{no}", "NO", 1},
    {"\\text{(A)}", "A", 1},
    {"5", "\\textbf{(C) } 5", 1},
    /* sizing, spacing, delimiters */
    {"\\frac{1}{3}", "\\left( \\frac{1}{3} \\right)", 1},
    {"\\frac{1}{3}", "\\bigl( \\frac{1}{3} \\bigr)", 1},
    {"1000", "1\\!000", 1},
    {"7", "$7$", 1},
    {"7", "\\(7\\)", 1},
    {"7", "\\[ 7 \\]", 1},
    {"7", "\\displaystyle 7", 1},
    {"7", "{7}", 1},
    {"7", "{{7}}", 1},
    {"7", "{7}{7}", 0},
    {"\\frac{1}{2}", "{\\frac{1}{2}}", 1},
    {"7", "~7~", 1},
    {"7", "\\; 7 \\,", 1},
    {"-7", "\\left.-7\\right.", 1},
    /* thousands separators (non-list golds only) */
    {"1000000", "1,000,000", 1},
    {"1000", "1{,}000", 1},
    {"1000", "1\\,000", 1},
    {"1000", "1 000", 1},
    {"-1000", "-1,000", 1},
    {"1000.5", "1,000.5", 1},
    {"1000", "10,00", 0},
    {"1000000", "1000,000", 0},
    {"12", "1,2", 0},
    {"1, 2", "1,2", 1},
    {"1, 2", "12", 0},
    /* x = ... and x \in ... */
    {"5", "x = 5", 1},
    {"x = 5", "5", 1},
    {"k=3", "3", 1},
    {"11", "x = 5+5+1 = 11", 1},
    {"x^2", "f(x) = x^2", 1},
    {"2x+1", "y = 2x+1", 1},
    {"[2, 5)", "x \\in [2, 5)", 1},
    {"\\frac13", "\\frac{1}{3} \\approx 0.333", 1},
    /* tuples (ordered) */
    {"(1,2)", "(2,1)", 0},
    {"(1,2)", "(1, 2)", 1},
    {"(6,31,-1)", "(6, 31, -1)", 1},
    {"(1,2,3)", "(1,2)", 0},
    {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", 1},
    {"(1, \\frac{9}{2})", "(1, 4.5)", 1},
    {"(1,2)", "\\langle 1,2 \\rangle", 1},
    {"(1,2)", "(x, y) = (1, 2)", 1},
    {"(1,2)", "1, 2", 0},
    {"(1,2)", "\\{1, 2\\}", 0},
    /* sets (unordered) */
    {"\\{1,2\\}", "\\{2,1\\}", 1},
    {"\\{1,2\\}", "\\{1,2,3\\}", 0},
    {"\\{1,2\\}", "\\{1, 1, 2\\}", 1},
    {"\\{1,2\\}", "\\left\\{ 2, 1 \\right\\}", 1},
    {"\\{5\\}", "5", 1},
    {"\\emptyset", "\\{\\}", 1},
    {"\\emptyset", "\\{0\\}", 0},
    {"\\{(1,2), (3,4)\\}", "\\{(3,4), (1,2)\\}", 1},
    {"\\{(1,2), (3,4)\\}", "\\{(4,3), (1,2)\\}", 0},
    /* intervals */
    {"[0,1)", "[0,1]", 0},
    {"[0,1)", "[0,1)", 1},
    {"[0,1)", "(0,1)", 0},
    {"(0,1)", "(0, 1)", 1},
    {"(-\\infty, 3]", "(-\\infty,3]", 1},
    {"(-\\infty, 3]", "(\\infty,3]", 0},
    {"(0, \\infty)", "(0, +\\infty)", 1},
    {"(0, \\infty)", "(0, \\infty]", 1},
    {"[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0)", "[-1, -\\tfrac12) \\cup (-\\tfrac12, 0)", 1},
    {"[-1, 0) \\cup (1, 2]", "(1, 2] \\cup [-1, 0)", 1},
    {"[-1, 0) \\cup (1, 2]", "[-1, 0) \\cup (1, 2)", 0},
    {"\\infty", "+\\infty", 1},
    {"-\\infty", "\\infty", 0},
    /* top-level lists (unordered, "all possible values") */
    {"2, 3", "3, 2", 1},
    {"2, 3", "2 \\text{ and } 3", 1},
    {"2, 3", "x = 2 \\text{ or } x = 3", 1},
    {"2, 3", "2, 3, 4", 0},
    {"2, 3", "2", 0},
    {"-2,1", "1, -2", 1},
    {"2, 3", "\\{2, 3\\}", 1},
    {"2, 3", "2; 3", 1},
    {"1, 2", "1, 2.", 1},
    /* unicode symbols */
    {"\\pi", "\xcf\x80", 1},
    {"\\sqrt 2", "\xe2\x88\x9a" "2", 1},
    {"-3", "\xe2\x88\x92" "3", 1},
    {"12", "3\xc2\xb7" "4", 1},
    {"45", "45\xc2\xb0", 1},
    /* undefined values and other non-answers */
    {"5", "\\frac{1}{0}", 0},
    {"x", "\\frac{x}{0}", 0},
    {"0", "0\\cdot\\infty", 0},
    /* review-001..: degrees never vanish inside a trig function, not even on the quick path */
    {"\\sin 30^\\circ", "\\sin 30", 0},
    {"\\cos 60^{\\circ}", "\\cos 60", 0},
    {"2\\sin 10^\\circ", "2\\sin 10", 0},
    {"\\sin 30^\\circ", "\\sin 30^{\\circ}", 1},
    {"\\sin 30^\\circ", "\\sin\\frac{\\pi}{6}", 1},
    {"74^\\circ", "74", 1},
    {"74^{\\circ}", "74", 1},
    /* two numbers in a row are never a product; digits glue only as thousands grouping */
    {"6", "2 3", 0},
    {"6", "2\\,3", 0},
    {"23", "2\\,3", 0},
    {"23", "2 3", 0},
    {"109", "10 9", 0},
    {"90", "10 9", 0},
    {"\\frac{3}{2}", "\\frac123", 0},
    {"1000000", "1 000 000", 1},
    {"1000000", "1\\,000\\,000", 1},
    {"1000", "1\\;000", 1},
    {"1000", "1\\ 000", 1},
    {"(1000, 2)", "(1 000, 2)", 1},
    {"6", "(2)(3)", 1},
    {"\\frac{3}{2}", "\\frac{1}{2}3", 1},
    /* scale words multiply; meaning-changing words are never dropped as units */
    {"5", "5\\text{ million}", 0},
    {"5000000", "5\\text{ million}", 1},
    {"5000000", "5 million", 1},
    {"5000000", "5\\text{ Million dollars}", 1},
    {"2500", "2.5\\text{ thousand}", 1},
    {"300", "3 \\text{ hundreds}", 1},
    {"24", "2\\text{ dozen}", 1},
    {"3000000000", "3\\mathrm{billion}", 1},
    {"5", "\\text{not } 5", 0},
    {"5", "5 \\text{ or more}", 0},
    {"5", "\\text{at least } 5", 0},
    {"3", "\\text{all reals except } 3", 0},
    {"5", "5\\text{ none}", 0},
    {"\\text{no solution}", "\\text{No solution}", 1},
    {"\\text{none}", "None", 1},
    {"\\text{Hundred Acre Wood}", "\\text{hundred acre wood}", 1},
    /* tiny values: no absolute tolerance, but rounding noise (sin pi) still cancels */
    {"e^{-30}", "0", 0},
    {"e^{-40}", "0", 0},
    {"\\pi\\cdot10^{-13}", "0", 0},
    {"\\sqrt2\\cdot10^{-13}", "\\sqrt3\\cdot10^{-13}", 0},
    {"\\frac{1}{\\pi^{30}}", "\\frac{1}{e^{30}}", 0},
    {"10^{-20}\\pi", "0", 0},
    {"\\sin\\pi", "0", 1},
    {"\\cos\\frac{\\pi}{2}", "0", 1},
    {"\\tan\\pi", "0", 1},
    {"e^{i\\pi}+1", "0", 1},
    {"\\sin^2 x+\\cos^2 x-1", "0", 1},
    {"(\\sqrt2+\\sqrt3)^2-5-2\\sqrt6", "0", 1},
    {"\\arcsin 1", "\\frac{\\pi}{2}", 1},
    {"\\pi e^{-30}", "\\pi e^{-30}(1+10^{-9})", 0},
    {"\\pi e^{-30}", "\\frac{\\pi}{e^{30}}", 1},
    /* a gold with thousands grouping stays a number when the answer is a list */
    {"1,000", "1, 0", 0},
    {"12,345", "345, 12", 0},
    {"12,345", "12, 345", 0},
    {"12, 345", "12345", 0}, /* a list gold is never read as one number */
    {"1, 0", "1,0", 1},
    {"1,000", "1\\,000", 1},
    /* \\log without a base is the natural logarithm */
    {"\\log 100", "2\\ln 10", 1},
    {"\\log 100", "2", 0},
    {"\\lg 100", "2", 1},
};

static void test_equiv(void **state)
{
    (void)state;
    failures = 0;
    char reason[160];
    for (size_t i = 0; i < sizeof(eq_cases) / sizeof(eq_cases[0]); i++) {
        const struct eq_case *ec = &eq_cases[i];
        int got = grade_equiv(ec->gold, ec->pred, reason, sizeof(reason));
        if (got != ec->equal)
            CASE_FAIL("grade_equiv(\"%s\", \"%s\") = %d (%s), want %d", ec->gold, ec->pred, got, reason, ec->equal);
        if (got && reason[0] != '\0')
            CASE_FAIL("grade_equiv(\"%s\", \"%s\"): a reason for a correct answer: %s", ec->gold, ec->pred, reason);
        if (!got && reason[0] == '\0')
            CASE_FAIL("grade_equiv(\"%s\", \"%s\"): no reason", ec->gold, ec->pred);
        /* symmetric */
        if (grade_equiv(ec->pred, ec->gold, NULL, 0) != got)
            CASE_FAIL("grade_equiv(\"%s\", \"%s\") is not symmetric", ec->pred, ec->gold);
        /* reflexive */
        if (!grade_equiv(ec->pred, ec->pred, NULL, 0))
            CASE_FAIL("grade_equiv(\"%s\", itself) = 0", ec->pred);
    }
    assert_int_equal(grade_equiv(NULL, "7", NULL, 0), 0);
    assert_int_equal(grade_equiv("7", NULL, NULL, 0), 0);
    assert_int_equal(grade_equiv(NULL, NULL, NULL, 0), 0);
    assert_int_equal(grade_equiv("", "", NULL, 0), 0);
    assert_int_equal(grade_equiv("$ $", "", NULL, 0), 0);
    assert_int_equal(failures, 0);
}

/* ===== statuses and reasons ===== */

struct status_case {
    const char *gold, *pred;
    enum grade_status status;
    const char *reason; /* a prefix of the reason; "" for correct */
};

static const struct status_case status_cases[] = {
    {"5", "5", GRADE_CORRECT, ""},
    {"5", "6", GRADE_WRONG, "not equivalent"},
    {"5", NULL, GRADE_NO_ANSWER, "no answer"},
    {"5", "  $ $ ", GRADE_NO_ANSWER, "no answer"},
    {"5", "\\frac{1}{", GRADE_UNPARSEABLE, "unparseable: unbalanced { at 8"},
    {"5", "1}", GRADE_UNPARSEABLE, "unparseable: unbalanced } at 1"},
    {"5", "\\foo{3}", GRADE_UNPARSEABLE, "unparseable: unknown command \\foo at 0"},
    {"5", "3 +", GRADE_UNPARSEABLE, "unparseable: missing operand"},
    {"5", "(1, 2", GRADE_UNPARSEABLE, "unparseable: expected ) or ]"},
    {"5", "x \\le 3", GRADE_UNPARSEABLE, "unparseable: unknown command \\le"},
    {"5", "@", GRADE_UNPARSEABLE, "unparseable: unexpected '@' at 0"},
    {"5", "\\begin{pmatrix}1\\end{pmatrix}", GRADE_UNPARSEABLE, "unparseable: unknown command \\begin"},
    {"5", "29_8", GRADE_UNPARSEABLE, "unparseable: digit out of range for base 8"},
    {"5", "(1,2)+1", GRADE_UNPARSEABLE, "unparseable: a tuple, set or interval inside arithmetic"},
    {"\\frac{1}{", "5", GRADE_BAD_GOLD, "bad gold: unbalanced { at 8"},
    {"x \\le 3", "x \\le 3", GRADE_CORRECT, ""}, /* identical after normalisation */
    {"x \\le 3", "x\\le3", GRADE_CORRECT, ""},
    {"x \\le 3", "x \\le 4", GRADE_BAD_GOLD, "bad gold:"},
    {"(1,2)", "(2,1)", GRADE_WRONG, "not equivalent"},
    {"(1,2)", "(1,2,3)", GRADE_WRONG, "not equivalent (tuples of 2 and 3 elements)"},
    {"(1,2)", "5", GRADE_WRONG, "not equivalent (tuple vs number)"},
    {"[0,1)", "[0,1]", GRADE_WRONG, "not equivalent (open vs closed interval end)"},
    {"2, 3", "2, 3, 4", GRADE_WRONG, "not equivalent (2 vs 3 elements)"},
    {"5", "10^{10^{10}}", GRADE_UNPARSEABLE, "undecided: too large to compare"},
    {"5", "100000!", GRADE_UNPARSEABLE, "undecided: too large to compare"},
    {"5", "e^{10^{10}}", GRADE_UNPARSEABLE, "undecided: too large to compare"},
    {"5", "\\frac{1}{\\sin\\pi}", GRADE_UNPARSEABLE, "undecided: not decidable numerically"},
    {"(1, 5)", "(2, 10^{10^{10}})", GRADE_WRONG, "not equivalent"}, /* a definite difference decides */
    {"6", "2 3", GRADE_UNPARSEABLE, "unparseable: two numbers in a row at 2"},
    {"23", "2\\,3", GRADE_UNPARSEABLE, "unparseable: two numbers in a row at 3"},
    {"5", "\\text{not } 5", GRADE_UNPARSEABLE, "unparseable: the word 'not' at 6 changes the meaning"},
    {"1,000", "1, 0", GRADE_WRONG, "not equivalent (number vs set)"},
    {"5", "\\frac{1}{0}", GRADE_WRONG, "undefined"},
    {"\\text{Alice}", "\\text{Bob}", GRADE_WRONG, "not equivalent (text answer)"},
};

static void test_status(void **state)
{
    (void)state;
    failures = 0;
    char reason[160];
    for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
        const struct status_case *sc = &status_cases[i];
        enum grade_status st = grade_compare(sc->gold, sc->pred, reason, sizeof(reason));
        if (st != sc->status)
            CASE_FAIL("grade_compare(\"%s\", \"%s\") = %s (%s), want %s", sc->gold, sc->pred ? sc->pred : "(null)",
                     grade_status_str(st), reason, grade_status_str(sc->status));
        if (strncmp(reason, sc->reason, strlen(sc->reason)) != 0 || (sc->reason[0] == '\0' && reason[0] != '\0'))
            CASE_FAIL("grade_compare(\"%s\", \"%s\"): reason \"%s\", want \"%s...\"", sc->gold,
                     sc->pred ? sc->pred : "(null)", reason, sc->reason);
        assert_int_equal(grade_equiv(sc->gold, sc->pred, NULL, 0), st == GRADE_CORRECT);
    }
    assert_string_equal(grade_status_str(GRADE_CORRECT), "correct");
    assert_string_equal(grade_status_str(GRADE_WRONG), "wrong");
    assert_string_equal(grade_status_str(GRADE_NO_ANSWER), "no_answer");
    assert_string_equal(grade_status_str(GRADE_UNPARSEABLE), "unparseable");
    assert_string_equal(grade_status_str(GRADE_BAD_GOLD), "bad_gold");
    assert_string_equal(grade_status_str((enum grade_status)99), "unknown");
    /* a reason buffer of any size, even 1 byte, stays NUL-terminated */
    char tiny[4];
    assert_int_equal(grade_equiv("5", "6", tiny, sizeof(tiny)), 0);
    assert_int_equal(strlen(tiny), 3);
    assert_int_equal(grade_equiv("5", "6", tiny, 1), 0);
    assert_int_equal(tiny[0], '\0');
    assert_int_equal(failures, 0);
}

/* grade_check: extraction and comparison as the runner uses them */
struct check_case {
    const char *gold, *response;
    const char *after;
    int strict;
    enum grade_status status;
    const char *extracted; /* NULL: none */
};

static const struct check_case check_cases[] = {
    {"1000", "<think>maybe \\boxed{12}</think>The total is $\\boxed{1{,}000}$.", "</think>", 1, GRADE_CORRECT,
     "1{,}000"},
    {"12", "<think>maybe \\boxed{12}</think>The total is $\\boxed{1{,}000}$.", "</think>", 1, GRADE_WRONG, "1{,}000"},
    {"\\frac{3}{4}", "Therefore the answer is \\boxed{\\dfrac{3}{4}}.", NULL, 1, GRADE_CORRECT, "\\dfrac{3}{4}"},
    {"\\frac{3}{4}", "Therefore the answer is 3/4.", NULL, 0, GRADE_CORRECT, "3/4"},
    {"\\frac{3}{4}", "Therefore the answer is 3/4.", NULL, 1, GRADE_NO_ANSWER, NULL},
    {"5", "<think>\\boxed{5}", "</think>", 0, GRADE_NO_ANSWER, NULL},
    {"-2, 1", "the roots are \\boxed{-2} and \\boxed{1}", NULL, 1, GRADE_CORRECT, "-2, 1"},
    {"-2, 1", "the roots are \\boxed{-2,1}.", NULL, 1, GRADE_CORRECT, "-2,1"},
    {"-2, 1", "\\boxed{1}\nso \\boxed{-2}", NULL, 1, GRADE_WRONG, "-2"},
    {"1", "the roots are \\boxed{-2} and \\boxed{1}", NULL, 1, GRADE_CORRECT, "1"},
    {"5", "\\boxed{\\frac{1}{}", NULL, 1, GRADE_NO_ANSWER, NULL},
    {"5", "\\boxed{\\foo}", NULL, 1, GRADE_UNPARSEABLE, "\\foo"},
    {"\\frac{1}{", "\\boxed{5}", NULL, 1, GRADE_BAD_GOLD, "5"},
    {"189", "Thus the area is \\(\\boxed{189}\\) square centimeters.", NULL, 1, GRADE_CORRECT, "189"},
};

static void test_check(void **state)
{
    (void)state;
    failures = 0;
    for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
        const struct check_case *cc = &check_cases[i];
        struct grade_opts o = {.after = cc->after, .strict = cc->strict};
        struct grade_result r;
        grade_check(cc->gold, cc->response, &o, &r);
        if (r.status != cc->status)
            CASE_FAIL("case %zu: status %s (%s), want %s", i, grade_status_str(r.status), r.reason,
                     grade_status_str(cc->status));
        assert_int_equal(r.correct, r.status == GRADE_CORRECT);
        assert_true(memchr(r.reason, '\0', sizeof(r.reason)) != NULL);
        assert_int_equal(r.correct, r.reason[0] == '\0');
        if (cc->extracted == NULL)
            assert_null(r.extracted);
        else {
            assert_non_null(r.extracted);
            assert_string_equal(r.extracted, cc->extracted);
        }
        grade_result_free(&r);
        assert_null(r.extracted);
        grade_result_free(&r); /* twice is harmless */
    }
    assert_string_equal(GRADE_NAME, "rsa-math");
    assert_string_equal(GRADE_VERSION, "3");
    assert_int_equal(failures, 0);
}

/* ===== the parser directly ===== */

static void test_latex_api(void **state)
{
    (void)state;
    char err[128];
    struct latex_opts lo = {.thousands = 1};
    struct latex_expr *a = latex_parse("\\frac{1}{2}", &lo, err, sizeof(err));
    struct latex_expr *b = latex_parse("0.5", &lo, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(latex_is_text(a), 0);
    assert_int_equal(latex_equiv(a, b, err, sizeof(err)), 1);
    assert_int_equal(latex_equiv(a, NULL, err, sizeof(err)), 0);
    latex_free(a);
    latex_free(b);
    latex_free(NULL);
    a = latex_parse("\\text{Alice}", &lo, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(latex_is_text(a), 1);
    latex_free(a);
    assert_null(latex_parse(NULL, &lo, err, sizeof(err)));
    assert_null(latex_parse("", &lo, err, sizeof(err)));
    assert_null(latex_parse("1 = ", &lo, err, sizeof(err)));
    assert_null(latex_parse("()", &lo, err, sizeof(err)));
    assert_null(latex_parse("{}", &lo, err, sizeof(err)));
    assert_null(latex_parse("\\frac{1}", &lo, err, sizeof(err)));
    assert_null(latex_parse("\\sqrt", &lo, err, sizeof(err)));
    assert_null(latex_parse("2^", &lo, err, sizeof(err)));
    assert_null(latex_parse("|3", &lo, err, sizeof(err)));
    assert_null(latex_parse("[1)", &lo, err, sizeof(err)));
    assert_null(latex_parse("\\", &lo, err, sizeof(err)));
    assert_null(latex_parse("\xff", &lo, err, sizeof(err)));
    /* the thousands option */
    lo.thousands = 0;
    a = latex_parse("1,000", &lo, err, sizeof(err));
    lo.thousands = 1;
    b = latex_parse("1, 0", &lo, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(latex_equiv(a, b, err, sizeof(err)), 1); /* both the list {1, 0} */
    latex_free(a);
    latex_free(b);
    /* a cap stops the comparison: -1 with the cap as the reason */
    a = latex_parse("10^{10^{10}}", &lo, err, sizeof(err));
    b = latex_parse("7", &lo, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(latex_equiv(a, b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too large"));
    assert_int_equal(latex_equiv(a, a, err, sizeof(err)), 1);
    assert_int_equal(latex_equiv(b, b, err, sizeof(err)), 1);
    latex_free(a);
    latex_free(b);
    /* the same string in both thousands modes: 1,000 is a number or the list 1, 0 */
    a = latex_parse("1,000", &lo, err, sizeof(err));
    lo.thousands = 0;
    b = latex_parse("1,000", &lo, err, sizeof(err));
    lo.thousands = 1;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(latex_equiv(a, b, err, sizeof(err)), 0);
    latex_free(a);
    latex_free(b);
    /* parser errors of the review fixes */
    assert_null(latex_parse("2 3", &lo, err, sizeof(err)));
    assert_non_null(strstr(err, "two numbers in a row"));
    assert_null(latex_parse("2^{\\text{million}}", &lo, err, sizeof(err)));
    assert_null(latex_parse("5\\text{ except }", &lo, err, sizeof(err)));
    assert_non_null(strstr(err, "except"));
    char *k = latex_text_key("\\text{Hello, World!} 42");
    assert_string_equal(k, "helloworld42");
    free(k);
    assert_null(latex_text_key(NULL));
}

/* ===== bounds: every call returns quickly on hostile input ===== */

static char *repeat(const char *unit, size_t times, const char *prefix, const char *suffix)
{
    size_t ul = strlen(unit), pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + ul * times + sl + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < times; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * times, suffix, sl + 1);
    return s;
}

/* list_of: "f(2), f(3), ..., f(n+1)" (order 0), reversed (order 1), or reversed with
   f(2) replaced by f(n+2) (order 2) */
static char *list_of(const char *f, int n, int order)
{
    size_t cap = (size_t)n * 32 + 1, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    for (int k = 0; k < n; k++) {
        int v = order == 0 ? k + 2 : n + 1 - k;
        if (order == 2 && v == 2)
            v = n + 2;
        if (k > 0)
            len += (size_t)snprintf(s + len, cap - len, ", ");
        len += (size_t)snprintf(s + len, cap - len, f, v);
        assert_true(len < cap - 1);
    }
    return s;
}

static void test_bounds(void **state)
{
    (void)state;
    char reason[160];
    double t0 = now_s();
    /* 100k nested braces, as an answer and inside a box */
    char *nested = repeat("{", 100000, "", "");
    char *closed = malloc(200001);
    assert_non_null(closed);
    memset(closed, '{', 100000);
    memset(closed + 100000, '}', 100000);
    closed[200000] = '\0';
    assert_int_equal(grade_compare("5", nested, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    assert_non_null(strstr(reason, "too long"));
    assert_int_equal(grade_compare("5", closed + 70000, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    char *box = repeat("\\boxed{", 100000, "", "5");
    char *got = grade_extract(box, NULL, 0);
    assert_null(got); /* never closed */
    free(box);
    box = repeat("\\boxed{", 20000, "", "5");
    char *box2 = malloc(strlen(box) + 20001);
    assert_non_null(box2);
    strcpy(box2, box);
    memset(box2 + strlen(box), '}', 20000);
    box2[strlen(box) + 20000] = '\0';
    got = grade_extract(box2, NULL, 1);
    assert_non_null(got);
    assert_string_equal(got, "5");
    free(got);
    free(box);
    free(box2);
    /* depth: 30k nested groups fit the length cap but not the depth cap */
    char *deep = malloc(60001);
    assert_non_null(deep);
    memset(deep, '(', 30000);
    memset(deep + 30000, ')', 30000);
    deep[29999] = '1';
    deep[60000] = '\0';
    assert_int_equal(grade_compare("1", deep, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    assert_non_null(strstr(reason, "too deep"));
    free(deep);
    char *bdeep = repeat("{", 1000, "", "");
    assert_int_equal(grade_compare("1", bdeep, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(bdeep);
    char *minus = repeat("-", 30000, "", "1");
    assert_int_equal(grade_compare("1", minus, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(minus);
    char *fact = repeat("!", 30000, "3", "");
    assert_int_equal(grade_compare("1", fact, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(fact);
    char *pow = repeat("^2", 20000, "2", "");
    assert_int_equal(grade_compare("1", pow, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(pow);
    /* redundant braces around the whole answer, at any depth */
    char *wrap = repeat("{", 5000, "", "7");
    char *wrap2 = repeat("}", 5000, wrap, " ");
    assert_int_equal(grade_compare("7", wrap2, reason, sizeof(reason)), GRADE_CORRECT);
    wrap2[strlen(wrap2) - 2] = ' ';
    assert_int_equal(grade_compare("7", wrap2, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(wrap);
    free(wrap2);
    /* long flat expressions are fine */
    char *sum = repeat("+1", 20000, "0", "");
    assert_int_equal(grade_compare("20000", sum, reason, sizeof(reason)), GRADE_CORRECT);
    free(sum);
    char *prod = repeat("\\cdot x", 5000, "1", "");
    char *prod2 = repeat("x ", 5000, "", "");
    assert_int_equal(grade_compare(prod2, prod, reason, sizeof(reason)), GRADE_CORRECT);
    free(prod);
    free(prod2);
    char *list = repeat("1,", 200, "", "2");
    assert_int_equal(grade_compare("1, 2", list, reason, sizeof(reason)), GRADE_CORRECT);
    free(list);
    list = repeat("1,", 10000, "", "2");
    assert_int_equal(grade_compare("1, 2", list, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    assert_non_null(strstr(reason, "undecided: too many elements"));
    free(list);
    char *list2 = repeat("x,", 10000, "", "2");
    assert_int_equal(grade_compare("1, 2", list2, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    free(list2);
    /* 256-element lists, reordered: exact members are matched by sorting, others pairwise */
    const char *fmt[] = {"%d", "\\sqrt{%d}", "(%d, 1)", "x^{%d}"};
    for (size_t f = 0; f < sizeof(fmt) / sizeof(fmt[0]); f++)
        for (int changed = 0; changed < 2; changed++) {
            char *la = list_of(fmt[f], 256, 0), *lb = list_of(fmt[f], 256, changed ? 2 : 1);
            enum grade_status st = grade_compare(la, lb, reason, sizeof(reason));
            if (st != (changed ? GRADE_WRONG : GRADE_CORRECT))
                fail_msg("256 %s \"%s\": %s (%s)", changed ? "changed" : "reordered", fmt[f], grade_status_str(st),
                         reason);
            free(la);
            free(lb);
        }
    /* powers and postfix operators count nesting, not totals: 300 flat terms are fine */
    char *squares = repeat("+x^2!", 300, "x^2!", "");
    assert_int_equal(grade_compare("301 (x^2)!", squares, reason, sizeof(reason)), GRADE_CORRECT);
    free(squares);
    char *tower = repeat("^2", 250, "2", "");
    assert_int_equal(grade_compare("1", tower, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    assert_non_null(strstr(reason, "too deep"));
    free(tower);
    /* huge numbers */
    const char *big[] = {"10^{10^{10}}", "2^{2^{2^{2^{2^{2}}}}}", "100000!", "\\binom{10^9}{5 \\cdot 10^8}",
                         "9^{9^{9}}", "(10^{100000})!", "10^{-10^{10}}", "0.5^{10^{10}}", "\\sqrt{10^{10^{10}}}",
                         "\\sqrt{2}^{10^{10}}", "e^{10^{10}}", "20000!!"};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        enum grade_status st = grade_compare("5", big[i], reason, sizeof(reason));
        if (st != GRADE_UNPARSEABLE || strncmp(reason, "undecided: too large", 20) != 0)
            fail_msg("\"%s\": %s (%s)", big[i], grade_status_str(st), reason);
    }
    char *digits = repeat("9", 60000, "", "");
    assert_int_equal(grade_compare("5", digits, reason, sizeof(reason)), GRADE_UNPARSEABLE);
    assert_int_equal(grade_compare(digits, digits, reason, sizeof(reason)), GRADE_CORRECT);
    free(digits);
    /* a 1 MB response */
    char *resp = repeat("blah 12 \\{ x ", 80000, "", " so \\boxed{42}");
    struct grade_opts o = {.after = NULL, .strict = 0};
    struct grade_result r;
    grade_check("42", resp, &o, &r);
    assert_int_equal(r.status, GRADE_CORRECT);
    grade_result_free(&r);
    o.after = "</think>";
    grade_check("42", resp, &o, &r);
    assert_int_equal(r.status, GRADE_NO_ANSWER);
    grade_result_free(&r);
    free(resp);
    /* a 1 MB box: extracted, then rejected as too long */
    resp = repeat("1+", 500000, "\\boxed{", "1}");
    o.after = NULL;
    grade_check("1000001", resp, &o, &r);
    assert_int_equal(r.status, GRADE_UNPARSEABLE);
    assert_non_null(strstr(r.reason, "too long"));
    grade_result_free(&r);
    free(resp);
    /* many unbalanced boxes */
    resp = repeat("\\boxed{", 100000, "\\boxed{7} ", "");
    got = grade_extract(resp, NULL, 0);
    assert_string_equal(got, "7");
    free(got);
    free(resp);
    /* many markers */
    resp = repeat("</think>", 100000, "", "\\boxed{3}");
    o.after = "</think>";
    got = grade_extract(resp, &o, 0);
    assert_string_equal(got, "3");
    free(got);
    free(resp);
    free(nested);
    free(closed);
    /* many \text wrappers and spacing commands (normalisation is linear) */
    char *texts = repeat("\\text{a}\\,\\left(", 4000, "", "");
    assert_int_not_equal(grade_compare("5", texts, reason, sizeof(reason)), GRADE_CORRECT);
    free(texts);
    double dt = now_s() - t0;
    if (dt > 20.0)
        fail_msg("bounds test took %.1f s", dt);
}

/* typical calls are fast enough to cluster answers (O(n^2) calls) */
static void test_speed(void **state)
{
    (void)state;
    const char *pairs[][2] = {{"33", "033"}, {"\\frac{1}{2}", "0.5"}, {"2\\sqrt{2}", "\\sqrt{8}"},
                              {"x^2+2x+1", "(x+1)^2"}, {"(1,2)", "(2,1)"}, {"204", "205"}};
    double t0 = now_s();
    int n = 0;
    for (int rep = 0; rep < 500; rep++)
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++, n++)
            (void)grade_equiv(pairs[i][0], pairs[i][1], NULL, 0);
    double us = (now_s() - t0) / n * 1e6;
    printf("grade_equiv: %.2f us per call\n", us);
    if (us > 500.0) /* generous: sanitizer builds are slow */
        fail_msg("grade_equiv takes %.1f us per call", us);
}

/* the transitional string form */
static void test_normalize(void **state)
{
    (void)state;
    failures = 0;
    const char *cases[][2] = {
        {"025", "25"}, {"1{,}000", "1000"}, {"1,000", "1000"}, {"1,2", "1,2"}, {"-0", "0"}, {"+007", "7"},
        {"$\\dfrac{1}{2}$.", "\\frac{1}{2}"}, {"\\left[ 1,2 \\right]", "[1,2]"}, {"12\\text{ cm}", "12cm"},
        {"\\text{a\\text{b}}", "ab"}, {"7...", "7"}, {"", ""},
        /* meaning is kept: degrees inside trig, a space between digits or after a comma */
        {"74^\\circ", "74"}, {"\\sin 30^\\circ", "\\sin30^\\circ"}, {"2\\cos 60^{\\circ}", "2\\cos60^{\\circ}"},
        {"2 3", "2 3"}, {"2\\,3", "2 3"}, {"2 \\, 3", "2 3"}, {"1\\,000", "1 000"}, {"1, 0", "1, 0"},
        {"12, 345", "12, 345"}, {"x + 1", "x+1"}, {"\\left[ 1, 2 \\right]", "[1, 2]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = grade_normalize(cases[i][0]);
        assert_non_null(got);
        if (strcmp(got, cases[i][1]) != 0)
            CASE_FAIL("grade_normalize(\"%s\") = \"%s\", want \"%s\"", cases[i][0], got, cases[i][1]);
        char *again = grade_normalize(got);
        assert_string_equal(again, got);
        free(again);
        free(got);
    }
    assert_null(grade_normalize(NULL));
    assert_int_equal(failures, 0);
}

/* deterministic: the same verdicts and reasons every time */
static void test_deterministic(void **state)
{
    (void)state;
    char r1[160], r2[160];
    for (size_t i = 0; i < sizeof(eq_cases) / sizeof(eq_cases[0]); i++) {
        int a = grade_equiv(eq_cases[i].gold, eq_cases[i].pred, r1, sizeof(r1));
        int b = grade_equiv(eq_cases[i].gold, eq_cases[i].pred, r2, sizeof(r2));
        assert_int_equal(a, b);
        assert_string_equal(r1, r2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract),    cmocka_unit_test(test_gold_is_list), cmocka_unit_test(test_equiv),
        cmocka_unit_test(test_status),     cmocka_unit_test(test_check),        cmocka_unit_test(test_latex_api),
        cmocka_unit_test(test_bounds),     cmocka_unit_test(test_speed),        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
