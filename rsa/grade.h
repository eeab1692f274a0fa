/*
 * grade.h: answer checking (grader "rsa-math").
 *
 * Extraction takes the content of the last \boxed{...} / \fbox{...} with brace
 * matching (nested braces, inner boxes, `\boxed 5`), optionally only after a marker
 * such as "</think>". When the gold answer is a list (a top-level comma), all boxes of
 * the last line that holds a box are joined with ", ". With no box and strict = 0 the
 * documented fallback is the last number in the text.
 *
 * Equivalence parses both sides as a LaTeX-math subset (integers of any size, decimals,
 * \frac/\dfrac/\tfrac, \sqrt[n]{}, powers, \cdot/\times, implicit products, factorials,
 * \binom, \pi, e, i, trig/log/exp, \pm, percent, degrees, \text{} units, \left/\right,
 * thousands separators, `x = ...`, tuples, sets, intervals, lists). It is exact (GMP
 * rationals) when both sides are rational, and otherwise a seeded multi-point numeric
 * test with a relative tolerance. Unparseable input is "incorrect, unparseable" with a
 * reason; sizes, exponents and recursion depth are capped so every call is bounded in
 * time and memory.
 */
#ifndef RSA_GRADE_H
#define RSA_GRADE_H

#include <stddef.h>

#define GRADE_NAME "rsa-math"
#define GRADE_VERSION "2"

struct grade_opts {
    const char *after;   /* only text after the last occurrence of this marker; NULL = whole text.
                            When the marker is absent there is no answer. */
    int strict;          /* 1: no fallback when no box is found */
};

enum grade_status {
    GRADE_CORRECT = 0,
    GRADE_WRONG = 1,         /* parsed, not equivalent */
    GRADE_NO_ANSWER = 2,     /* nothing extracted */
    GRADE_UNPARSEABLE = 3,   /* the extracted answer could not be parsed */
    GRADE_BAD_GOLD = 4,      /* the gold answer could not be parsed */
};

struct grade_result {
    char *extracted;         /* malloc'd answer as extracted, NULL when none */
    int correct;             /* 1 iff status == GRADE_CORRECT */
    enum grade_status status;
    char reason[160];        /* one line; "" when correct (e.g. "unparseable: unbalanced { at 12") */
};

/* grade_extract: malloc'd answer extracted from text, or NULL when there is none.
   list: 1 to join all boxes of the last line holding a box (list answers). */
char *grade_extract(const char *text, const struct grade_opts *o, int list);

/* grade_gold_is_list: 1 when the gold answer is a list (top-level comma outside braces/brackets). */
int grade_gold_is_list(const char *gold);

/* grade_equiv: 1 when answer `pred` is equivalent to `gold` (both already extracted);
   0 otherwise, with a one-line reason in reason[reasonlen] when non-NULL. NULL-safe (0).
   Deterministic: any random evaluation points come from a fixed seed. */
int grade_equiv(const char *gold, const char *pred, char *reason, size_t reasonlen);

/* grade_check: extract from response (using gold to decide list extraction) and compare. */
void grade_check(const char *gold, const char *response, const struct grade_opts *o, struct grade_result *r);

/* grade_result_free: frees r->extracted; r stays valid (extracted = NULL). */
void grade_result_free(struct grade_result *r);

const char *grade_status_str(enum grade_status s);

/* Transitional (removed when report.c clusters with grade_equiv): canonical string form. */
char *grade_normalize(const char *answer);

#endif
