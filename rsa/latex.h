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
 *               implicit product, `2\pi`, `3\sqrt{2}`, `2(x+1)`, `ab`)
 *   unary    := ('-' | '+' | \pm | \mp) unary | power
 *   power    := postfix ('^' script | '**' unary)*
 *   postfix  := primary ('!' | '!!' | '\%' | '^\circ' | \degree)*
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
 * (`0.1\overline{6}`), thousands separators
 * `1{,}000` and `1\,000` always, `1,000` and `1 000` only when opts->thousands is set
 * and outside brackets, and only for valid 3-digit grouping. An integer followed by a
 * \frac of two integer literals is a mixed number (`2\frac12` = 5/2). `e` is Euler's
 * number and `i` the imaginary unit unless subscripted; other letters and greek
 * letters are free variables. Words in \text{}/\mbox{}/\textbf{} (and \mathrm{} with
 * 2+ letters, and plain unit words like `cm`) are units and dropped, with any `^2`
 * after them; `\%` is dropped (50\% is 50); `^\circ` is dropped except inside a trig
 * function, where it converts degrees to radians. An answer made only of words
 * (\text{Alice}, or a plain word of 4+ letters) is a text answer.
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
#define LATEX_MAX_ITEMS 256      /* elements of one tuple, set or list in a comparison */
#define LATEX_POINTS 4           /* random points when free variables occur */
#define LATEX_REL_TOL 1e-10L     /* numeric test: |a-b| <= REL_TOL * max(|a|,|b|) ... */
#define LATEX_ABS_TOL 1e-12L     /* ... or |a-b| <= ABS_TOL */

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

/* latex_equiv: 1 when a and b denote the same answer, else 0 with a one-line reason
   ("not equivalent", "too large", "element count 2 vs 3", ...). Exact (GMP rationals)
   when both values are rational; otherwise numeric in complex long double at
   LATEX_POINTS deterministic points per free variable, with LATEX_REL_TOL/ABS_TOL.
   Symmetric; bounded in time and memory. */
int latex_equiv(const struct latex_expr *a, const struct latex_expr *b, char *reason, size_t reasonlen);

/* latex_text_key: malloc'd normalised text of s: lower-case letters and digits, with
   command names (\text, \mathrm, ...) removed. NULL only when out of memory. */
char *latex_text_key(const char *s);

#endif
