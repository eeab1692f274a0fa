/* latex.c: see latex.h. Lexer, parser, exact and numeric evaluators, comparison. */
#include "latex.h"

#include <complex.h>
#include <ctype.h>
#include <gmp.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ===== tokens ===== */

enum tk { TK_END, TK_NUM, TK_LETTER, TK_CMD, TK_TEXT, TK_CH, TK_PCT, TK_DEG, TK_SCALE };

enum cmd {
    C_NONE,
    C_FRAC,
    C_SQRT,
    C_BINOM,
    C_PI,
    C_INF,
    C_PM,
    C_MP,
    C_FUNC,
    C_GREEK,
    C_LFLOOR,
    C_RFLOOR,
    C_LCEIL,
    C_RCEIL,
    C_CUP,
    C_EMPTY,
    C_EQ,
    C_APPROX,
    C_CHOOSE,
};

enum fn { F_SIN, F_COS, F_TAN, F_COT, F_SEC, F_CSC, F_ASIN, F_ACOS, F_ATAN, F_SINH, F_COSH, F_TANH, F_LN, F_LOG,
          F_LG, F_EXP };

#define CH_LSET 256 /* \{ */
#define CH_RSET 257 /* \} */
#define CH_POW2 258 /* ** */

struct tok {
    int k;          /* enum tk */
    int ch;         /* TK_CH: the character or CH_* */
    int cmd;        /* TK_CMD: enum cmd */
    int fn;         /* C_FUNC: enum fn */
    int pos, end;   /* source span [pos, end) */
    const char *s;  /* TK_NUM, TK_SCALE: digits ("12.5", NUL-terminated); TK_TEXT, C_GREEK: name */
    int len;        /* length of s */
    int depth;      /* nesting of ( [ { \{ before this token */
    int split;      /* TK_NUM: leading digits were taken as a one-digit argument (\frac12) */
};

/* ===== lexer ===== */

struct lex {
    const char *src;
    int start, n; /* the answer is src[start, n) */
    struct tok *t;
    int nt, cap;
    char *buf; /* NUL-separated strings the tokens point into */
    int blen, bcap;
    int depth;  /* ( [ { \{ */
    int pdepth; /* ( [ \{ only: thousands grouping is off inside them */
    int braces; /* open { */
    int bpos[LATEX_MAX_DEPTH + 1];
    int thousands;
    int n_math, n_text, wordy;
    int neg_pos, neg_len; /* the first word that changes the meaning ("not"), neg_len 0 if none */
    char *err;
    size_t errlen;
    int bad;
};

static void lex_fail(struct lex *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* first_error: record the first error only (*bad set, message formatted into err). */
static void first_error(int *bad, char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (*bad)
        return;
    *bad = 1;
    if (err != NULL && errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
}

static void lex_fail(struct lex *lx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    first_error(&lx->bad, lx->err, lx->errlen, fmt, ap);
    va_end(ap);
}

static struct tok *lex_push(struct lex *lx, int k, int pos, int end)
{
    if (lx->nt >= lx->cap) {
        lx->bad = 1;
        util_errf(lx->err, lx->errlen, "too many tokens");
        return NULL;
    }
    struct tok *t = &lx->t[lx->nt++];
    memset(t, 0, sizeof(*t));
    t->k = k;
    t->pos = pos;
    t->end = end;
    t->depth = lx->depth;
    if (k == TK_NUM || k == TK_LETTER || k == TK_CMD || k == TK_PCT || k == TK_DEG)
        lx->n_math++;
    return t;
}

static struct tok *lex_ch(struct lex *lx, int ch, int pos, int end)
{
    if (ch == ')' || ch == ']' || ch == CH_RSET || ch == '}') {
        if (lx->depth > 0)
            lx->depth--;
        if (ch != '}' && lx->pdepth > 0)
            lx->pdepth--;
    }
    struct tok *t = lex_push(lx, TK_CH, pos, end);
    if (t == NULL)
        return NULL;
    t->ch = ch;
    if (ch == '(' || ch == '[' || ch == CH_LSET || ch == '{') {
        lx->depth++;
        if (ch != '{')
            lx->pdepth++;
    }
    return t;
}

/* lex_store: copy n bytes to the string buffer; NULL when full */
static char *lex_store(struct lex *lx, const char *s, int n)
{
    if (lx->blen + n + 1 > lx->bcap) {
        lx->bad = 1;
        util_errf(lx->err, lx->errlen, "out of string space");
        return NULL;
    }
    char *d = lx->buf + lx->blen;
    memcpy(d, s, (size_t)n);
    d[n] = '\0';
    lx->blen += n + 1;
    return d;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* three digits at s[q..q+2] and no digit after them (all within lim) */
static int three_digits(const char *s, int q, int lim)
{
    return q + 3 <= lim && is_digit(s[q]) && is_digit(s[q + 1]) && is_digit(s[q + 2]) &&
           (q + 3 == lim || !is_digit(s[q + 3]));
}

/* lex_number: a number at p (a digit, or '.' then a digit); returns the position after it */
static int lex_number(struct lex *lx, int p, int lim)
{
    const char *s = lx->src;
    int start = p;
    if (lx->blen + (lim - p) + 3 > lx->bcap) {
        lx->bad = 1;
        util_errf(lx->err, lx->errlen, "out of string space");
        return lim;
    }
    char *d = lx->buf + lx->blen;
    int n = 0;
    while (p < lim && is_digit(s[p]))
        d[n++] = s[p++];
    if (n == 0)
        d[n++] = '0';
    else if (n <= 3) {
        /* thousands grouping: 1{,}000, 1\,000, 1\!000 and 1 000 always; 1,000 only when
           allowed (the answer is not a list) and outside brackets */
        for (;;) {
            int q = p;
            if (q < lim && s[q] == ',' && lx->thousands && lx->pdepth == 0)
                q += 1;
            else if (q + 3 <= lim && strncmp(s + q, "{,}", 3) == 0)
                q += 3;
            else if (q + 2 <= lim && s[q] == '\\' &&
                     (s[q + 1] == ',' || s[q + 1] == ' ' || s[q + 1] == ';' || s[q + 1] == '!'))
                q += 2;
            else if (q < lim && s[q] == ' ')
                q += 1;
            else
                break;
            if (!three_digits(s, q, lim))
                break;
            d[n++] = s[q];
            d[n++] = s[q + 1];
            d[n++] = s[q + 2];
            p = q + 3;
        }
    }
    int ov = p + 1 < lim && s[p] == '.' && strncmp(s + p + 1, "\\overline{", 10) == 0;
    if (p + 1 < lim && s[p] == '.' && (is_digit(s[p + 1]) || ov)) {
        d[n++] = s[p++];
        while (p < lim && is_digit(s[p]))
            d[n++] = s[p++];
        /* a repeating decimal 0.1\overline{6}, kept as "0.1(6)" */
        if (p + 10 < lim && strncmp(s + p, "\\overline{", 10) == 0) {
            int q = p + 10, k = 0;
            while (q + k < lim && is_digit(s[q + k]))
                k++;
            if (k > 0 && q + k < lim && s[q + k] == '}') {
                d[n++] = '(';
                memcpy(d + n, s + q, (size_t)k);
                n += k;
                d[n++] = ')';
                p = q + k + 1;
            }
        }
    }
    d[n] = '\0';
    lx->blen += n + 1;
    struct tok *t = lex_push(lx, TK_NUM, start, p);
    if (t != NULL) {
        t->s = d;
        t->len = n;
    }
    return p;
}

/* ----- command table ----- */

enum ckind {
    K_TOK,      /* a token: cmd (C_*) */
    K_CH,       /* a punctuation token: arg */
    K_FUNC,     /* a function: arg = enum fn */
    K_GREEK,    /* a variable */
    K_SKIP,     /* spacing and sizing: dropped */
    K_SKIPARG,  /* dropped with its {argument} */
    K_GROUP,    /* \boxed: its argument is a plain group */
    K_MATHFONT, /* \mathrm{..}: math, or a unit when the argument is a word */
    K_TEXTFONT, /* \text{..}: text (units, words), numbers inside still count */
    K_PCT,
    K_DEG,
    K_OPNAME,   /* \operatorname{..}: a known function name */
};

struct cmd_def {
    const char *name;
    int kind;
    int arg;
};

static const struct cmd_def cmd_defs[] = {
    {"frac", K_TOK, C_FRAC}, {"dfrac", K_TOK, C_FRAC}, {"tfrac", K_TOK, C_FRAC}, {"cfrac", K_TOK, C_FRAC},
    {"sqrt", K_TOK, C_SQRT}, {"binom", K_TOK, C_BINOM}, {"dbinom", K_TOK, C_BINOM}, {"tbinom", K_TOK, C_BINOM},
    {"pi", K_TOK, C_PI}, {"infty", K_TOK, C_INF}, {"infin", K_TOK, C_INF}, {"pm", K_TOK, C_PM},
    {"mp", K_TOK, C_MP}, {"lfloor", K_TOK, C_LFLOOR}, {"rfloor", K_TOK, C_RFLOOR}, {"lceil", K_TOK, C_LCEIL},
    {"rceil", K_TOK, C_RCEIL}, {"cup", K_TOK, C_CUP}, {"emptyset", K_TOK, C_EMPTY},
    {"varnothing", K_TOK, C_EMPTY}, {"in", K_TOK, C_EQ}, {"coloneqq", K_TOK, C_EQ}, {"approx", K_TOK, C_APPROX}, {"choose", K_TOK, C_CHOOSE},
    {"cdot", K_CH, '*'}, {"times", K_CH, '*'}, {"ast", K_CH, '*'}, {"div", K_CH, '/'}, {"lvert", K_CH, '|'},
    {"rvert", K_CH, '|'}, {"vert", K_CH, '|'}, {"mid", K_CH, '|'}, {"lbrace", K_CH, CH_LSET},
    {"rbrace", K_CH, CH_RSET}, {"lbrack", K_CH, '['}, {"rbrack", K_CH, ']'}, {"langle", K_CH, '('},
    {"rangle", K_CH, ')'}, {"colon", K_CH, ':'},
    {"sin", K_FUNC, F_SIN}, {"cos", K_FUNC, F_COS}, {"tan", K_FUNC, F_TAN}, {"cot", K_FUNC, F_COT},
    {"sec", K_FUNC, F_SEC}, {"csc", K_FUNC, F_CSC}, {"arcsin", K_FUNC, F_ASIN}, {"arccos", K_FUNC, F_ACOS},
    {"arctan", K_FUNC, F_ATAN}, {"sinh", K_FUNC, F_SINH}, {"cosh", K_FUNC, F_COSH}, {"tanh", K_FUNC, F_TANH},
    {"ln", K_FUNC, F_LN}, {"log", K_FUNC, F_LOG}, {"lg", K_FUNC, F_LG}, {"exp", K_FUNC, F_EXP},
    {"alpha", K_GREEK, 0}, {"beta", K_GREEK, 0}, {"gamma", K_GREEK, 0}, {"delta", K_GREEK, 0},
    {"epsilon", K_GREEK, 0}, {"varepsilon", K_GREEK, 0}, {"zeta", K_GREEK, 0}, {"eta", K_GREEK, 0},
    {"theta", K_GREEK, 0}, {"vartheta", K_GREEK, 0}, {"iota", K_GREEK, 0}, {"kappa", K_GREEK, 0},
    {"lambda", K_GREEK, 0}, {"mu", K_GREEK, 0}, {"nu", K_GREEK, 0}, {"xi", K_GREEK, 0}, {"rho", K_GREEK, 0},
    {"sigma", K_GREEK, 0}, {"tau", K_GREEK, 0}, {"upsilon", K_GREEK, 0}, {"phi", K_GREEK, 0},
    {"varphi", K_GREEK, 0}, {"chi", K_GREEK, 0}, {"psi", K_GREEK, 0}, {"omega", K_GREEK, 0},
    {"Gamma", K_GREEK, 0}, {"Delta", K_GREEK, 0}, {"Theta", K_GREEK, 0}, {"Lambda", K_GREEK, 0},
    {"Xi", K_GREEK, 0}, {"Sigma", K_GREEK, 0}, {"Phi", K_GREEK, 0}, {"Psi", K_GREEK, 0}, {"Omega", K_GREEK, 0},
    {"left", K_SKIP, 0}, {"right", K_SKIP, 0}, {"middle", K_SKIP, 0}, {"big", K_SKIP, 0}, {"Big", K_SKIP, 0},
    {"bigg", K_SKIP, 0}, {"Bigg", K_SKIP, 0}, {"bigl", K_SKIP, 0}, {"bigr", K_SKIP, 0}, {"Bigl", K_SKIP, 0},
    {"Bigr", K_SKIP, 0}, {"biggl", K_SKIP, 0}, {"biggr", K_SKIP, 0}, {"Biggl", K_SKIP, 0},
    {"Biggr", K_SKIP, 0}, {"displaystyle", K_SKIP, 0}, {"textstyle", K_SKIP, 0}, {"scriptstyle", K_SKIP, 0},
    {"quad", K_SKIP, 0}, {"qquad", K_SKIP, 0}, {"limits", K_SKIP, 0}, {"nolimits", K_SKIP, 0},
    {"strut", K_SKIP, 0}, {"mathstrut", K_SKIP, 0}, {"enspace", K_SKIP, 0}, {"thinspace", K_SKIP, 0},
    {"hspace", K_SKIPARG, 0}, {"phantom", K_SKIPARG, 0}, {"hphantom", K_SKIPARG, 0},
    {"vphantom", K_SKIPARG, 0}, {"boxed", K_GROUP, 0}, {"fbox", K_GROUP, 0},
    {"mathrm", K_MATHFONT, 0}, {"mathbf", K_MATHFONT, 0}, {"mathit", K_MATHFONT, 0},
    {"mathsf", K_MATHFONT, 0}, {"mathtt", K_MATHFONT, 0}, {"mathnormal", K_MATHFONT, 0},
    {"boldsymbol", K_MATHFONT, 0}, {"bm", K_MATHFONT, 0},
    {"text", K_TEXTFONT, 0}, {"textbf", K_TEXTFONT, 0}, {"textit", K_TEXTFONT, 0}, {"textrm", K_TEXTFONT, 0},
    {"textsf", K_TEXTFONT, 0}, {"texttt", K_TEXTFONT, 0}, {"textnormal", K_TEXTFONT, 0},
    {"textup", K_TEXTFONT, 0}, {"mbox", K_TEXTFONT, 0}, {"hbox", K_TEXTFONT, 0}, {"emph", K_TEXTFONT, 0},
    {"operatorname", K_OPNAME, 0}, {"degree", K_DEG, 0}, {"circ", K_DEG, 0}, {"percent", K_PCT, 0},
};

/* def_find: the entry of table[len] named name[n], or NULL */
static const struct cmd_def *def_find(const struct cmd_def *table, size_t len, const char *name, int n)
{
    for (size_t i = 0; i < len; i++)
        if ((int)strlen(table[i].name) == n && memcmp(table[i].name, name, (size_t)n) == 0)
            return &table[i];
    return NULL;
}

static const struct cmd_def *cmd_find(const char *name, int n)
{
    return def_find(cmd_defs, sizeof(cmd_defs) / sizeof(cmd_defs[0]), name, n);
}

/* plain words (no backslash) with a meaning: math names, units, separators */
enum wkind { W_CMD, W_FUNC, W_UNIT, W_PCT, W_DEG };

static const struct cmd_def word_defs[] = {
    {"sqrt", W_CMD, C_SQRT}, {"pi", W_CMD, C_PI}, {"infty", W_CMD, C_INF}, {"inf", W_CMD, C_INF},
    {"infinity", W_CMD, C_INF}, {"sin", W_FUNC, F_SIN}, {"cos", W_FUNC, F_COS}, {"tan", W_FUNC, F_TAN},
    {"ln", W_FUNC, F_LN}, {"log", W_FUNC, F_LOG}, {"exp", W_FUNC, F_EXP},
    {"and", W_UNIT, 0}, {"or", W_UNIT, 0}, {"cm", W_UNIT, 0}, {"mm", W_UNIT, 0}, {"km", W_UNIT, 0},
    {"meters", W_UNIT, 0}, {"meter", W_UNIT, 0}, {"metres", W_UNIT, 0}, {"inches", W_UNIT, 0},
    {"inch", W_UNIT, 0}, {"feet", W_UNIT, 0}, {"ft", W_UNIT, 0}, {"units", W_UNIT, 0}, {"unit", W_UNIT, 0},
    {"miles", W_UNIT, 0}, {"mph", W_UNIT, 0}, {"seconds", W_UNIT, 0}, {"minutes", W_UNIT, 0},
    {"hours", W_UNIT, 0}, {"days", W_UNIT, 0}, {"years", W_UNIT, 0}, {"dollars", W_UNIT, 0},
    {"cents", W_UNIT, 0}, {"ways", W_UNIT, 0}, {"sq", W_UNIT, 0}, {"square", W_UNIT, 0},
    {"percent", W_PCT, 0}, {"pct", W_PCT, 0}, {"degrees", W_DEG, 0}, {"degree", W_DEG, 0},
    {"deg", W_DEG, 0},
};

static const struct cmd_def *word_find(const char *w, int n)
{
    return def_find(word_defs, sizeof(word_defs) / sizeof(word_defs[0]), w, n);
}

/* scale words multiply the number before them (5 million = 5000000); any case */
static const struct {
    const char *name;
    const char *value;
} scale_defs[] = {
    {"hundred", "100"},        {"hundreds", "100"},        {"thousand", "1000"},
    {"thousands", "1000"},     {"million", "1000000"},     {"millions", "1000000"},
    {"billion", "1000000000"}, {"billions", "1000000000"}, {"trillion", "1000000000000"},
    {"trillions", "1000000000000"}, {"dozen", "12"},       {"dozens", "12"},
};

static const char *scale_find(const char *w, int n)
{
    for (size_t i = 0; i < sizeof(scale_defs) / sizeof(scale_defs[0]); i++)
        if ((int)strlen(scale_defs[i].name) == n && strncasecmp(scale_defs[i].name, w, (size_t)n) == 0)
            return scale_defs[i].value;
    return NULL;
}

/* words that change the meaning of the number they go with ("not 5", "at least 5",
   "all except 5"): never dropped as units; any case */
static const char *const neg_words[] = {
    "not", "no", "none", "never", "except", "excluding", "neither", "nor", "without", "nothing",
    "cannot", "least", "most", "less", "more", "fewer", "than",
};

static int neg_find(const char *w, int n)
{
    for (size_t i = 0; i < sizeof(neg_words) / sizeof(neg_words[0]); i++)
        if ((int)strlen(neg_words[i]) == n && strncasecmp(neg_words[i], w, (size_t)n) == 0)
            return 1;
    return 0;
}

/* lex_scale: a scale word as a TK_SCALE token; it counts as a word for text answers */
static void lex_scale(struct lex *lx, const char *value, int p, int q)
{
    struct tok *t = lex_push(lx, TK_SCALE, p, q);
    if (t != NULL) {
        t->s = value;
        t->len = (int)strlen(value);
        lx->n_text++;
    }
}

/* note_neg: remember the first meaning-changing word */
static void note_neg(struct lex *lx, int p, int q)
{
    if (lx->neg_len == 0) {
        lx->neg_pos = p;
        lx->neg_len = q - p;
    }
}

/* lex_text_word: a word in text mode: a unit/word (TK_TEXT), a scale word, or percent/degree */
static void lex_text_word(struct lex *lx, int p, int q)
{
    const char *scale = scale_find(lx->src + p, q - p);
    if (scale != NULL) {
        lex_scale(lx, scale, p, q);
        return;
    }
    if (neg_find(lx->src + p, q - p))
        note_neg(lx, p, q);
    const struct cmd_def *w = word_find(lx->src + p, q - p);
    if (w != NULL && w->kind == W_PCT) {
        lex_push(lx, TK_PCT, p, q);
        return;
    }
    if (w != NULL && w->kind == W_DEG) {
        lex_push(lx, TK_DEG, p, q);
        return;
    }
    struct tok *t = lex_push(lx, TK_TEXT, p, q);
    if (t != NULL) {
        t->s = lx->src + p;
        t->len = q - p;
        lx->n_text++;
    }
}

/* match_brace: index of the } closing the { at p (escapes skipped), or -1 */
static int match_brace(const char *s, int p, int lim)
{
    int depth = 0;
    for (int q = p; q < lim; q++) {
        if (s[q] == '\\' && q + 1 < lim) {
            q++;
            continue;
        }
        if (s[q] == '{')
            depth++;
        else if (s[q] == '}' && --depth == 0)
            return q;
    }
    return -1;
}

/* lex_text: words, numbers and \% inside \text{..} (a..b exclusive); other characters are dropped */
static void lex_text(struct lex *lx, int a, int b)
{
    const char *s = lx->src;
    int p = a;
    while (p < b && !lx->bad) {
        unsigned char c = (unsigned char)s[p];
        if (c == '\\') {
            if (p + 1 < b && s[p + 1] == '%') {
                lex_push(lx, TK_PCT, p, p + 2);
                p += 2;
            } else if (p + 1 < b && is_alpha(s[p + 1])) {
                int q = p + 1;
                while (q < b && is_alpha(s[q]))
                    q++;
                const struct cmd_def *cd = cmd_find(s + p + 1, q - p - 1);
                if (cd != NULL && cd->kind == K_PCT)
                    lex_push(lx, TK_PCT, p, q);
                else if (cd != NULL && cd->kind == K_DEG)
                    lex_push(lx, TK_DEG, p, q);
                p = q;
            } else
                p += 2;
        } else if (is_digit(c) || (c == '.' && p + 1 < b && is_digit(s[p + 1]))) {
            p = lex_number(lx, p, b);
        } else if (is_alpha(c)) {
            int q = p;
            while (q < b && is_alpha(s[q]))
                q++;
            lex_text_word(lx, p, q);
            p = q;
        } else if (c == '%') {
            lex_push(lx, TK_PCT, p, p + 1);
            p++;
        } else if (c == 0xC2 && p + 1 < b && (unsigned char)s[p + 1] == 0xB0) {
            lex_push(lx, TK_DEG, p, p + 2);
            p += 2;
        } else
            p++;
    }
}

/* a word of 2+ letters (and spaces) only: \mathrm{cm} is a unit, \mathrm{e} is math */
static int is_word_arg(const char *s, int a, int b)
{
    int letters = 0;
    for (int q = a; q < b; q++) {
        if (is_alpha(s[q]))
            letters++;
        else if (s[q] != ' ' && s[q] != '~')
            return 0;
    }
    return letters >= 2;
}

/* lex_open_brace: record a { for balance checks */
static void lex_open_brace(struct lex *lx, int p)
{
    if (lx->braces >= LATEX_MAX_DEPTH) {
        lex_fail(lx, "too deep: more than %d nested { at %d", LATEX_MAX_DEPTH, p);
        return;
    }
    lx->bpos[lx->braces++] = p;
    lex_ch(lx, '{', p, p + 1);
}

/* lex_command: the command at p (a backslash); returns the position after it */
static int lex_command(struct lex *lx, int p)
{
    const char *s = lx->src;
    int n = lx->n;
    if (p + 1 >= n) {
        lex_fail(lx, "lone backslash at %d", p);
        return n;
    }
    char c = s[p + 1];
    if (!is_alpha(c)) {
        switch (c) {
        case '{': lex_ch(lx, CH_LSET, p, p + 2); break;
        case '}': lex_ch(lx, CH_RSET, p, p + 2); break;
        case '%': lex_push(lx, TK_PCT, p, p + 2); break;
        case '|': lex_ch(lx, '|', p, p + 2); break;
        case ',': case ';': case ':': case '!': case ' ': case '>': case '(': case ')': case '[': case ']':
        case '$': case '\n': case '\t':
            break;
        default:
            if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
                lex_fail(lx, "unexpected byte after \\ at %d", p);
            else {
                char what[2] = {c, '\0'};
                lex_fail(lx, "unsupported command \\%s at %d", what, p);
            }
        }
        return p + 2;
    }
    int q = p + 1;
    while (q < n && is_alpha(s[q]))
        q++;
    if (q < n && s[q] == '*')
        q++; /* \operatorname*, \cdot* ... */
    int namelen = q - p - 1 - (s[q - 1] == '*');
    const struct cmd_def *cd = cmd_find(s + p + 1, namelen);
    if (cd == NULL) {
        char name[40];
        snprintf(name, sizeof(name), "%.*s", namelen > 30 ? 30 : namelen, s + p + 1);
        lex_fail(lx, "unknown command \\%s at %d", name, p);
        return q;
    }
    /* the argument of a command that takes a {..} */
    int a = q;
    while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t'))
        a++;
    switch (cd->kind) {
    case K_TOK: {
        struct tok *t = lex_push(lx, TK_CMD, p, q);
        if (t != NULL)
            t->cmd = cd->arg;
        return q;
    }
    case K_CH:
        lex_ch(lx, cd->arg, p, q);
        return q;
    case K_FUNC: {
        struct tok *t = lex_push(lx, TK_CMD, p, q);
        if (t != NULL) {
            t->cmd = C_FUNC;
            t->fn = cd->arg;
        }
        return q;
    }
    case K_GREEK: {
        struct tok *t = lex_push(lx, TK_CMD, p, q);
        if (t != NULL) {
            t->cmd = C_GREEK;
            t->s = s + p + 1;
            t->len = namelen;
        }
        return q;
    }
    case K_SKIP:
        /* \left. and \right. are empty delimiters */
        if ((strcmp(cd->name, "left") == 0 || strcmp(cd->name, "right") == 0) && q < n && s[q] == '.')
            return q + 1;
        return q;
    case K_SKIPARG:
        if (a < n && s[a] == '{') {
            int e = match_brace(s, a, n);
            if (e < 0) {
                lex_fail(lx, "unbalanced { at %d", a);
                return n;
            }
            return e + 1;
        }
        return q;
    case K_GROUP:
        return q;
    case K_PCT:
        lex_push(lx, TK_PCT, p, q);
        return q;
    case K_DEG:
        lex_push(lx, TK_DEG, p, q);
        return q;
    case K_MATHFONT:
    case K_TEXTFONT:
    case K_OPNAME: {
        if (a >= n || s[a] != '{')
            return q; /* \mathrm x: the font applies to the next token */
        int e = match_brace(s, a, n);
        if (e < 0) {
            lex_fail(lx, "unbalanced { at %d", a);
            return n;
        }
        if (cd->kind == K_OPNAME) {
            const struct cmd_def *fd = cmd_find(s + a + 1, e - a - 1);
            if (fd == NULL || fd->kind != K_FUNC) {
                lex_fail(lx, "unsupported operator name at %d", p);
                return n;
            }
            struct tok *t = lex_push(lx, TK_CMD, p, e + 1);
            if (t != NULL) {
                t->cmd = C_FUNC;
                t->fn = fd->arg;
            }
            return e + 1;
        }
        if (cd->kind == K_MATHFONT && !is_word_arg(s, a + 1, e))
            return q; /* \mathrm{e}, \mathbf{5}: the {..} is a plain group */
        lex_text(lx, a + 1, e);
        return e + 1;
    }
    }
    return q;
}

/* utf8: the few non-ASCII symbols that answers use; returns bytes consumed, 0 if unknown */
static int lex_utf8(struct lex *lx, int p)
{
    const unsigned char *u = (const unsigned char *)lx->src + p;
    int left = lx->n - p;
    struct tok *t;
    if (left >= 2 && u[0] == 0xCF && u[1] == 0x80) { /* pi */
        t = lex_push(lx, TK_CMD, p, p + 2);
        if (t)
            t->cmd = C_PI;
        return 2;
    }
    if (left >= 2 && u[0] == 0xC2 && u[1] == 0xB0) { /* degree sign */
        lex_push(lx, TK_DEG, p, p + 2);
        return 2;
    }
    if (left >= 2 && u[0] == 0xC2 && u[1] == 0xB7) { /* middle dot */
        lex_ch(lx, '*', p, p + 2);
        return 2;
    }
    if (left >= 2 && u[0] == 0xC2 && u[1] == 0xB1) { /* plus-minus */
        t = lex_push(lx, TK_CMD, p, p + 2);
        if (t)
            t->cmd = C_PM;
        return 2;
    }
    if (left >= 2 && u[0] == 0xC2 && u[1] == 0xA0) /* no-break space */
        return 2;
    if (left >= 2 && u[0] == 0xC3 && u[1] == 0x97) { /* multiplication sign */
        lex_ch(lx, '*', p, p + 2);
        return 2;
    }
    if (left >= 3 && u[0] == 0xE2 && u[1] == 0x88) {
        if (u[2] == 0x92) { /* minus sign */
            lex_ch(lx, '-', p, p + 3);
            return 3;
        }
        if (u[2] == 0x9A) { /* square root */
            t = lex_push(lx, TK_CMD, p, p + 3);
            if (t)
                t->cmd = C_SQRT;
            return 3;
        }
        if (u[2] == 0x9E) { /* infinity */
            t = lex_push(lx, TK_CMD, p, p + 3);
            if (t)
                t->cmd = C_INF;
            return 3;
        }
    }
    if (left >= 3 && u[0] == 0xE2 && u[1] == 0x8B && u[2] == 0x85) { /* dot operator */
        lex_ch(lx, '*', p, p + 3);
        return 3;
    }
    return 0;
}

/* lex_run: a run of plain letters at p */
static int lex_run(struct lex *lx, int p)
{
    const char *s = lx->src;
    int q = p;
    while (q < lx->n && is_alpha(s[q]))
        q++;
    int len = q - p;
    const struct cmd_def *w = len >= 2 ? word_find(s + p, len) : NULL;
    if (w != NULL) {
        struct tok *t;
        switch (w->kind) {
        case W_CMD:
            t = lex_push(lx, TK_CMD, p, q);
            if (t)
                t->cmd = w->arg;
            break;
        case W_FUNC:
            t = lex_push(lx, TK_CMD, p, q);
            if (t) {
                t->cmd = C_FUNC;
                t->fn = w->arg;
            }
            break;
        case W_UNIT:
            lex_text_word(lx, p, q);
            break;
        case W_PCT:
            lex_push(lx, TK_PCT, p, q);
            break;
        case W_DEG:
            lex_push(lx, TK_DEG, p, q);
            break;
        }
        return q;
    }
    const char *scale = scale_find(s + p, len);
    if (scale != NULL) {
        lex_scale(lx, scale, p, q);
        return q;
    }
    int neg = neg_find(s + p, len);
    if (neg)
        note_neg(lx, p, q);
    /* single-letter variables; a plain word of 4+ letters (or yes/no/not) makes a text answer */
    int word = len >= 4 || (len == 3 && strncasecmp(s + p, "yes", 3) == 0) || neg;
    for (int k = p; k < q; k++) {
        struct tok *t = lex_push(lx, TK_LETTER, k, k + 1);
        if (t == NULL)
            break;
        t->s = s + k;
        t->len = 1;
        if (word)
            lx->n_math--;
    }
    if (word)
        lx->wordy = 1;
    return q;
}

static void lex_all(struct lex *lx)
{
    const char *s = lx->src;
    int p = lx->start;
    while (p < lx->n && !lx->bad) {
        unsigned char c = (unsigned char)s[p];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '$' || c == '~') {
            p++;
        } else if (c == '\\') {
            p = lex_command(lx, p);
        } else if (is_digit(c) || (c == '.' && p + 1 < lx->n && is_digit(s[p + 1]))) {
            p = lex_number(lx, p, lx->n);
        } else if (is_alpha(c)) {
            p = lex_run(lx, p);
        } else if (c == '{') {
            lex_open_brace(lx, p);
            p++;
        } else if (c == '}') {
            if (lx->braces == 0) {
                lex_fail(lx, "unbalanced } at %d", p);
                break;
            }
            lx->braces--;
            lex_ch(lx, '}', p, p + 1);
            p++;
        } else if (c == '%') {
            lex_push(lx, TK_PCT, p, p + 1);
            p++;
        } else if (c == '*' && p + 1 < lx->n && s[p + 1] == '*') {
            lex_ch(lx, CH_POW2, p, p + 2);
            p += 2;
        } else if (c >= 0x80) {
            int k = lex_utf8(lx, p);
            if (k == 0) {
                lex_fail(lx, "unexpected non-ASCII character at %d", p);
                break;
            }
            p += k;
        } else if (strchr("()[],=+-*/^_!|.':;<>&?\"@#", c) != NULL) {
            lex_ch(lx, c, p, p + 1);
            p++;
        } else {
            lex_fail(lx, "unexpected character at %d", p);
            break;
        }
    }
    if (!lx->bad && lx->braces > 0)
        lex_fail(lx, "unbalanced { at %d", lx->bpos[lx->braces - 1]);
    if (!lx->bad)
        lex_push(lx, TK_END, lx->n, lx->n);
}

/* ===== syntax tree ===== */

enum nkind {
    N_NUM,   /* s: digits */
    N_VAR,   /* s: name */
    N_PI,
    N_E,
    N_I,
    N_INF,
    N_SUM,   /* children a->next..., each with op OP_ADD/OP_SUB/OP_PM/OP_MP */
    N_PROD,  /* children, each with op OP_MUL/OP_DIV */
    N_NEG,   /* a */
    N_PMU,   /* +-a (op OP_PM) or -+a (OP_MP) */
    N_POW,   /* a ^ b */
    N_SQRT,  /* sqrt(a), b = index or NULL */
    N_FUNC,  /* fn(a), b = log base or NULL */
    N_FACT,
    N_DFACT,
    N_BINOM, /* a choose b */
    N_PCT,
    N_DEG,
    N_ABS,
    N_FLOOR,
    N_CEIL,
    N_MIXED, /* a + b (a an integer, b a fraction) */
    N_TUPLE,
    N_INTERVAL, /* flags: 1 = left closed, 2 = right closed */
    N_SET,
    N_LIST,
    N_UNION,
};

enum { OP_ADD, OP_SUB, OP_PM, OP_MP, OP_MUL, OP_DIV };

struct node {
    unsigned char kind;
    unsigned char op;    /* role in the parent's child list */
    unsigned char flags;
    unsigned char fn;
    const char *s;
    struct node *a, *b, *next;
};

static int is_struct(const struct node *n)
{
    return n->kind == N_TUPLE || n->kind == N_INTERVAL || n->kind == N_SET || n->kind == N_LIST ||
           n->kind == N_UNION;
}

/* ===== parser ===== */

struct parser {
    struct tok *t;
    int nt;
    int i, lim;
    struct tok end; /* returned by peek past lim */
    struct node *nodes;
    int nn, cap;
    int depth; /* nesting: groups, unary signs, and the powers and postfix operators of one chain */
    int in_abs;
    struct lex *lx;
    char *err;
    size_t errlen;
    int bad;
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    first_error(&ps->bad, ps->err, ps->errlen, fmt, ap);
    va_end(ap);
}

static struct tok *peek(struct parser *ps)
{
    if (ps->i >= ps->lim) {
        ps->end.k = TK_END;
        ps->end.pos = ps->i < ps->nt ? ps->t[ps->i].pos : ps->lx->n;
        return &ps->end;
    }
    return &ps->t[ps->i];
}

static struct tok *peek2(struct parser *ps)
{
    if (ps->i + 1 >= ps->lim) {
        ps->end.k = TK_END;
        return &ps->end;
    }
    return &ps->t[ps->i + 1];
}

static int is_ch(const struct tok *t, int ch)
{
    return t->k == TK_CH && t->ch == ch;
}

static int is_cmd(const struct tok *t, int cmd)
{
    return t->k == TK_CMD && t->cmd == cmd;
}

static struct node *mk(struct parser *ps, int kind)
{
    if (ps->nn >= ps->cap) {
        perr(ps, "expression too large");
        return NULL;
    }
    struct node *n = &ps->nodes[ps->nn++];
    memset(n, 0, sizeof(*n));
    n->kind = (unsigned char)kind;
    return n;
}

static struct node *mk2(struct parser *ps, int kind, struct node *a, struct node *b)
{
    struct node *n = mk(ps, kind);
    if (n != NULL) {
        n->a = a;
        n->b = b;
    }
    return n;
}

static int enter(struct parser *ps)
{
    if (ps->bad)
        return 0;
    if (++ps->depth > LATEX_MAX_DEPTH) {
        perr(ps, "too deep: nesting over %d at %d", LATEX_MAX_DEPTH, peek(ps)->pos);
        return 0;
    }
    return 1;
}

static void tok_desc(const struct parser *ps, const struct tok *t, char *out, size_t n)
{
    if (t->k == TK_END)
        snprintf(out, n, "end of input");
    else {
        int len = t->end - t->pos;
        snprintf(out, n, "'%.*s' at %d", len > 20 ? 20 : len, ps->lx->src + t->pos, t->pos);
    }
}

static void unexpected(struct parser *ps, const struct tok *t)
{
    char d[64];
    tok_desc(ps, t, d, sizeof(d));
    perr(ps, "unexpected %s", d);
}

static int expect_ch(struct parser *ps, int ch, const char *what)
{
    struct tok *t = peek(ps);
    if (is_ch(t, ch)) {
        ps->i++;
        return 1;
    }
    char d[64];
    tok_desc(ps, t, d, sizeof(d));
    perr(ps, "expected %s, got %s", what, d);
    return 0;
}

static struct node *parse_sum(struct parser *ps);
static struct node *parse_union(struct parser *ps);
static struct node *parse_unary(struct parser *ps);
static struct node *parse_power(struct parser *ps);
static struct node *parse_primary(struct parser *ps);
static struct node *parse_bracket(struct parser *ps);

/* make_num: a number node from a digit string */
static struct node *make_num(struct parser *ps, const char *digits)
{
    struct node *n = mk(ps, N_NUM);
    if (n != NULL)
        n->s = digits;
    return n;
}

/* parse_arg: {..} | one digit | one letter | one command primary (LaTeX argument rules) */
static struct node *parse_arg(struct parser *ps)
{
    struct tok *t = peek(ps);
    if (is_ch(t, '(')) {
        struct node *g = parse_bracket(ps);
        if (g != NULL && is_struct(g)) {
            perr(ps, "a tuple as an argument at %d", t->pos);
            return NULL;
        }
        return g;
    }
    if (is_ch(t, '{')) {
        ps->i++;
        struct node *e = parse_sum(ps);
        if (e == NULL || !expect_ch(ps, '}', "}"))
            return NULL;
        return e;
    }
    if (t->k == TK_NUM) {
        /* one digit of a longer number: \frac12 */
        if (t->len == 1) {
            ps->i++;
            return make_num(ps, t->s);
        }
        if (!is_digit(t->s[0])) {
            unexpected(ps, t);
            return NULL;
        }
        char *d = lex_store(ps->lx, t->s, 1);
        if (d == NULL) {
            perr(ps, "out of memory");
            return NULL;
        }
        t->s++;
        t->len--;
        t->pos++;
        t->split = 1;
        return make_num(ps, d);
    }
    if (t->k == TK_LETTER || t->k == TK_CMD)
        return parse_primary(ps);
    char d[64];
    tok_desc(ps, t, d, sizeof(d));
    perr(ps, "missing argument at %s", d);
    return NULL;
}

/* parse_seq: elements separated by ',' up to (not including) a closer; returns a LIST node */
static struct node *parse_seq(struct parser *ps, int *count)
{
    struct node *list = mk(ps, N_LIST), *last = NULL;
    int n = 0;
    if (list == NULL)
        return NULL;
    for (;;) {
        struct node *e = parse_union(ps);
        if (e == NULL)
            return NULL;
        if (last == NULL)
            list->a = e;
        else
            last->next = e;
        last = e;
        n++;
        if (!is_ch(peek(ps), ','))
            break;
        ps->i++;
    }
    *count = n;
    return list;
}

/* parse_bracket: ( .. ) [ .. ] and mixed interval brackets */
static struct node *parse_bracket(struct parser *ps)
{
    struct tok *open = peek(ps);
    int oc = open->ch;
    ps->i++;
    int n = 0;
    struct node *list = parse_seq(ps, &n);
    if (list == NULL)
        return NULL;
    struct tok *close = peek(ps);
    if (!is_ch(close, ')') && !is_ch(close, ']')) {
        char d[64];
        tok_desc(ps, close, d, sizeof(d));
        perr(ps, "expected ) or ], got %s", d);
        return NULL;
    }
    int cc = close->ch;
    ps->i++;
    if (n == 1) {
        if ((oc == '(') != (cc == ')')) {
            perr(ps, "mismatched brackets at %d", close->pos);
            return NULL;
        }
        return list->a;
    }
    if (oc == '(' && cc == ')') {
        list->kind = N_TUPLE;
        return list;
    }
    if (n == 2) {
        list->kind = N_INTERVAL;
        list->flags = (unsigned char)((oc == '[' ? 1 : 0) | (cc == ']' ? 2 : 0));
        return list;
    }
    if (oc == '[' && cc == ']') {
        list->kind = N_TUPLE;
        return list;
    }
    perr(ps, "mismatched brackets at %d", close->pos);
    return NULL;
}

/* var_name: a variable's name with its subscript ("x_12"), stored in the string buffer */
static struct node *parse_variable(struct parser *ps, const char *name, int len, int letter)
{
    const char *sub = NULL;
    int sublen = 0;
    if (is_ch(peek(ps), '_')) {
        ps->i++;
        struct tok *t = peek(ps);
        const char *src = ps->lx->src;
        int a, b;
        if (is_ch(t, '{')) {
            int e = match_brace(src, t->pos, ps->lx->n);
            if (e < 0) {
                perr(ps, "unbalanced { at %d", t->pos);
                return NULL;
            }
            a = t->pos + 1;
            b = e;
            while (ps->i < ps->lim && ps->t[ps->i].pos <= e)
                ps->i++;
        } else if (t->k == TK_NUM || t->k == TK_LETTER || t->k == TK_CMD) {
            a = t->pos;
            b = t->k == TK_NUM ? t->pos + 1 : t->end;
            if (t->k == TK_NUM && t->len > 1) {
                t->s++;
                t->len--;
                t->pos++;
                t->split = 1;
            } else
                ps->i++;
        } else {
            unexpected(ps, t);
            return NULL;
        }
        sub = src + a;
        sublen = b - a;
    }
    if (sub == NULL && letter && len == 1 && (name[0] == 'e' || name[0] == 'i'))
        return mk(ps, name[0] == 'e' ? N_E : N_I);
    char tmp[96];
    int n = 0;
    for (int k = 0; k < len && n < 40; k++)
        tmp[n++] = name[k];
    if (sub != NULL) {
        tmp[n++] = '_';
        for (int k = 0; k < sublen && n < 90; k++)
            if (sub[k] != ' ' && sub[k] != '{' && sub[k] != '}')
                tmp[n++] = sub[k];
    }
    char *d = lex_store(ps->lx, tmp, n);
    if (d == NULL) {
        perr(ps, "out of memory");
        return NULL;
    }
    struct node *v = mk(ps, N_VAR);
    if (v != NULL)
        v->s = d;
    return v;
}

/* number_follows_number: t (the next token) is a number right after another number
   (`2 3`, `2\,3`, `\frac123`): never an implicit product; sets the error and returns 1 */
static int number_follows_number(struct parser *ps, const struct tok *t)
{
    if (t->k != TK_NUM)
        return 0;
    const struct tok *prev = ps->i > 0 ? &ps->t[ps->i - 1] : NULL;
    if (!t->split && (prev == NULL || (prev->k != TK_NUM && prev->k != TK_SCALE)))
        return 0;
    perr(ps, "two numbers in a row at %d", t->pos);
    return 1;
}

/* parse_chain: a function argument without brackets: implicit factors up to the next function */
static struct node *parse_chain(struct parser *ps)
{
    struct tok *t = peek(ps);
    if (is_ch(t, '-') || is_ch(t, '+'))
        return parse_unary(ps);
    struct node *f = parse_power(ps);
    if (f == NULL)
        return NULL;
    struct node *prod = NULL, *last = f;
    for (;;) {
        t = peek(ps);
        int ok = t->k == TK_NUM || t->k == TK_LETTER ||
                 (t->k == TK_CMD && (t->cmd == C_PI || t->cmd == C_GREEK || t->cmd == C_FRAC || t->cmd == C_SQRT ||
                                     t->cmd == C_BINOM));
        if (!ok || ps->bad)
            break;
        if (number_follows_number(ps, t))
            return NULL;
        struct node *g = parse_power(ps);
        if (g == NULL)
            return NULL;
        if (prod == NULL) {
            prod = mk(ps, N_PROD);
            if (prod == NULL)
                return NULL;
            prod->a = f;
            f->op = OP_MUL;
        }
        g->op = OP_MUL;
        last->next = g;
        last = g;
    }
    return prod != NULL ? prod : f;
}

static int is_minus_one(const struct node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == N_NEG && n->a->kind == N_NUM && strcmp(n->a->s, "1") == 0)
        return 1;
    return n->kind == N_SUM && n->a != NULL && n->a->next == NULL && n->a->op == OP_SUB && n->a->kind == N_NUM &&
           strcmp(n->a->s, "1") == 0;
}

static struct node *parse_function(struct parser *ps, int fn)
{
    struct node *base = NULL, *power = NULL;
    for (int k = 0; k < 2; k++) {
        struct tok *t = peek(ps);
        if (is_ch(t, '_') && base == NULL) {
            ps->i++;
            base = parse_arg(ps);
            if (base == NULL)
                return NULL;
        } else if (is_ch(t, '^') && power == NULL) {
            ps->i++;
            if (is_ch(peek(ps), '-')) {
                ps->i++;
                struct node *x = parse_arg(ps);
                if (x == NULL)
                    return NULL;
                power = mk2(ps, N_NEG, x, NULL);
            } else
                power = parse_arg(ps);
            if (power == NULL)
                return NULL;
        }
    }
    if (power != NULL && is_minus_one(power) && fn <= F_TAN) {
        fn = fn == F_SIN ? F_ASIN : fn == F_COS ? F_ACOS : F_ATAN;
        power = NULL;
    }
    struct node *arg;
    struct tok *t = peek(ps);
    if (is_ch(t, '(') || is_ch(t, '[')) {
        arg = parse_bracket(ps);
        if (arg != NULL && is_struct(arg)) {
            perr(ps, "a function of a tuple at %d", t->pos);
            return NULL;
        }
    } else if (is_ch(t, '{')) {
        ps->i++;
        arg = parse_sum(ps);
        if (arg != NULL && !expect_ch(ps, '}', "}"))
            return NULL;
    } else
        arg = parse_chain(ps);
    if (arg == NULL)
        return NULL;
    struct node *f = mk2(ps, N_FUNC, arg, base);
    if (f == NULL)
        return NULL;
    f->fn = (unsigned char)fn;
    if (power != NULL)
        return mk2(ps, N_POW, f, power);
    return f;
}

static int is_int_num(const struct node *n)
{
    return n != NULL && n->kind == N_NUM && strchr(n->s, '.') == NULL;
}

/* parse_based: a number in base 2..36 written with decimal digits, 204_5 or 204_{5} */
static struct node *parse_based(struct parser *ps, const struct tok *num)
{
    ps->i++; /* _ */
    int braced = is_ch(peek(ps), '{');
    if (braced)
        ps->i++;
    struct tok *b = peek(ps);
    if (b->k != TK_NUM || strchr(b->s, '.') != NULL || b->len > 2) {
        unexpected(ps, b);
        return NULL;
    }
    int base = atoi(b->s);
    ps->i++;
    if (braced && !expect_ch(ps, '}', "}"))
        return NULL;
    if (base < 2 || base > 36 || strchr(num->s, '.') != NULL || num->len > 4096) {
        perr(ps, "unsupported number base at %d", b->pos);
        return NULL;
    }
    mpz_t z;
    mpz_init(z);
    if (mpz_set_str(z, num->s, base) != 0) {
        mpz_clear(z);
        perr(ps, "digit out of range for base %d at %d", base, num->pos);
        return NULL;
    }
    char *dec = mpz_get_str(NULL, 10, z);
    mpz_clear(z);
    if (dec == NULL) {
        perr(ps, "out of memory");
        return NULL;
    }
    char *d = lex_store(ps->lx, dec, (int)strlen(dec));
    free(dec);
    if (d == NULL) {
        perr(ps, "number too long at %d", num->pos);
        return NULL;
    }
    return make_num(ps, d);
}

static struct node *parse_primary_inner(struct parser *ps)
{
    struct tok *t = peek(ps);
    switch (t->k) {
    case TK_NUM: {
        ps->i++;
        struct node *n = is_ch(peek(ps), '_') ? parse_based(ps, t) : make_num(ps, t->s);
        if (n == NULL)
            return NULL;
        struct tok *u = peek(ps);
        if (is_int_num(n) && is_cmd(u, C_FRAC)) {
            /* a mixed number 2\frac{1}{2}, or a product 2\frac{\pi}{3} */
            struct node *fr = parse_primary(ps);
            if (fr == NULL)
                return NULL;
            if (fr->kind == N_PROD && is_int_num(fr->a) && is_int_num(fr->a->next))
                return mk2(ps, N_MIXED, n, fr);
            struct node *p = mk(ps, N_PROD);
            if (p == NULL)
                return NULL;
            p->a = n;
            n->op = OP_MUL;
            n->next = fr;
            fr->op = OP_MUL;
            return p;
        }
        return n;
    }
    case TK_LETTER:
        ps->i++;
        return parse_variable(ps, t->s, 1, 1);
    case TK_CMD:
        ps->i++;
        switch (t->cmd) {
        case C_PI:
            return mk(ps, N_PI);
        case C_INF:
            return mk(ps, N_INF);
        case C_GREEK:
            return parse_variable(ps, t->s, t->len, 0);
        case C_EMPTY:
            return mk(ps, N_SET);
        case C_FRAC: {
            struct node *a = parse_arg(ps);
            struct node *b = a ? parse_arg(ps) : NULL;
            if (b == NULL)
                return NULL;
            struct node *p = mk(ps, N_PROD);
            if (p == NULL)
                return NULL;
            a->op = OP_MUL;
            b->op = OP_DIV;
            p->a = a;
            a->next = b;
            return p;
        }
        case C_SQRT: {
            struct node *idx = NULL;
            if (is_ch(peek(ps), '[')) {
                ps->i++;
                idx = parse_sum(ps);
                if (idx == NULL || !expect_ch(ps, ']', "]"))
                    return NULL;
            }
            struct node *a = parse_arg(ps);
            if (a == NULL)
                return NULL;
            return mk2(ps, N_SQRT, a, idx);
        }
        case C_BINOM: {
            struct node *a = parse_arg(ps);
            struct node *b = a ? parse_arg(ps) : NULL;
            if (b == NULL)
                return NULL;
            return mk2(ps, N_BINOM, a, b);
        }
        case C_FUNC:
            return parse_function(ps, t->fn);
        case C_LFLOOR:
        case C_LCEIL: {
            struct node *a = parse_sum(ps);
            if (a == NULL)
                return NULL;
            struct tok *c = peek(ps);
            if (!is_cmd(c, t->cmd == C_LFLOOR ? C_RFLOOR : C_RCEIL)) {
                unexpected(ps, c);
                return NULL;
            }
            ps->i++;
            return mk2(ps, t->cmd == C_LFLOOR ? N_FLOOR : N_CEIL, a, NULL);
        }
        default:
            ps->i--;
            unexpected(ps, t);
            return NULL;
        }
    case TK_CH:
        switch (t->ch) {
        case '(':
        case '[':
            return parse_bracket(ps);
        case '{': {
            ps->i++;
            if (is_ch(peek(ps), '}')) {
                perr(ps, "empty group at %d", t->pos);
                return NULL;
            }
            int n = 0;
            struct node *list = parse_seq(ps, &n);
            if (list == NULL)
                return NULL;
            if (!expect_ch(ps, '}', "}"))
                return NULL;
            return n == 1 ? list->a : list;
        }
        case CH_LSET: {
            ps->i++;
            struct node *set;
            if (is_ch(peek(ps), CH_RSET)) {
                set = mk(ps, N_SET);
            } else {
                int n = 0;
                set = parse_seq(ps, &n);
                if (set == NULL)
                    return NULL;
                set->kind = N_SET;
            }
            if (!expect_ch(ps, CH_RSET, "\\}"))
                return NULL;
            return set;
        }
        case '|': {
            ps->i++;
            ps->in_abs++;
            struct node *a = parse_sum(ps);
            ps->in_abs--;
            if (a == NULL || !expect_ch(ps, '|', "closing |"))
                return NULL;
            return mk2(ps, N_ABS, a, NULL);
        }
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (t->k == TK_END)
        perr(ps, "missing operand at end of input");
    else
        unexpected(ps, t);
    return NULL;
}

static struct node *parse_primary(struct parser *ps)
{
    if (!enter(ps))
        return NULL;
    struct node *n = parse_primary_inner(ps);
    ps->depth--;
    return n;
}

/* nest: one more level of a power/postfix chain (they nest without recursion, but the
   evaluators recurse on them); parse_power restores the depth at its end */
static int nest(struct parser *ps, const struct tok *t)
{
    if (++ps->depth > LATEX_MAX_DEPTH) {
        perr(ps, "too deep: nesting over %d at %d", LATEX_MAX_DEPTH, t->pos);
        return 0;
    }
    return 1;
}

/* wrap_postfix: primary followed by ! !! \% ^\circ and scale words (5 million) */
static struct node *wrap_postfix(struct parser *ps, struct node *n)
{
    while (n != NULL && !ps->bad) {
        struct tok *t = peek(ps);
        int kind;
        if (is_ch(t, '!')) {
            struct tok *u = peek2(ps);
            if (is_ch(u, '!') && u->pos == t->end) {
                ps->i += 2;
                kind = N_DFACT;
            } else {
                ps->i++;
                kind = N_FACT;
            }
        } else if (t->k == TK_PCT) {
            ps->i++;
            kind = N_PCT;
        } else if (t->k == TK_DEG) {
            ps->i++;
            kind = N_DEG;
        } else if (t->k == TK_SCALE) {
            ps->i++;
            if (!nest(ps, t))
                return NULL;
            struct node *f = make_num(ps, t->s), *p = mk(ps, N_PROD);
            if (f == NULL || p == NULL)
                return NULL;
            p->a = n;
            n->op = OP_MUL;
            n->next = f;
            f->op = OP_MUL;
            n = p;
            continue;
        } else if (is_ch(t, '^') && peek2(ps)->k == TK_DEG) {
            ps->i += 2;
            kind = N_DEG;
        } else if (is_ch(t, '^') && is_ch(peek2(ps), '{') && ps->i + 3 < ps->lim && ps->t[ps->i + 2].k == TK_DEG &&
                   is_ch(&ps->t[ps->i + 3], '}')) {
            ps->i += 4;
            kind = N_DEG;
        } else
            break;
        if (!nest(ps, t))
            return NULL;
        n = mk2(ps, kind, n, NULL);
    }
    return n;
}

/* parse_script: the exponent after ^ : {..} | a whole number (2^10 is 2^{10}, as
   sympy's parser reads it) | one token | -token */
static struct node *parse_script(struct parser *ps)
{
    int neg = 0;
    if (is_ch(peek(ps), '-')) {
        ps->i++;
        neg = 1;
    } else if (is_ch(peek(ps), '+'))
        ps->i++;
    struct node *x;
    if (peek(ps)->k == TK_NUM) {
        x = make_num(ps, peek(ps)->s);
        ps->i++;
    } else
        x = parse_arg(ps);
    return x && neg ? mk2(ps, N_NEG, x, NULL) : x;
}

static struct node *parse_power(struct parser *ps)
{
    int saved = ps->depth;
    struct node *n = wrap_postfix(ps, parse_primary(ps));
    while (n != NULL && !ps->bad) {
        struct tok *t = peek(ps);
        struct node *e;
        if (is_ch(t, '^')) {
            ps->i++;
            e = parse_script(ps);
        } else if (is_ch(t, CH_POW2)) {
            ps->i++;
            e = parse_unary(ps);
        } else
            break;
        if (e == NULL)
            return NULL;
        if (is_struct(e) || is_struct(n)) {
            perr(ps, "power of a tuple at %d", t->pos);
            return NULL;
        }
        if (!nest(ps, t))
            return NULL;
        n = wrap_postfix(ps, mk2(ps, N_POW, n, e));
    }
    ps->depth = saved;
    return n;
}

static struct node *parse_unary(struct parser *ps)
{
    struct tok *t = peek(ps);
    if (is_ch(t, '-') || is_ch(t, '+') || is_cmd(t, C_PM) || is_cmd(t, C_MP)) {
        if (!enter(ps))
            return NULL;
        ps->i++;
        struct node *x = parse_unary(ps);
        ps->depth--;
        if (x == NULL)
            return NULL;
        if (is_ch(t, '+'))
            return x;
        if (is_ch(t, '-'))
            return mk2(ps, N_NEG, x, NULL);
        struct node *p = mk2(ps, N_PMU, x, NULL);
        if (p != NULL)
            p->flags = (unsigned char)(is_cmd(t, C_PM) ? OP_PM : OP_MP);
        return p;
    }
    return parse_power(ps);
}

/* can a token start an implicit factor (2\pi, 3\sqrt2, 2(x+1), ab)? */
static int starts_factor(const struct parser *ps, const struct tok *t)
{
    switch (t->k) {
    case TK_NUM:
    case TK_LETTER:
        return 1;
    case TK_CMD:
        return t->cmd == C_PI || t->cmd == C_INF || t->cmd == C_GREEK || t->cmd == C_FRAC || t->cmd == C_SQRT ||
               t->cmd == C_BINOM || t->cmd == C_FUNC || t->cmd == C_LFLOOR || t->cmd == C_LCEIL;
    case TK_CH:
        return t->ch == '(' || t->ch == '{' || (t->ch == '|' && ps->in_abs == 0);
    default:
        return 0;
    }
}

static struct node *parse_term(struct parser *ps)
{
    struct node *f = parse_unary(ps);
    if (f == NULL)
        return NULL;
    struct node *prod = NULL, *last = f;
    for (;;) {
        struct tok *t = peek(ps);
        int op;
        struct node *g;
        if (is_ch(t, '*') || is_ch(t, '/')) {
            op = t->ch == '*' ? OP_MUL : OP_DIV;
            ps->i++;
            g = parse_unary(ps);
        } else if (starts_factor(ps, t)) {
            if (number_follows_number(ps, t))
                return NULL;
            op = OP_MUL;
            g = parse_power(ps);
        } else
            break;
        if (g == NULL)
            return NULL;
        if (prod == NULL) {
            prod = mk(ps, N_PROD);
            if (prod == NULL)
                return NULL;
            prod->a = f;
            f->op = OP_MUL;
        }
        g->op = (unsigned char)op;
        last->next = g;
        last = g;
    }
    return prod != NULL ? prod : f;
}

static struct node *parse_sum(struct parser *ps)
{
    if (!enter(ps))
        return NULL;
    struct node *sum = NULL, *last = NULL;
    int first = 1;
    for (;;) {
        struct tok *t = peek(ps);
        int op = OP_ADD;
        if (is_ch(t, '+'))
            op = OP_ADD;
        else if (is_ch(t, '-'))
            op = OP_SUB;
        else if (is_cmd(t, C_PM))
            op = OP_PM;
        else if (is_cmd(t, C_MP))
            op = OP_MP;
        else if (!first)
            break;
        else
            op = -1; /* no sign */
        if (op >= 0)
            ps->i++;
        struct node *x = parse_term(ps);
        if (x == NULL)
            return NULL;
        if (op < 0)
            op = OP_ADD;
        if (first && op == OP_ADD && !(is_ch(peek(ps), '+') || is_ch(peek(ps), '-') || is_cmd(peek(ps), C_PM) ||
                                       is_cmd(peek(ps), C_MP))) {
            ps->depth--;
            return x;
        }
        if (sum == NULL) {
            sum = mk(ps, N_SUM);
            if (sum == NULL)
                return NULL;
        }
        x->op = (unsigned char)op;
        if (last == NULL)
            sum->a = x;
        else
            last->next = x;
        last = x;
        first = 0;
    }
    ps->depth--;
    return sum;
}

static struct node *parse_union(struct parser *ps)
{
    struct node *x = parse_sum(ps);
    if (x != NULL && is_cmd(peek(ps), C_CHOOSE)) { /* {n \choose k} */
        ps->i++;
        struct node *k = parse_sum(ps);
        return k != NULL ? mk2(ps, N_BINOM, x, k) : NULL;
    }
    if (x == NULL || !is_cmd(peek(ps), C_CUP))
        return x;
    struct node *u = mk(ps, N_UNION), *last = x;
    if (u == NULL)
        return NULL;
    u->a = x;
    while (is_cmd(peek(ps), C_CUP)) {
        ps->i++;
        struct node *y = parse_sum(ps);
        if (y == NULL)
            return NULL;
        last->next = y;
        last = y;
    }
    return u;
}

/* check_struct: tuples, sets and intervals only at the top or inside each other */
static int check_struct(struct parser *ps, const struct node *n, int top, int depth)
{
    if (n == NULL)
        return 1;
    if (depth > 4 * LATEX_MAX_DEPTH) {
        perr(ps, "too deep");
        return 0;
    }
    if (is_struct(n)) {
        if (!top) {
            perr(ps, "a tuple, set or interval inside arithmetic");
            return 0;
        }
        if (n->kind == N_INTERVAL) {
            for (const struct node *c = n->a; c != NULL; c = c->next)
                if (!check_struct(ps, c, 0, depth + 1))
                    return 0;
            return 1;
        }
        for (const struct node *c = n->a; c != NULL; c = c->next)
            if (!check_struct(ps, c, 1, depth + 1))
                return 0;
        return 1;
    }
    if (n->kind == N_SUM || n->kind == N_PROD) {
        for (const struct node *c = n->a; c != NULL; c = c->next)
            if (!check_struct(ps, c, 0, depth + 1))
                return 0;
        return 1;
    }
    return check_struct(ps, n->a, 0, depth + 1) && check_struct(ps, n->b, 0, depth + 1);
}

/* ===== expression object ===== */

struct latex_expr {
    struct node *root;
    struct node *nodes;
    char *buf;
    char *key;
    int is_text;
};

static int text_word_is_sep(const struct tok *t)
{
    return t->k == TK_TEXT && ((t->len == 3 && strncasecmp(t->s, "and", 3) == 0) ||
                               (t->len == 2 && strncasecmp(t->s, "or", 2) == 0));
}

/* prepass: drop unit words (and a ^.. after them), turn top-level and/or into commas,
   drop trailing periods; returns the new token count */
static int prepass(struct tok *t, int nt)
{
    int w = 0;
    for (int r = 0; r < nt; r++) {
        struct tok *x = &t[r];
        if (x->k == TK_TEXT) {
            if (text_word_is_sep(x) && w > 0 && !is_ch(&t[w - 1], ',')) {
                t[w] = *x;
                t[w].k = TK_CH;
                t[w].ch = ',';
                w++;
            }
            /* a ^2 after a unit belongs to the unit */
            if (r + 1 < nt && is_ch(&t[r + 1], '^')) {
                r++;
                if (r + 1 < nt && is_ch(&t[r + 1], '{')) {
                    int level = 0;
                    for (r = r + 1; r < nt; r++) {
                        if (is_ch(&t[r], '{'))
                            level++;
                        else if (is_ch(&t[r], '}') && --level == 0)
                            break;
                    }
                } else if (r + 1 < nt && t[r + 1].k != TK_END)
                    r++;
            }
            continue;
        }
        t[w++] = *x;
    }
    /* a comma left dangling before the end by a dropped word */
    nt = w;
    w = 0;
    for (int r = 0; r < nt; r++) {
        struct tok *x = &t[r];
        if (is_ch(x, '.') && (r + 1 == nt || t[r + 1].k == TK_END || (is_ch(&t[r + 1], ',') && t[r + 1].depth == 0)))
            continue;
        if (is_ch(x, ',') && x->depth == 0 && (r + 1 == nt || t[r + 1].k == TK_END) && w > 0)
            continue;
        t[w++] = *x;
    }
    return w;
}

/* parse_element: tokens [a, b) at the top level */
static struct node *parse_element(struct parser *ps, int a, int b)
{
    /* the part after the last top-level = or \in; before \approx */
    for (int k = a; k < b; k++) {
        const struct tok *t = &ps->t[k];
        if (t->depth != 0)
            continue;
        if (is_cmd(t, C_APPROX)) {
            b = k;
            break;
        }
        if (is_ch(t, '=') || is_cmd(t, C_EQ))
            a = k + 1;
    }
    if (a >= b) {
        perr(ps, "empty answer part at %d", a < ps->nt ? ps->t[a].pos : ps->lx->n);
        return NULL;
    }
    ps->i = a;
    ps->lim = b;
    struct node *n = parse_union(ps);
    if (n == NULL)
        return NULL;
    if (ps->i < b) {
        unexpected(ps, &ps->t[ps->i]);
        return NULL;
    }
    return n;
}

/* parse_answer: tokens [0, n) (t[n] is the end) split at top-level , and ; */
static struct node *parse_answer(struct parser *ps, int n)
{
    struct node *list = NULL, *last = NULL;
    int start = 0;
    for (int k = 0; k <= n; k++) {
        const struct tok *t = &ps->t[k];
        if (k < n && !(t->depth == 0 && (is_ch(t, ',') || is_ch(t, ';'))))
            continue;
        struct node *e = parse_element(ps, start, k);
        if (e == NULL)
            return NULL;
        if (k == n && list == NULL)
            return e;
        if (list == NULL) {
            list = mk(ps, N_LIST);
            if (list == NULL)
                return NULL;
            list->a = e;
        } else
            last->next = e;
        last = e;
        start = k + 1;
    }
    return list;
}

char *latex_text_key(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *k = malloc(n + 1);
    if (k == NULL)
        return NULL;
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        unsigned char c = (unsigned char)s[r];
        if (c == '\\') {
            r++;
            while (r < n && is_alpha(s[r]))
                r++;
            r--;
            continue;
        }
        if (is_alpha(c) || is_digit(c))
            k[w++] = (char)tolower(c);
    }
    k[w] = '\0';
    return k;
}

void latex_free(struct latex_expr *e)
{
    if (e == NULL)
        return;
    free(e->nodes);
    free(e->buf);
    free(e->key);
    free(e);
}

int latex_is_text(const struct latex_expr *e)
{
    return e != NULL && e->is_text;
}

/* unwrap_braces: {{{5}}} -> 5 at any depth, in one pass: returns the offset of the inner
   part and sets *len to its length (0 and unchanged when there is nothing to unwrap) */
static size_t unwrap_braces(const char *s, size_t *len)
{
    size_t a = 0, b = *len;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    size_t lead = 0, trail = 0;
    while (a + lead < b && s[a + lead] == '{')
        lead++;
    if (lead == 0)
        return 0;
    /* a + lead >= 1 below, so s[b - 2 - trail] is inside the string */
    while (a + lead < b - trail && s[b - 1 - trail] == '}' && s[b - 2 - trail] != '\\')
        trail++;
    if (trail == 0)
        return 0;
    /* the k outer pairs match iff the core never drops below depth k and all is balanced */
    long depth = (long)lead, low = (long)lead;
    for (size_t i = a + lead; i < b - trail; i++) {
        if (s[i] == '\\' && i + 1 < b - trail) {
            i++;
            continue;
        }
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth < low)
            low = depth;
    }
    if (depth != (long)trail || low <= 0)
        return 0;
    size_t k = lead < trail ? lead : trail;
    if ((size_t)low < k)
        k = (size_t)low;
    *len = (b - k) - (a + k);
    return a + k;
}

struct latex_expr *latex_parse(const char *s, const struct latex_opts *o, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (s == NULL) {
        util_errf(err, errlen, "no answer");
        return NULL;
    }
    size_t len = strlen(s);
    if (len > LATEX_MAX_INPUT) {
        util_errf(err, errlen, "too long: %zu bytes (limit %d)", len, LATEX_MAX_INPUT);
        return NULL;
    }
    size_t skip = unwrap_braces(s, &len);
    struct latex_expr *e = calloc(1, sizeof(*e));
    struct lex lx;
    memset(&lx, 0, sizeof(lx));
    lx.src = s;
    lx.start = (int)skip;
    lx.n = (int)(skip + len);
    lx.cap = (int)(skip + len) + 8;
    lx.bcap = 3 * (int)(skip + len) + 256;
    lx.t = malloc((size_t)lx.cap * sizeof(struct tok));
    lx.buf = malloc((size_t)lx.bcap);
    lx.thousands = o != NULL && o->thousands;
    lx.err = err;
    lx.errlen = errlen;
    struct parser ps;
    memset(&ps, 0, sizeof(ps));
    if (e == NULL || lx.t == NULL || lx.buf == NULL) {
        util_errf(err, errlen, "out of memory");
        goto fail;
    }
    e->key = latex_text_key(s);
    if (e->key == NULL) {
        util_errf(err, errlen, "out of memory");
        goto fail;
    }
    lex_all(&lx);
    if (lx.bad)
        goto fail;
    /* a text answer: words only, no numbers, variables or operators */
    if (lx.n_math == 0 && (lx.n_text > 0 || lx.wordy) && e->key[0] != '\0') {
        e->is_text = 1;
        free(lx.t);
        e->buf = lx.buf;
        return e;
    }
    if (lx.neg_len > 0) {
        util_errf(err, errlen, "the word '%.*s' at %d changes the meaning", lx.neg_len > 20 ? 20 : lx.neg_len,
                  s + lx.neg_pos, lx.neg_pos);
        goto fail;
    }
    int nt = prepass(lx.t, lx.nt);
    ps.t = lx.t;
    ps.nt = nt;
    ps.lx = &lx;
    ps.err = err;
    ps.errlen = errlen;
    ps.cap = 2 * nt + 16;
    ps.nodes = malloc((size_t)ps.cap * sizeof(struct node));
    if (ps.nodes == NULL) {
        util_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (nt <= 1) {
        util_errf(err, errlen, "empty answer");
        goto fail;
    }
    struct node *root = parse_answer(&ps, nt - 1);
    if (root == NULL || ps.bad) {
        if (!ps.bad)
            util_errf(err, errlen, "empty answer");
        goto fail;
    }
    if (!check_struct(&ps, root, 1, 0))
        goto fail;
    e->root = root;
    e->nodes = ps.nodes;
    e->buf = lx.buf;
    free(lx.t);
    return e;
fail:
    free(ps.nodes);
    free(lx.t);
    free(lx.buf);
    if (e != NULL)
        free(e->key);
    free(e);
    return NULL;
}

/* ===== evaluation ===== */

enum ev { EV_OK, EV_IRR, EV_BIG, EV_DOM, EV_NONSCALAR };

typedef long double complex cval;

struct eqctx {
    int pm;         /* sign of \pm in the value being evaluated: +1 or -1 */
    int in_trig;
    int nv;
    const char *vname[LATEX_MAX_VARS];
    cval vval[LATEX_MAX_VARS];
    long budget;    /* comparisons left */
    char *reason;   /* NULL while matching set elements (mismatches are expected there) */
    size_t reasonlen;
    char undecided[96]; /* why a comparison could not be decided (the first cap hit) */
};

/* comparison results */
enum { CMP_NO = 0, CMP_YES = 1, CMP_UNDECIDED = -1 };

static void set_reason(struct eqctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_reason(struct eqctx *c, const char *fmt, ...)
{
    if (c->reason == NULL || c->reasonlen == 0 || c->reason[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, c->reasonlen, fmt, ap);
    va_end(ap);
}

static int undecided(struct eqctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* undecided: a cap stopped the comparison; records the first such reason, returns CMP_UNDECIDED */
static int undecided(struct eqctx *c, const char *fmt, ...)
{
    if (c->undecided[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->undecided, sizeof(c->undecided), fmt, ap);
        va_end(ap);
    }
    return CMP_UNDECIDED;
}

static size_t q_bits(const mpq_t q)
{
    return mpz_sizeinbase(mpq_numref(q), 2) + mpz_sizeinbase(mpq_denref(q), 2);
}

static enum ev q_check(const mpq_t q)
{
    return q_bits(q) > LATEX_MAX_BITS ? EV_BIG : EV_OK;
}

/* log2 |z| for z != 0 */
static double z_log2(const mpz_t z)
{
    long e;
    double d = mpz_get_d_2exp(&e, z);
    return (double)e + log2(fabs(d));
}

static int q_is_int(const mpq_t q)
{
    return mpz_cmp_ui(mpq_denref(q), 1) == 0;
}

/* q_num: a decimal literal, "12", "1.25", or "0.1(6)" (repeating digits in parentheses) */
static enum ev q_num(const char *digits, mpq_t out)
{
    size_t n = strlen(digits);
    if (n > LATEX_MAX_BITS / 4)
        return EV_BIG;
    const char *dot = strchr(digits, '.');
    const char *paren = strchr(digits, '(');
    size_t plain = paren != NULL ? (size_t)(paren - digits) : n;
    char tmp[64];
    char *buf = n < sizeof(tmp) ? tmp : malloc(n + 1);
    if (buf == NULL)
        return EV_BIG;
    size_t w = 0;
    for (size_t r = 0; r < plain; r++)
        if (digits[r] != '.')
            buf[w++] = digits[r];
    buf[w] = '\0';
    if (w == 0 || mpz_set_str(mpq_numref(out), buf, 10) != 0)
        mpz_set_ui(mpq_numref(out), 0);
    mpz_set_ui(mpq_denref(out), 1);
    unsigned long frac = dot != NULL ? (unsigned long)(plain - (size_t)(dot - digits) - 1) : 0;
    mpz_ui_pow_ui(mpq_denref(out), 10, frac);
    mpq_canonicalize(out);
    if (paren != NULL && dot != NULL) {
        /* + rep / (10^frac * (10^k - 1)) */
        size_t k = 0;
        for (const char *r = paren + 1; *r && *r != ')'; r++)
            buf[k++] = *r;
        buf[k] = '\0';
        if (k > 0) {
            mpq_t rep;
            mpq_init(rep);
            mpz_set_str(mpq_numref(rep), buf, 10);
            mpz_ui_pow_ui(mpq_denref(rep), 10, (unsigned long)k);
            mpz_sub_ui(mpq_denref(rep), mpq_denref(rep), 1);
            mpz_t t;
            mpz_init(t);
            mpz_ui_pow_ui(t, 10, frac);
            mpz_mul(mpq_denref(rep), mpq_denref(rep), t);
            mpz_clear(t);
            mpq_canonicalize(rep);
            mpq_add(out, out, rep);
            mpq_clear(rep);
        }
    }
    if (buf != tmp)
        free(buf);
    return EV_OK;
}

/* q_root: exact k-th root of q (k >= 2) into out, EV_IRR when not rational */
static enum ev q_root(mpq_t out, const mpq_t q, unsigned long k)
{
    int neg = mpq_sgn(q) < 0;
    if (neg && k % 2 == 0)
        return EV_IRR;
    mpz_t a, b;
    mpz_init(a);
    mpz_init(b);
    mpz_abs(a, mpq_numref(q));
    int ok = mpz_root(a, a, k) != 0;
    if (ok)
        ok = mpz_root(b, mpq_denref(q), k) != 0;
    if (ok) {
        if (neg)
            mpz_neg(a, a);
        mpz_set(mpq_numref(out), a);
        mpz_set(mpq_denref(out), b);
        mpq_canonicalize(out);
    }
    mpz_clear(a);
    mpz_clear(b);
    return ok ? EV_OK : EV_IRR;
}

/* q_pow: base^ex exactly */
static enum ev q_pow(mpq_t out, const mpq_t base, const mpq_t ex)
{
    int sb = mpq_sgn(base);
    if (!q_is_int(ex)) {
        if (sb == 0) {
            if (mpq_sgn(ex) > 0) {
                mpq_set_ui(out, 0, 1);
                return EV_OK;
            }
            return EV_DOM;
        }
        if (!mpz_fits_ulong_p(mpq_denref(ex)) || mpz_cmp_ui(mpq_denref(ex), 1000) > 0)
            return EV_IRR;
        mpq_t r, e2;
        mpq_init(r);
        mpq_init(e2);
        enum ev st = q_root(r, base, mpz_get_ui(mpq_denref(ex)));
        if (st == EV_OK) {
            mpq_set_z(e2, mpq_numref(ex));
            st = q_pow(out, r, e2);
        }
        mpq_clear(r);
        mpq_clear(e2);
        return st;
    }
    /* integer exponent */
    if (sb == 0) {
        int se = mpq_sgn(ex);
        if (se < 0)
            return EV_DOM;
        mpq_set_ui(out, se == 0 ? 1 : 0, 1);
        return EV_OK;
    }
    if (mpz_cmpabs_ui(mpq_numref(base), 1) == 0 && mpz_cmp_ui(mpq_denref(base), 1) == 0) {
        int odd = mpz_odd_p(mpq_numref(ex));
        mpq_set_si(out, (sb < 0 && odd) ? -1 : 1, 1);
        return EV_OK;
    }
    if (!mpz_fits_slong_p(mpq_numref(ex)))
        return EV_BIG;
    long e = mpz_get_si(mpq_numref(ex));
    unsigned long ue = e < 0 ? (unsigned long)(-(e + 1)) + 1 : (unsigned long)e;
    double est = ((double)ue) * (z_log2(mpq_numref(base)) + z_log2(mpq_denref(base)));
    if (est > LATEX_MAX_BITS)
        return EV_BIG;
    mpz_pow_ui(mpq_numref(out), mpq_numref(base), ue);
    mpz_pow_ui(mpq_denref(out), mpq_denref(base), ue);
    mpq_canonicalize(out);
    if (e < 0)
        mpq_inv(out, out);
    return q_check(out);
}

static int has_var_or_const(const struct node *n);

static enum ev qeval(struct eqctx *c, const struct node *n, mpq_t out);

/* qeval_small_int: n as an exact integer in [lo, hi] */
static enum ev qeval_long(struct eqctx *c, const struct node *n, long *v, int *is_int)
{
    mpq_t q;
    mpq_init(q);
    enum ev st = qeval(c, n, q);
    *is_int = 0;
    if (st == EV_OK && q_is_int(q)) {
        *is_int = 1;
        if (mpz_fits_slong_p(mpq_numref(q)))
            *v = mpz_get_si(mpq_numref(q));
        else
            *v = mpz_sgn(mpq_numref(q)) < 0 ? -2147483647L : 2147483647L;
    }
    mpq_clear(q);
    return st;
}

static enum ev qeval(struct eqctx *c, const struct node *n, mpq_t out)
{
    enum ev st = EV_OK;
    switch (n->kind) {
    case N_NUM:
        return q_num(n->s, out);
    case N_VAR:
    case N_PI:
    case N_E:
    case N_I:
    case N_INF:
    case N_FUNC:
        return EV_IRR;
    case N_SUM: {
        mpq_t t;
        mpq_init(t);
        mpq_set_ui(out, 0, 1);
        for (const struct node *k = n->a; k != NULL && st == EV_OK; k = k->next) {
            st = qeval(c, k, t);
            if (st != EV_OK)
                break;
            int neg = k->op == OP_SUB || (k->op == OP_PM && c->pm < 0) || (k->op == OP_MP && c->pm > 0);
            if (neg)
                mpq_sub(out, out, t);
            else
                mpq_add(out, out, t);
            st = q_check(out);
        }
        mpq_clear(t);
        return st;
    }
    case N_PROD: {
        mpq_t t;
        mpq_init(t);
        mpq_set_ui(out, 1, 1);
        for (const struct node *k = n->a; k != NULL && st == EV_OK; k = k->next) {
            st = qeval(c, k, t);
            if (st != EV_OK)
                break;
            if (k->op == OP_DIV) {
                if (mpq_sgn(t) == 0) {
                    st = EV_DOM;
                    break;
                }
                mpq_div(out, out, t);
            } else
                mpq_mul(out, out, t);
            st = q_check(out);
        }
        mpq_clear(t);
        return st;
    }
    case N_NEG:
        st = qeval(c, n->a, out);
        if (st == EV_OK)
            mpq_neg(out, out);
        return st;
    case N_PMU:
        st = qeval(c, n->a, out);
        if (st == EV_OK && ((n->flags == OP_PM && c->pm < 0) || (n->flags == OP_MP && c->pm > 0)))
            mpq_neg(out, out);
        return st;
    case N_POW: {
        mpq_t b;
        mpq_init(b);
        st = qeval(c, n->a, out);
        if (st == EV_OK)
            st = qeval(c, n->b, b);
        if (st == EV_OK) {
            mpq_t base;
            mpq_init(base);
            mpq_set(base, out);
            st = q_pow(out, base, b);
            mpq_clear(base);
        }
        mpq_clear(b);
        return st;
    }
    case N_SQRT: {
        unsigned long k = 2;
        if (n->b != NULL) {
            long v = 0;
            int isint = 0;
            st = qeval_long(c, n->b, &v, &isint);
            if (st != EV_OK)
                return st;
            if (!isint || v < 1 || v > 1000)
                return EV_IRR;
            k = (unsigned long)v;
        }
        st = qeval(c, n->a, out);
        if (st != EV_OK || k == 1)
            return st;
        mpq_t r;
        mpq_init(r);
        st = q_root(r, out, k);
        if (st == EV_OK)
            mpq_set(out, r);
        mpq_clear(r);
        return st;
    }
    case N_FACT:
    case N_DFACT: {
        long v = 0;
        int isint = 0;
        st = qeval_long(c, n->a, &v, &isint);
        if (st != EV_OK)
            return st;
        if (!isint)
            return EV_IRR;
        if (v < 0)
            return n->kind == N_DFACT && v == -1 ? (mpq_set_ui(out, 1, 1), EV_OK) : EV_DOM;
        if (v > (n->kind == N_FACT ? LATEX_MAX_FACT : 2 * LATEX_MAX_FACT))
            return EV_BIG;
        if (n->kind == N_FACT)
            mpz_fac_ui(mpq_numref(out), (unsigned long)v);
        else
            mpz_2fac_ui(mpq_numref(out), (unsigned long)v);
        mpz_set_ui(mpq_denref(out), 1);
        return EV_OK;
    }
    case N_BINOM: {
        long nn = 0, kk = 0;
        int i1 = 0, i2 = 0;
        st = qeval_long(c, n->a, &nn, &i1);
        if (st == EV_OK)
            st = qeval_long(c, n->b, &kk, &i2);
        if (st != EV_OK)
            return st;
        if (!i1 || !i2)
            return EV_IRR;
        if (kk < 0 || (nn >= 0 && kk > nn)) {
            mpq_set_ui(out, 0, 1);
            return EV_OK;
        }
        if (nn >= 0 && kk > nn - kk)
            kk = nn - kk;
        double est = nn >= 0 ? fmin((double)nn, (double)kk * log2((double)nn + 1.0))
                             : (double)kk * log2(fabs((double)nn) + (double)kk + 1.0);
        if (est > LATEX_MAX_BITS || nn > 100000000L || nn < -100000000L)
            return EV_BIG;
        mpz_set_si(mpq_numref(out), nn);
        mpz_bin_ui(mpq_numref(out), mpq_numref(out), (unsigned long)kk);
        mpz_set_ui(mpq_denref(out), 1);
        return EV_OK;
    }
    case N_PCT:
    case N_DEG:
        return qeval(c, n->a, out);
    case N_ABS:
        st = qeval(c, n->a, out);
        if (st == EV_OK)
            mpq_abs(out, out);
        return st;
    case N_FLOOR:
    case N_CEIL:
        st = qeval(c, n->a, out);
        if (st == EV_OK) {
            if (n->kind == N_FLOOR)
                mpz_fdiv_q(mpq_numref(out), mpq_numref(out), mpq_denref(out));
            else
                mpz_cdiv_q(mpq_numref(out), mpq_numref(out), mpq_denref(out));
            mpz_set_ui(mpq_denref(out), 1);
        }
        return st;
    case N_MIXED: {
        mpq_t f;
        mpq_init(f);
        st = qeval(c, n->a, out);
        if (st == EV_OK)
            st = qeval(c, n->b, f);
        if (st == EV_OK)
            mpq_add(out, out, f);
        mpq_clear(f);
        return st;
    }
    default:
        return EV_NONSCALAR;
    }
}

/* ----- numeric ----- */

static const long double PI_L = 3.141592653589793238462643383279502884L;

static int c_isreal(cval z)
{
    return cimagl(z) == 0.0L;
}

static int c_finite(cval z)
{
    return isfinite(creall(z)) && isfinite(cimagl(z));
}

static cval neval(struct eqctx *c, const struct node *n, long double *err);
static long double q_to_ld_precise(const mpq_t q);

/* exponent or root index as a small exact rational p/q, when it is one */
static int small_rational(struct eqctx *c, const struct node *n, long *p, long *q)
{
    if (has_var_or_const(n))
        return 0;
    mpq_t v;
    mpq_init(v);
    int ok = qeval(c, n, v) == EV_OK && mpz_fits_slong_p(mpq_numref(v)) && mpz_fits_slong_p(mpq_denref(v));
    if (ok) {
        *p = mpz_get_si(mpq_numref(v));
        *q = mpz_get_si(mpq_denref(v));
    }
    mpq_clear(v);
    return ok;
}

/* c_pow: real-first power: a negative base with an exponent p/q, q odd, gives the real root */
static cval c_pow(struct eqctx *c, cval b, cval e, const struct node *en)
{
    if (c_isreal(b) && c_isreal(e)) {
        long double rb = creall(b), re = creall(e);
        if (rb >= 0.0L || re == floorl(re))
            return powl(rb, re);
        long p = 0, q = 1;
        if (en != NULL && small_rational(c, en, &p, &q) && q % 2 != 0) {
            long double m = powl(-rb, re);
            return (p % 2 != 0) ? -m : m;
        }
    }
    if (b == 0.0L)
        return creall(e) > 0.0L ? 0.0L : NAN;
    return cpowl(b, e);
}

static cval c_func(int fn, cval x, int real)
{
    long double r = creall(x);
    switch (fn) {
    case F_SIN: return real ? sinl(r) : csinl(x);
    case F_COS: return real ? cosl(r) : ccosl(x);
    case F_TAN: return real ? tanl(r) : ctanl(x);
    case F_COT: return real ? 1.0L / tanl(r) : 1.0L / ctanl(x);
    case F_SEC: return real ? 1.0L / cosl(r) : 1.0L / ccosl(x);
    case F_CSC: return real ? 1.0L / sinl(r) : 1.0L / csinl(x);
    case F_ASIN: return real && fabsl(r) <= 1.0L ? asinl(r) : casinl(x);
    case F_ACOS: return real && fabsl(r) <= 1.0L ? acosl(r) : cacosl(x);
    case F_ATAN: return real ? atanl(r) : catanl(x);
    case F_SINH: return real ? sinhl(r) : csinhl(x);
    case F_COSH: return real ? coshl(r) : ccoshl(x);
    case F_TANH: return real ? tanhl(r) : ctanhl(x);
    case F_LN:
    case F_LOG: return real && r > 0.0L ? logl(r) : clogl(x);
    case F_LG: return real && r > 0.0L ? log10l(r) : clogl(x) / logl(10.0L);
    case F_EXP: return real ? expl(r) : cexpl(x);
    }
    return NAN;
}

static int is_trig(int fn)
{
    return fn <= F_CSC;
}

static cval n_binom(cval n, cval k)
{
    if (!c_isreal(n) || !c_isreal(k))
        return NAN;
    long double rn = creall(n), rk = creall(k);
    if (rk == floorl(rk) && rk >= 0.0L && rk <= 2000.0L) {
        long double r = 1.0L;
        for (long j = 1; j <= (long)rk; j++)
            r = r * (rn - rk + (long double)j) / (long double)j;
        return r;
    }
    return tgammal(rn + 1.0L) / (tgammal(rk + 1.0L) * tgammal(rn - rk + 1.0L));
}

/* f_deriv: |f'(x)| for the error bound of fn at x (v = fn(x)); may be infinite */
static long double f_deriv(int fn, cval x, cval v)
{
    switch (fn) {
    case F_SIN: return cabsl(ccosl(x));
    case F_COS: return cabsl(csinl(x));
    case F_TAN:
    case F_COT: return cabsl(1.0L + v * v);
    case F_SEC: return cabsl(v * ctanl(x));
    case F_CSC: return cabsl(v / ctanl(x));
    case F_ASIN:
    case F_ACOS: return 1.0L / cabsl(csqrtl(1.0L - x * x));
    case F_ATAN: return 1.0L / cabsl(1.0L + x * x);
    case F_SINH: return cabsl(ccoshl(x));
    case F_COSH: return cabsl(csinhl(x));
    case F_TANH: return cabsl(1.0L - v * v);
    case F_LN:
    case F_LOG: return 1.0L / cabsl(x);
    case F_LG: return 1.0L / (cabsl(x) * logl(10.0L));
    case F_EXP: return cabsl(v);
    }
    return INFINITY;
}

/* neval: the value of n at the current point, with *err set to a bound on its rounding
   error: every rounding step (a decimal literal, pi, e, an operation, a library function)
   is charged LATEX_ERR_UNIT of its result, and errors propagate through each operation
   to first order. Exact integer literals and the points' values have no error. */
static cval neval(struct eqctx *c, const struct node *n, long double *err)
{
    const long double u = LATEX_ERR_UNIT;
    *err = 0.0L;
    switch (n->kind) {
    case N_NUM: {
        if (strlen(n->s) > 6000)
            return INFINITY;
        long double v;
        if (strchr(n->s, '(') == NULL) {
            v = strtold(n->s, NULL);
            /* an integer literal below 2^63 converts exactly */
            if (strchr(n->s, '.') != NULL || fabsl(v) >= 9.2e18L)
                *err = u * fabsl(v);
            return v;
        }
        mpq_t q;
        mpq_init(q);
        v = q_num(n->s, q) == EV_OK ? q_to_ld_precise(q) : NAN;
        mpq_clear(q);
        *err = u * fabsl(v);
        return v;
    }
    case N_VAR:
        for (int k = 0; k < c->nv; k++)
            if (strcmp(c->vname[k], n->s) == 0)
                return c->vval[k];
        return NAN;
    case N_PI:
        *err = u * PI_L;
        return PI_L;
    case N_E:
        *err = u * expl(1.0L);
        return expl(1.0L);
    case N_I:
        return I;
    case N_INF:
        return INFINITY;
    case N_SUM: {
        cval s = 0;
        long double e = 0.0L;
        for (const struct node *k = n->a; k != NULL; k = k->next) {
            long double ek;
            cval v = neval(c, k, &ek);
            int neg = k->op == OP_SUB || (k->op == OP_PM && c->pm < 0) || (k->op == OP_MP && c->pm > 0);
            s = neg ? s - v : s + v;
            e += ek + u * cabsl(s);
        }
        *err = e;
        return s;
    }
    case N_PROD: {
        cval p = 1;
        long double e = 0.0L;
        for (const struct node *k = n->a; k != NULL; k = k->next) {
            long double ek;
            cval v = neval(c, k, &ek);
            long double ap = cabsl(p), av = cabsl(v);
            if (k->op == OP_DIV) {
                if (v == 0.0L)
                    return NAN;
                /* d(p/v) = dp/v - p dv/v^2; a divisor that may be 0 bounds nothing */
                e = ek >= av ? INFINITY : (e + ap * ek / av) / (av - ek);
                p = p / v;
            } else {
                e = ap * ek + av * e + (ek > 0.0L && e > 0.0L ? e * ek : 0.0L);
                p = p * v;
            }
            e += u * cabsl(p);
        }
        *err = e;
        return p;
    }
    case N_NEG:
        return -neval(c, n->a, err);
    case N_PMU: {
        cval v = neval(c, n->a, err);
        return ((n->flags == OP_PM && c->pm < 0) || (n->flags == OP_MP && c->pm > 0)) ? -v : v;
    }
    case N_POW: {
        long double eb, ee;
        cval b = neval(c, n->a, &eb);
        cval e = neval(c, n->b, &ee);
        cval v = c_pow(c, b, e, n->b);
        long double av = cabsl(v), ab = cabsl(b);
        if (ab == 0.0L)
            /* 0^e: the base's error raised to the power */
            *err = eb > 0.0L && creall(e) > 0.0L ? powl(eb, creall(e)) : 0.0L;
        else
            *err = av * (cabsl(e) * eb / ab + cabsl(clogl(b)) * ee) + u * av;
        return v;
    }
    case N_SQRT: {
        long double ex, ek = 0.0L;
        cval x = neval(c, n->a, &ex);
        cval v;
        long double k = 2.0L;
        if (n->b == NULL) {
            if (c_isreal(x))
                v = creall(x) >= 0.0L ? sqrtl(creall(x)) : I * sqrtl(-creall(x));
            else
                v = csqrtl(x);
        } else {
            cval kv = neval(c, n->b, &ek);
            if (kv == 0.0L)
                return NAN;
            long p = 0, q = 1;
            if (c_isreal(x) && creall(x) < 0.0L && small_rational(c, n->b, &p, &q) && q == 1 && p % 2 != 0)
                v = -powl(-creall(x), 1.0L / (long double)p);
            else
                v = c_pow(c, x, 1.0L / kv, NULL);
            k = cabsl(kv);
        }
        long double ax = cabsl(x), av = cabsl(v);
        if (ax == 0.0L)
            *err = ex > 0.0L && k > 0.0L ? powl(ex, 1.0L / k) : 0.0L;
        else
            *err = av * (ex / (k * ax) + cabsl(clogl(x)) * ek / (k * k)) + u * av;
        return v;
    }
    case N_FUNC: {
        int trig = is_trig(n->fn);
        int saved = c->in_trig;
        c->in_trig = trig;
        long double ex;
        cval x = neval(c, n->a, &ex);
        c->in_trig = saved;
        cval v = c_func(n->fn, x, c_isreal(x));
        long double d = f_deriv(n->fn, x, v), e = d * ex;
        if (n->fn == F_ASIN || n->fn == F_ACOS) {
            /* near +-1 the derivative blows up: |asin(x+h) - asin(x)| <= 2 sqrt|h| */
            long double alt = 2.0L * sqrtl(ex);
            if (!(e <= alt))
                e = alt;
        }
        if (ex == 0.0L)
            e = 0.0L;
        e += u * cabsl(v);
        if (n->b != NULL) {
            long double ebase;
            cval b = neval(c, n->b, &ebase);
            cval lb = (c_isreal(b) && creall(b) > 0.0L) ? logl(creall(b)) : clogl(b);
            if (lb == 0.0L)
                return NAN;
            long double alb = cabsl(lb), elb = ebase / cabsl(b) + u * alb;
            v = (n->fn == F_LOG || n->fn == F_LN) ? v / lb : NAN;
            e = elb >= alb ? INFINITY : (e + cabsl(v) * elb) / (alb - elb) + u * cabsl(v);
        }
        *err = e;
        return v;
    }
    case N_FACT: {
        long double ex;
        cval x = neval(c, n->a, &ex);
        if (!c_isreal(x) || (creall(x) < 0.0L && creall(x) == floorl(creall(x))))
            return NAN;
        long double v = tgammal(creall(x) + 1.0L);
        /* (ln Gamma)' = digamma, below ln(|x| + 2) + 1 away from the poles */
        *err = fabsl(v) * ((logl(fabsl(creall(x)) + 2.0L) + 1.0L) * ex + 4.0L * u);
        return v;
    }
    case N_DFACT: {
        long double ex;
        cval x = neval(c, n->a, &ex);
        if (!c_isreal(x) || creall(x) != floorl(creall(x)) || creall(x) < -1.0L || creall(x) > 3000.0L || ex > 0.25L)
            return NAN;
        long double r = 1.0L;
        long steps = 0;
        for (long double k = creall(x); k > 1.0L; k -= 2.0L, steps++)
            r *= k;
        *err = u * fabsl(r) * (long double)(steps + 1);
        return r;
    }
    case N_BINOM: {
        long double en, ek;
        cval nv = neval(c, n->a, &en);
        cval kv = neval(c, n->b, &ek);
        cval v = n_binom(nv, kv);
        long double rk = fabsl(creall(kv)), av = cabsl(v);
        long double spread = logl(cabsl(nv) + rk + 2.0L) + 1.0L;
        *err = av * (u * (2.0L * fminl(rk, 2000.0L) + 8.0L) + (en + ek) * spread * (rk + 1.0L));
        return v;
    }
    case N_PCT:
        return neval(c, n->a, err);
    case N_DEG: {
        long double e;
        cval v = neval(c, n->a, &e);
        if (!c->in_trig) {
            *err = e;
            return v;
        }
        cval r = v * PI_L / 180.0L;
        *err = e * PI_L / 180.0L + 2.0L * u * cabsl(r);
        return r;
    }
    case N_ABS: {
        cval v = neval(c, n->a, err);
        return cabsl(v);
    }
    case N_FLOOR:
    case N_CEIL: {
        long double e;
        cval v = neval(c, n->a, &e);
        if (!c_isreal(v))
            return NAN;
        long double r = creall(v);
        /* a value within its error of an integer may round either way */
        *err = fabsl(r - roundl(r)) < e ? 1.0L : 0.0L;
        return n->kind == N_FLOOR ? floorl(r) : ceill(r);
    }
    case N_MIXED: {
        long double e1, e2;
        cval v = neval(c, n->a, &e1) + neval(c, n->b, &e2);
        *err = e1 + e2 + u * cabsl(v);
        return v;
    }
    default:
        return NAN;
    }
}

/* ===== comparison ===== */

static int has_var_or_const(const struct node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == N_VAR || n->kind == N_PI || n->kind == N_E || n->kind == N_I || n->kind == N_INF)
        return 1;
    if (n->kind == N_SUM || n->kind == N_PROD) {
        for (const struct node *k = n->a; k != NULL; k = k->next)
            if (has_var_or_const(k))
                return 1;
        return 0;
    }
    return has_var_or_const(n->a) || has_var_or_const(n->b);
}

static int has_pm(const struct node *n)
{
    if (n == NULL || is_struct(n))
        return 0;
    if (n->kind == N_PMU)
        return 1;
    if (n->kind == N_SUM || n->kind == N_PROD) {
        for (const struct node *k = n->a; k != NULL; k = k->next)
            if (k->op == OP_PM || k->op == OP_MP || has_pm(k))
                return 1;
        return 0;
    }
    return has_pm(n->a) || has_pm(n->b);
}

/* collect_vars: distinct variable names of n; -1 when there are too many */
static int collect_vars(struct eqctx *c, const struct node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == N_VAR) {
        for (int k = 0; k < c->nv; k++)
            if (strcmp(c->vname[k], n->s) == 0)
                return 0;
        if (c->nv >= LATEX_MAX_VARS)
            return -1;
        c->vname[c->nv++] = n->s;
        return 0;
    }
    if (n->kind == N_SUM || n->kind == N_PROD) {
        for (const struct node *k = n->a; k != NULL; k = k->next)
            if (collect_vars(c, k) < 0)
                return -1;
        return 0;
    }
    if (collect_vars(c, n->a) < 0)
        return -1;
    return collect_vars(c, n->b);
}

/* a variable's value at a point: from its name only, so both sides agree; the
   magnitude is in [0.5, 2.5) */
static long double var_value(const char *name, int point)
{
    uint64_t h = util_hash_str(name) ^ util_mix64((uint64_t)point * 0x9E3779B97F4A7C15ULL + 0x5851F42D4C957F2DULL);
    uint64_t m = util_mix64(h);
    long double v = 0.5L + 2.0L * (long double)(m >> 11) / (long double)(1ULL << 53);
    /* point 0 is positive; later points take a random sign, so |x| and x differ */
    return (point > 0 && (m & 1)) ? -v : v;
}

/* +1 / -1 for a written infinity (\infty, -\infty, +\infty), 0 otherwise */
static int inf_sign(const struct node *n)
{
    int s = 1;
    for (int guard = 0; n != NULL && guard < 8; guard++) {
        if (n->kind == N_INF)
            return s;
        if (n->kind == N_NEG)
            s = -s, n = n->a;
        else if (n->kind == N_SUM && n->a != NULL && n->a->next == NULL) {
            if (n->a->op == OP_SUB)
                s = -s;
            else if (n->a->op != OP_ADD)
                return 0;
            n = n->a;
        } else
            return 0;
    }
    return 0;
}

static long double q_to_ld(const mpq_t q)
{
    long en, ed;
    double dn = mpz_get_d_2exp(&en, mpq_numref(q));
    double dd = mpz_get_d_2exp(&ed, mpq_denref(q));
    return ldexpl((long double)dn / (long double)dd, (int)(en - ed));
}

/* a more precise conversion than q_to_ld for numbers that fit: num and den as long double */
static long double q_to_ld_precise(const mpq_t q)
{
    if (mpz_sizeinbase(mpq_numref(q), 2) <= 64 && mpz_sizeinbase(mpq_denref(q), 2) <= 64) {
        char buf[48];
        long double num, den;
        gmp_snprintf(buf, sizeof(buf), "%Zd", mpq_numref(q));
        num = strtold(buf, NULL);
        gmp_snprintf(buf, sizeof(buf), "%Zd", mpq_denref(q));
        den = strtold(buf, NULL);
        return num / den;
    }
    return q_to_ld(q);
}

/* close_enough: equal within the relative tolerance or the two error bounds (when finite) */
static int close_enough(cval a, long double ea, cval b, long double eb)
{
    long double d = cabsl(a - b);
    long double m = fmaxl(cabsl(a), cabsl(b));
    return d <= LATEX_REL_TOL * m || (isfinite(ea + eb) && d <= ea + eb);
}

/* the error bound of an exact rational converted to long double */
static long double ld_err(const mpq_t q, long double f)
{
    return q_is_int(q) && fabsl(f) < 9.2e18L ? 0.0L : LATEX_ERR_UNIT * fabsl(f);
}

/* scalar_eq: CMP_YES, CMP_NO or CMP_UNDECIDED for two scalar values */
static int scalar_eq(struct eqctx *c, const struct node *a, int sa, const struct node *b, int sb)
{
    int ia = inf_sign(a), ib = inf_sign(b);
    if (ia != 0 || ib != 0) {
        if (ia == ib)
            return CMP_YES;
        set_reason(c, "not equivalent");
        return CMP_NO;
    }
    mpq_t qa, qb;
    mpq_init(qa);
    mpq_init(qb);
    c->pm = sa;
    enum ev ea = qeval(c, a, qa);
    c->pm = sb;
    enum ev eb = qeval(c, b, qb);
    int result = CMP_NO;
    if (ea == EV_OK && eb == EV_OK) {
        result = mpq_equal(qa, qb) != 0 ? CMP_YES : CMP_NO;
        if (result == CMP_NO)
            set_reason(c, "not equivalent");
        goto done;
    }
    if (ea == EV_BIG && eb == EV_BIG && a->kind == N_POW && b->kind == N_POW) {
        /* two huge powers: equal bases and equal exponents (sufficient, not necessary) */
        char *saved = c->reason;
        c->reason = NULL;
        int same = scalar_eq(c, a->a, sa, b->a, sb) == CMP_YES && scalar_eq(c, a->b, sa, b->b, sb) == CMP_YES;
        c->reason = saved;
        if (same) {
            result = CMP_YES;
            goto done;
        }
    }
    if (ea == EV_BIG || eb == EV_BIG) {
        result = undecided(c, "too large to compare (over %d bits)", LATEX_MAX_BITS);
        goto done;
    }
    if (ea == EV_DOM || eb == EV_DOM) {
        set_reason(c, "undefined value (division by zero or similar)");
        goto done;
    }
    if (ea == EV_NONSCALAR || eb == EV_NONSCALAR) {
        set_reason(c, "not equivalent");
        goto done;
    }
    /* numeric test */
    c->nv = 0;
    if (collect_vars(c, a) < 0 || collect_vars(c, b) < 0) {
        result = undecided(c, "too many variables (over %d)", LATEX_MAX_VARS);
        goto done;
    }
    long double fa = ea == EV_OK ? q_to_ld_precise(qa) : 0.0L;
    long double fb = eb == EV_OK ? q_to_ld_precise(qb) : 0.0L;
    long double efa = ea == EV_OK ? ld_err(qa, fa) : 0.0L;
    long double efb = eb == EV_OK ? ld_err(qb, fb) : 0.0L;
    int points = c->nv > 0 ? LATEX_POINTS : 1, valid = 0, unsure = 0;
    result = CMP_YES;
    for (int pt = 0; pt < points; pt++) {
        for (int k = 0; k < c->nv; k++)
            c->vval[k] = var_value(c->vname[k], pt);
        c->in_trig = 0;
        long double erra = efa, errb = efb;
        c->pm = sa;
        cval va = ea == EV_OK ? (cval)fa : neval(c, a, &erra);
        c->pm = sb;
        cval vb = eb == EV_OK ? (cval)fb : neval(c, b, &errb);
        int oka = c_finite(va), okb = c_finite(vb);
        if (!oka && !okb)
            continue;
        if (oka != okb) {
            cval bad = oka ? vb : va;
            if (isnan(creall(bad)) || isnan(cimagl(bad))) {
                set_reason(c, "not equivalent (one side is undefined)");
                result = CMP_NO;
                break;
            }
            unsure = 1; /* an overflow: too large for the numeric test */
            continue;
        }
        valid++;
        if (close_enough(va, erra, vb, errb))
            continue;
        if (!isfinite(erra) || !isfinite(errb)) {
            unsure = 2; /* the error bound is lost (division by a value that may be 0) */
            continue;
        }
        set_reason(c, "not equivalent");
        result = CMP_NO;
        break;
    }
    if (result == CMP_YES && unsure == 1)
        result = undecided(c, "too large to compare (an infinite value)");
    else if (result == CMP_YES && unsure == 2)
        result = undecided(c, "not decidable numerically (precision lost)");
    else if (result == CMP_YES && valid == 0) {
        set_reason(c, "undefined or too large value");
        result = CMP_NO;
    }
done:
    mpq_clear(qa);
    mpq_clear(qb);
    return result;
}

enum cls { CL_SCALAR, CL_TUPLE, CL_INTERVAL, CL_SET };

static int cls_of(const struct node *n, int sign)
{
    switch (n->kind) {
    case N_TUPLE: return CL_TUPLE;
    case N_INTERVAL: return CL_INTERVAL;
    case N_SET:
    case N_LIST:
    case N_UNION: return CL_SET;
    default: return sign == 0 && has_pm(n) ? CL_SET : CL_SCALAR;
    }
}

static const char *cls_name(int cl)
{
    switch (cl) {
    case CL_SCALAR: return "number";
    case CL_TUPLE: return "tuple";
    case CL_INTERVAL: return "interval";
    default: return "set";
    }
}

struct item {
    const struct node *n;
    int sign;
};

static int items_eq(struct eqctx *c, const struct node *a, int sa, const struct node *b, int sb, int depth);

/* expand: the members of a set-like value */
static int expand(const struct node *n, int sign, struct item *out, int cap)
{
    int k = 0;
    if (n->kind == N_SET || n->kind == N_LIST || n->kind == N_UNION) {
        for (const struct node *m = n->a; m != NULL; m = m->next) {
            if (!is_struct(m) && has_pm(m)) {
                if (k + 2 > cap)
                    return -1;
                out[k++] = (struct item){m, 1};
                out[k++] = (struct item){m, -1};
            } else {
                if (k + 1 > cap)
                    return -1;
                out[k++] = (struct item){m, 0};
            }
        }
        return k;
    }
    if (!is_struct(n) && sign == 0 && has_pm(n)) {
        out[0] = (struct item){n, 1};
        out[1] = (struct item){n, -1};
        return 2;
    }
    out[0] = (struct item){n, sign};
    return 1;
}

/* exact: the exact rational value of a scalar item, when it has one (1), else 0 */
static int item_exact(struct eqctx *c, const struct item *it, mpq_t out)
{
    if (cls_of(it->n, it->sign) != CL_SCALAR || inf_sign(it->n) != 0)
        return 0;
    c->pm = it->sign;
    return qeval(c, it->n, out) == EV_OK;
}

static int cmp_mpq_ptr(const void *x, const void *y)
{
    return mpq_cmp(*(mpq_srcptr const *)x, *(mpq_srcptr const *)y);
}

/* set_eq: unordered comparison with set semantics. Exact rational members are matched by
   sorting and binary search; the other pairs one by one (within the budget). */
static int set_eq(struct eqctx *c, const struct node *a, int sa, const struct node *b, int sb, int depth)
{
    const int cap = LATEX_MAX_ITEMS;
    struct item *it = malloc(2 * (size_t)cap * sizeof(struct item));
    signed char *m = NULL;        /* m[i * nb + j]: A's i vs B's j, 2 while not compared */
    mpq_t *q = NULL;              /* exact values: A's at [0, na), B's at [na, na + nb) */
    mpq_srcptr *sorted = NULL;    /* the exact ones sorted: A's from 0, B's from na */
    unsigned char *ex = NULL;     /* ex[k]: q[k] holds the exact value of item k */
    int nq = 0, na = 0, nb = 0, result = CMP_NO;
    if (it == NULL) {
        result = undecided(c, "out of memory");
        goto done;
    }
    na = expand(a, sa, it, cap);
    nb = na < 0 ? -1 : expand(b, sb, it + na, cap);
    if (na < 0 || nb < 0) {
        result = undecided(c, "too many elements (over %d)", LATEX_MAX_ITEMS);
        goto done;
    }
    int n = na + nb;
    m = malloc((size_t)na * (size_t)nb + 1);
    q = malloc((size_t)n * sizeof(mpq_t));
    sorted = malloc((size_t)n * sizeof(mpq_srcptr));
    ex = calloc((size_t)n + 1, 1);
    if (m == NULL || q == NULL || sorted == NULL || ex == NULL) {
        result = undecided(c, "out of memory");
        goto done;
    }
    for (; nq < n; nq++)
        mpq_init(q[nq]);
    int ne[2] = {0, 0};
    for (int k = 0; k < n; k++) {
        int side = k >= na;
        ex[k] = (unsigned char)item_exact(c, &it[k], q[k]);
        if (ex[k])
            sorted[(side ? na : 0) + ne[side]++] = q[k];
    }
    qsort(sorted, (size_t)ne[0], sizeof(*sorted), cmp_mpq_ptr);
    qsort(sorted + na, (size_t)ne[1], sizeof(*sorted), cmp_mpq_ptr);
    long pairs = (long)na * nb - (long)ne[0] * ne[1];
    if (pairs > c->budget) {
        c->budget = 0;
        result = undecided(c, "too many comparisons");
        goto done;
    }
    memset(m, 2, (size_t)na * (size_t)nb);
    char *saved = c->reason;
    c->reason = NULL; /* element mismatches are expected while matching */
    result = CMP_YES;
    /* every member of A must equal one of B (side 0), and every member of B one of A */
    for (int side = 0; side < 2 && result != CMP_NO; side++) {
        int n1 = side == 0 ? na : nb, n2 = side == 0 ? nb : na;
        for (int x = 0; x < n1 && result != CMP_NO; x++) {
            int kx = side == 0 ? x : na + x;
            if (ex[kx]) {
                mpq_srcptr key = q[kx];
                if (bsearch(&key, side == 0 ? sorted + na : sorted, (size_t)ne[1 - side], sizeof(*sorted),
                            cmp_mpq_ptr) != NULL)
                    continue;
            }
            int found = CMP_NO;
            for (int y = 0; y < n2 && found != CMP_YES; y++) {
                int i = side == 0 ? x : y, j = side == 0 ? y : x;
                if (ex[i] && ex[na + j])
                    continue; /* two exact values: equal only if the search found them */
                signed char *v = &m[i * nb + j];
                if (*v == 2)
                    *v = (signed char)items_eq(c, it[i].n, it[i].sign, it[na + j].n, it[na + j].sign, depth + 1);
                if (*v == CMP_YES || *v == CMP_UNDECIDED)
                    found = *v;
            }
            if (found == CMP_NO)
                result = CMP_NO;
            else if (found == CMP_UNDECIDED)
                result = CMP_UNDECIDED;
        }
    }
    c->reason = saved;
    if (result == CMP_NO) {
        if (cls_of(a, sa) != cls_of(b, sb))
            set_reason(c, "not equivalent (%s vs %s)", cls_name(cls_of(a, sa)), cls_name(cls_of(b, sb)));
        else if (na != nb)
            set_reason(c, "not equivalent (%d vs %d elements)", na, nb);
        else
            set_reason(c, "not equivalent (the sets differ)");
    }
done:
    for (int k = 0; k < nq; k++)
        mpq_clear(q[k]);
    free(q);
    free(sorted);
    free(ex);
    free(it);
    free(m);
    return result;
}

/* items_eq: CMP_YES, CMP_NO or CMP_UNDECIDED (a cap stopped the comparison) */
static int items_eq(struct eqctx *c, const struct node *a, int sa, const struct node *b, int sb, int depth)
{
    if (--c->budget < 0)
        return undecided(c, "too many comparisons");
    if (depth > 2 * LATEX_MAX_DEPTH)
        return undecided(c, "too deep");
    int ca = cls_of(a, sa), cb = cls_of(b, sb);
    if (ca == CL_SET || cb == CL_SET)
        return set_eq(c, a, sa, b, sb, depth);
    if (ca == CL_SCALAR && cb == CL_SCALAR)
        return scalar_eq(c, a, sa, b, sb);
    if (ca == CL_TUPLE && cb == CL_TUPLE) {
        const struct node *x = a->a, *y = b->a;
        int nx = 0, ny = 0;
        for (const struct node *k = x; k; k = k->next)
            nx++;
        for (const struct node *k = y; k; k = k->next)
            ny++;
        if (nx != ny) {
            set_reason(c, "not equivalent (tuples of %d and %d elements)", nx, ny);
            return CMP_NO;
        }
        /* a definite difference anywhere beats an undecided element */
        int result = CMP_YES;
        for (; x != NULL; x = x->next, y = y->next) {
            int r = items_eq(c, x, 0, y, 0, depth + 1);
            if (r == CMP_NO)
                return CMP_NO;
            if (r == CMP_UNDECIDED)
                result = CMP_UNDECIDED;
        }
        return result;
    }
    int a_iv = ca == CL_INTERVAL || (ca == CL_TUPLE && cb == CL_INTERVAL);
    int b_iv = cb == CL_INTERVAL || (cb == CL_TUPLE && ca == CL_INTERVAL);
    if (a_iv && b_iv) {
        const struct node *x = a->a, *y = b->a;
        if (x == NULL || x->next == NULL || y == NULL || y->next == NULL || x->next->next != NULL ||
            y->next->next != NULL) {
            set_reason(c, "not equivalent (tuple vs interval)");
            return CMP_NO;
        }
        int fa = a->kind == N_INTERVAL ? a->flags : 0, fb = b->kind == N_INTERVAL ? b->flags : 0;
        /* closedness does not matter at an infinite end */
        if (inf_sign(x) != 0 || inf_sign(y) != 0)
            fa &= ~1, fb &= ~1;
        if (inf_sign(x->next) != 0 || inf_sign(y->next) != 0)
            fa &= ~2, fb &= ~2;
        if (fa != fb) {
            set_reason(c, "not equivalent (open vs closed interval end)");
            return CMP_NO;
        }
        int r1 = items_eq(c, x, 0, y, 0, depth + 1);
        if (r1 == CMP_NO)
            return CMP_NO;
        int r2 = items_eq(c, x->next, 0, y->next, 0, depth + 1);
        return r2 == CMP_NO ? CMP_NO : (r1 == CMP_YES && r2 == CMP_YES) ? CMP_YES : CMP_UNDECIDED;
    }
    set_reason(c, "not equivalent (%s vs %s)", cls_name(ca), cls_name(cb));
    return CMP_NO;
}

int latex_equiv(const struct latex_expr *a, const struct latex_expr *b, char *reason, size_t reasonlen)
{
    if (reason != NULL && reasonlen > 0)
        reason[0] = '\0';
    if (a == NULL || b == NULL) {
        util_errf(reason, reasonlen, "no answer");
        return 0;
    }
    if (a->is_text || b->is_text) {
        int eq = a->key[0] != '\0' && strcmp(a->key, b->key) == 0;
        if (!eq)
            util_errf(reason, reasonlen, "not equivalent (text answer)");
        return eq;
    }
    struct eqctx c;
    memset(&c, 0, sizeof(c));
    c.pm = 1;
    c.budget = LATEX_MAX_COMPARISONS;
    c.reason = reason;
    c.reasonlen = reasonlen;
    int eq = items_eq(&c, a->root, 0, b->root, 0, 0);
    if (eq == CMP_UNDECIDED)
        util_errf(reason, reasonlen, "%s", c.undecided[0] != '\0' ? c.undecided : "undecided");
    else if (eq == CMP_NO && reason != NULL && reasonlen > 0 && reason[0] == '\0')
        util_errf(reason, reasonlen, "not equivalent");
    if (eq == CMP_YES && reason != NULL && reasonlen > 0)
        reason[0] = '\0';
    return eq;
}
