/*
 * grade.h: answer checking (grader "rsa-math"). Extraction lives here (grade.c), the
 * LaTeX-math parser and the equivalence test in latex.h/latex.c.
 *
 * Extraction (grade_extract):
 *   - Only the text after the LAST occurrence of opts->after counts; when the marker is
 *     absent there is no answer at all (no box, no fallback).
 *   - Boxes are \boxed{...} and \fbox{...} (white space before { allowed) with brace
 *     matching (escaped \{ \} do not count), and `\boxed 5` (one token up to white space
 *     or $). Found in one linear pass, so 1 MB texts and 100k nested braces are cheap.
 *   - The answer is the content of the last valid box that is not inside another valid
 *     box; inner box wrappers are removed (\boxed{\boxed{5}} -> 5, \boxed{x=\boxed{5}} ->
 *     x=5); content is trimmed. Unclosed or empty boxes are skipped (an earlier valid box
 *     is used); with no valid box there is no answer.
 *   - list = 1 (the gold is a list): all valid boxes that start on the line of the last
 *     one, joined with ", " (a single box may itself hold "1, 2").
 *   - Fallback, only when strict = 0 and the text has no \boxed/\fbox command at all:
 *     the last number, [-]d+[,ddd]*[.d+][/d+]: the minus counts when the character before
 *     it is not a letter, digit or closing bracket; thousands commas need 1-3 digits
 *     before the first and exactly 3 after each, and are removed ("1,000" -> "1000").
 *
 * Lists (grade_gold_is_list): a comma outside () [] {} \{\} that is not a thousands
 * separator (1,000 and 1,000,000 are numbers).
 *
 * Equivalence (grade_equiv, grade_compare; grammar in latex.h):
 *   - Identical after grade_normalize (and non-empty): correct, whatever the parser says.
 *     The normalisation only drops what never changes the meaning: `^\circ` stays when
 *     the answer names a trig function (\sin 30^\circ != \sin 30), and white space or a
 *     spacing command between two digits, or between a comma and a digit, stays one space
 *     (`2\,3` != 23, `12, 345` != 12345; the parser decides about digit grouping).
 *   - Both sides are parsed, each on its own: `1,000` groups thousands in an answer that
 *     is not itself a list (grade_gold_is_list), so the gold 1,000 stays a number whatever
 *     the answer is (1,000 != `1, 0`). `1{,}000`, `1\,000` and `1 000 000` always group
 *     (groups of exactly 3 digits); other numbers in a row (`2 3`, `10 9`, `2\,3`) are
 *     never a product: "unparseable: two numbers in a row".
 *   - Rational values are compared exactly (GMP): 0.5 = \frac12, 1.0 = 1, 033 = 33,
 *     0.\overline{3} = 1/3, 2^{25}\cdot 26! exactly. 0.333333333 != 1/3.
 *   - Otherwise numerically in complex long double, at 1 point without free variables and
 *     at 4 deterministic points with them (values from a hash of the variable's name, |v| in
 *     [0.5, 2.5), random signs after the first point): equal when |a-b| <= 1e-10 max(|a|,|b|)
 *     or |a-b| is within the running bound on the rounding errors of the two evaluations
 *     (each rounding step charged 1e-15 of its result, LATEX_ERR_UNIT), at every point where
 *     both are finite (an undefined value on one side only is a difference). There is no
 *     fixed absolute tolerance: \sin\pi = 0 and e^{i\pi}+1 = 0 (rounding noise), but
 *     e^{-30} != 0 and \sqrt2\cdot10^{-13} != \sqrt3\cdot10^{-13}. So 2\sqrt2 = \sqrt8,
 *     x^2+2x+1 = (x+1)^2, \pi = 3.14159265358979 (within 1e-10), but \sqrt{x^2} != x.
 *   - Functions: \ln and \log without a base are the natural logarithm (as sympy's
 *     parse_latex reads \log; math-verify 0.9.0 reads it as base 10), \lg is log10,
 *     \log_b x has base b; trig functions take radians unless the argument has ^\circ.
 *   - Percent: `\%` (and `percent`) is dropped, as MATH's normaliser and math-verify do:
 *     50\% = 50, 50\% != 0.5. Degrees: `^\circ` is dropped (90^\circ = 90) except inside a
 *     trig function, where it converts to radians (\sin 30^\circ = 1/2). Units in \text{}
 *     and plain unit words are dropped; scale words multiply (5\text{ million} = 5000000:
 *     hundred, thousand, million, billion, trillion, dozen, plurals); words that change the
 *     meaning (not, no, none, never, except, ..., at least/most, more/less than; list in
 *     latex.h) make an answer with numbers unparseable. A text answer (words only)
 *     compares as lower-case letters and digits (\text{Evelyn} = Evelyn).
 *   - Tuples are ordered; sets, top-level lists (HMMT "all values") and \cup unions are
 *     unordered with set semantics; a lone value equals a one-element set or list; a value
 *     with \pm is the set of its two values; intervals need matching ends (open/closed ends
 *     are ignored at infinity); (a, b) equals the open interval (a, b); `x = ...`, `x \in
 *     ...` compare their right side.
 *   - Caps (never a crash, bounded time and memory): 64 KiB per answer, nesting depth 200
 *     (groups, signs, and the powers and postfix operators of one chain: 2^2^...^2 nests,
 *     x^2+x^2+... does not), exact values over 131072 bits (huge towers such as
 *     10^{10^{10}} still equal themselves and the same base and exponent written
 *     differently), n! for n > 5000, 256 elements per set or list, 262144 element
 *     comparisons (exact members of sets and lists are matched by sorting, so reordered
 *     lists of 256 numbers are cheap), 16 free variables. An answer over a parse cap is
 *     GRADE_UNPARSEABLE ("unparseable: too long ..."); a comparison that a cap stopped
 *     before it could decide is GRADE_UNPARSEABLE too, with the reason "undecided: ..."
 *     ("undecided: too large to compare (over 131072 bits)", "undecided: too many
 *     elements (over 256)", "undecided: not decidable numerically (precision lost)"),
 *     unless a definite difference elsewhere decides (e.g. another tuple element differs).
 *   - Deterministic: no global state, fixed evaluation points.
 */
#ifndef RSA_GRADE_H
#define RSA_GRADE_H

#include <stddef.h>

#define GRADE_NAME "rsa-math"
#define GRADE_VERSION "3"

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

/* grade_compare: grade_equiv with the verdict's status: GRADE_CORRECT, GRADE_WRONG,
   GRADE_NO_ANSWER (pred NULL or blank), GRADE_UNPARSEABLE (pred outside the subset or
   over the size caps: reason "unparseable: ..."; or the comparison could not be decided
   within the caps: reason "undecided: ...") or GRADE_BAD_GOLD (gold outside the subset
   and not identical to pred after grade_normalize). reason as for grade_equiv ("" when
   correct). */
enum grade_status grade_compare(const char *gold, const char *pred, char *reason, size_t reasonlen);

/* grade_check: extract from response (using gold to decide list extraction) and compare. */
void grade_check(const char *gold, const char *response, const struct grade_opts *o, struct grade_result *r);

/* grade_result_free: frees r->extracted; r stays valid (extracted = NULL). */
void grade_result_free(struct grade_result *r);

const char *grade_status_str(enum grade_status s);

/* grade_normalize: malloc'd canonical string form of answer (NULL for NULL or when out of
   memory): \text/\mathrm/\textbf unwrapped, \left \right and spacing removed (one space
   kept between two digits and after a comma before a digit), ^\circ dropped unless a
   trig function is named, \dfrac/\tfrac as \frac, trailing periods dropped, integers
   without thousands separators and leading zeros. Two answers with the same non-empty
   form are equivalent. */
char *grade_normalize(const char *answer);

#endif
