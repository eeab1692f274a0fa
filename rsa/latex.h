/*
 * latex.h: a parser and evaluator for the LaTeX-math subset that competition answers
 * use, and the equivalence test built on it (the engine behind grade.h).
 *
 * Grammar (recursive descent over a token stream; `$`, `\left`/`\right`, `\big..`,
 * `\!`, `\,`, `\;`, `~`, `\(`..`\)`, `\displaystyle` are skipped by the lexer):
 *
 *   answer   := element ((',' | \text{and} | \text{or}) element)*     2+ elements: a list
 *   element  := [anything '='] union [\approx anything]   only the part after the last
 *                                                         top-level '=' or \in counts
 *   union    := sum (\cup sum)*
 *   sum      := [sign] term (sign term)*      sign: + - \pm \mp
 *   term     := unary (('*' | \cdot | \times | '/' | \div) unary | power)*   (the last:
 *               implicit product, `2\pi`, `3\sqrt{2}`, `2(x+1)`, `ab`; never between two
 *               numbers: `2 3`, `2\,3`, `\frac123` are "two numbers in a row")
 *   unary    := ('-' | '+' | \pm | \mp) unary | power
 *   power    := postfix ('^' script | '**' unary)*
 *   postfix  := primary ('!' | '!!' | '\%' | '^\circ' | \degree | scale word)*
 *   primary  := number | letter ['_' script] | \pi | \infty | greek | \frac A B |
 *               \sqrt[n] A | \binom A B | func [_base] [^pow] arg | '(' seq ')' |
 *               '[' seq ')' | '{' seq '}' | '\{' seq '\}' | '|' sum '|' |
 *               \lfloor sum \rfloor | \lceil sum \rceil | \emptyset
 *   A, B     := '{' sum '}' | '(' sum ')' | one digit | one letter | one command (`\frac12`)
 *   script   := [-] ('{' sum '}' | a whole number (`2^10` is 2^{10}, as sympy reads it) | A)
 *   also: `{n \choose k}`, `|x|`, `\operatorname{sin}`, plain `sqrt`, `pi`, `sin`, unicode
 *   pi, sqrt, infinity, minus, middle dot, times, degree and plus-minus signs.
 *
 * Numbers: integers of any size, decimals (`.5`, `1.50`), repeating decimals
 * (`0.1\overline{6}`), thousands separators `1{,}000`, `1\,000`, `1\;000`, `1\ 000`,
 * `1\!000` and `1 000` (one space) always, `1,000` only when opts->thousands is set and
 * outside brackets; always only for valid 3-digit grouping (1-3 digits, then groups of
 * exactly 3), so `10 9` and `2\,3` stay two numbers, which is an error. An integer
 * followed by a \frac of two integer literals is a mixed number (`2\frac12` = 5/2).
 * `e` is Euler's number and `i` the imaginary unit unless subscripted; other letters
 * and greek letters are free variables. Functions: \ln and \log without a base are
 * the natural logarithm (as sympy and math-verify read \log), \lg is log10, \log_b x
 * has base b. Words in \text{}/\mbox{}/\textbf{} (and \mathrm{} with 2+ letters, and
 * plain unit words like `cm`) are units and dropped, with any `^2` after them, except:
 * scale words (hundred, thousand, million, billion, trillion, dozen, and plurals, any
 * case) multiply (`5\text{ million}` = 5000000), and words that change the meaning
 * (not, no, none, never, except, excluding, neither, nor, without, nothing, cannot,
 * least, most, less, more, fewer, than) make an answer with numbers unparseable. `\%`
 * is dropped (50\% is 50); `^\circ` is dropped except inside a trig function, where it
 * converts degrees to radians. An answer made only of words (\text{Alice}, \text{no
 * solution}, or a plain word of 4+ letters) is a text answer.
 *
 * Tuples `(a, b)` are ordered; `(a, b)` also equals the open interval. Intervals need
 * matching closedness (ignored at +-\infty). Sets `\{..\}`, top-level lists and unions
 * are unordered with set semantics; a lone value equals a one-element set or list; a
 * value containing \pm stands for the set of its two values (all \pm in one value take
 * the same sign, \mp the other).
 */
#ifndef RSA_LATEX_H
#define RSA_LATEX_H

#include <stddef.h>

#define LATEX_MAX_INPUT 65536    /* bytes of one answer */
#define LATEX_MAX_DEPTH 200      /* nesting of groups, unary signs and postfix operators */
#define LATEX_MAX_BITS 131072    /* size of an exact rational (numerator + denominator bits) */
#define LATEX_MAX_FACT 5000      /* largest exact n! ; n!! up to twice that */
#define LATEX_MAX_VARS 16        /* distinct free variables in one comparison */
#define LATEX_MAX_ITEMS 256      /* elements of one set or list in a comparison (\pm counts twice) */
#define LATEX_MAX_COMPARISONS 262144 /* element comparisons in one latex_equiv call */
#define LATEX_POINTS 4           /* random points when free variables occur */
#define LATEX_REL_TOL 1e-10L     /* numeric test: |a-b| <= REL_TOL * max(|a|,|b|) ... */
#define LATEX_ERR_UNIT 1e-15L    /* ... or |a-b| <= err(a) + err(b), the running bounds on the
                                    rounding errors of both evaluations: each rounding step
                                    (a decimal literal, pi, e, an operation, a library function)
                                    is charged ERR_UNIT of its result (about 10^4 long double
                                    ulps), propagated to first order through every operation */

struct latex_opts {
    int thousands;  /* 1: accept `1,000` and `1 000` digit grouping outside brackets */
};

/* A parsed answer (opaque). */
struct latex_expr;

/* latex_parse: parse answer s (at most LATEX_MAX_INPUT bytes). Returns a new expression,
   or NULL with a one-line message in err (e.g. "unbalanced { at 12", "too deep") when s
   is not in the subset or memory runs out. Never crashes on any input; bounded in time
   and memory. */
struct latex_expr *latex_parse(const char *s, const struct latex_opts *o, char *err, size_t errlen);

/* latex_free: release e (NULL is a no-op). */
void latex_free(struct latex_expr *e);

/* latex_is_text: 1 when e is a text answer (words only), compared as normalised text. */
int latex_is_text(const struct latex_expr *e);

/* latex_equiv: 1 when a and b denote the same answer; 0 when they do not, with a
   one-line reason ("not equivalent", "not equivalent (2 vs 3 elements)", ...); -1 when a
   cap stopped the comparison before it could decide, with the cap as the reason ("too
   large to compare (over 131072 bits)", "too many elements (over 256)", "too many
   comparisons", "too many variables (over 16)", "not decidable numerically (precision
   lost)", "too deep"). Exact (GMP rationals) when both values are rational; otherwise
   numeric in complex long double at LATEX_POINTS deterministic points per free variable,
   with LATEX_REL_TOL and the error bounds of LATEX_ERR_UNIT: sin(\pi) = 0, but
   e^{-30} != 0 and 10^{-13}\pi != 0. Sets and lists: exact rational members are matched
   by sorting, the others pairwise, at most LATEX_MAX_COMPARISONS comparisons in all.
   Symmetric; bounded in time and memory. */
int latex_equiv(const struct latex_expr *a, const struct latex_expr *b, char *reason, size_t reasonlen);

/* latex_text_key: malloc'd normalised text of s: lower-case letters and digits, with
   command names (\text, \mathrm, ...) removed. NULL only when out of memory. */
char *latex_text_key(const char *s);

#endif
