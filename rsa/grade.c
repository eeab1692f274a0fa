/* grade.c: see grade.h. Answer extraction here; parsing and equivalence in latex.c. */
#include "grade.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latex.h"
#include "util.h"

/* ===== extraction ===== */

struct box {
    size_t start;  /* the backslash of \boxed */
    size_t open;   /* the { (or the first byte of a `\boxed 5` token) */
    size_t close;  /* the matching } (or the end of the token); 0 while unclosed */
    int braced;
    int closed;
};

struct boxes {
    struct box *v;
    size_t n, cap;
};

static int boxes_add(struct boxes *b, size_t start, size_t open, int braced)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct box *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (struct box){start, open, 0, braced, 0};
    return 0;
}

/* box_cmd: length of a \boxed / \fbox command at s (not followed by a letter), else 0 */
static size_t box_cmd(const char *s)
{
    size_t n = 0;
    if (strncmp(s, "\\boxed", 6) == 0)
        n = 6;
    else if (strncmp(s, "\\fbox", 5) == 0)
        n = 5;
    if (n == 0 || isalpha((unsigned char)s[n]))
        return 0;
    return n;
}

/* frame of the brace stack: a box's brace with the plain braces opened inside it */
struct frame {
    long box;      /* index into boxes, or -1 for the bottom frame */
    size_t plain;  /* plain { opened and not yet closed above this box brace */
};

/* find_boxes: every \boxed{..}/\fbox{..}/`\boxed 5` in text[0..n) with its matching
   brace, in one pass (escaped \{ \} do not count). Returns -1 when out of memory. */
static int find_boxes(const char *text, size_t n, struct boxes *out)
{
    struct frame *st = malloc(16 * sizeof(*st));
    size_t depth = 1, cap = 16;
    if (st == NULL)
        return -1;
    st[0] = (struct frame){-1, 0};
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '\\') {
            size_t cl = box_cmd(text + i);
            if (cl == 0) {
                if (i + 1 < n)
                    i++; /* \{ \} \\ and command letters */
                continue;
            }
            size_t j = i + cl;
            while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n'))
                j++;
            if (j < n && text[j] == '{') {
                if (boxes_add(out, i, j, 1) < 0)
                    goto oom;
                if (depth == cap) {
                    struct frame *s2 = realloc(st, 2 * cap * sizeof(*st));
                    if (s2 == NULL)
                        goto oom;
                    st = s2;
                    cap *= 2;
                }
                st[depth++] = (struct frame){(long)(out->n - 1), 0};
                i = j;
            } else if (j > i + cl && j < n) {
                /* `\boxed 5`: one token up to white space or $ */
                size_t e = j;
                while (e < n && !isspace((unsigned char)text[e]) && text[e] != '$')
                    e++;
                if (boxes_add(out, i, j, 0) < 0)
                    goto oom;
                out->v[out->n - 1].close = e;
                out->v[out->n - 1].closed = 1;
                i = e - 1;
            } else {
                i = i + cl - 1;
            }
        } else if (c == '{') {
            st[depth - 1].plain++;
        } else if (c == '}') {
            if (st[depth - 1].plain > 0)
                st[depth - 1].plain--;
            else if (depth > 1) {
                struct box *b = &out->v[st[depth - 1].box];
                b->close = i;
                b->closed = 1;
                depth--;
            }
        }
    }
    free(st);
    return 0;
oom:
    free(st);
    return -1;
}

/* strip_inner: copy a box's content without inner \boxed{ } / \fbox{ } wrappers, trimmed */
static char *strip_inner(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    /* one bit per open brace: was it a box's brace? kept as a counter stack */
    size_t *st = malloc((n / 2 + 2) * sizeof(size_t));
    if (out == NULL || st == NULL) {
        free(out);
        free(st);
        return NULL;
    }
    size_t w = 0, depth = 0, plain = 0; /* plain braces above the top box brace */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            size_t cl = box_cmd(s + i);
            if (cl > 0) {
                size_t j = i + cl;
                while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n'))
                    j++;
                if (j < n && s[j] == '{') {
                    st[depth++] = plain;
                    plain = 0;
                    i = j;
                    continue;
                }
            }
            out[w++] = c;
            if (i + 1 < n)
                out[w++] = s[++i];
            continue;
        }
        if (c == '{')
            plain++;
        else if (c == '}') {
            if (plain > 0)
                plain--;
            else if (depth > 0) {
                plain = st[--depth];
                continue;
            }
        }
        out[w++] = c;
    }
    out[w] = '\0';
    free(st);
    /* trim */
    size_t a = 0;
    while (out[a] && isspace((unsigned char)out[a]))
        a++;
    size_t e = strlen(out + a);
    while (e > 0 && isspace((unsigned char)out[a + e - 1]))
        e--;
    memmove(out, out + a, e);
    out[e] = '\0';
    return out;
}

static char *box_text(const char *text, const struct box *b)
{
    if (b->braced)
        return strip_inner(text + b->open + 1, b->close - b->open - 1);
    return strip_inner(text + b->open, b->close - b->open);
}

/* last_number: the fallback answer: the last number in text, or NULL.
   A number is [-]digits[,ddd]*[.digits][/digits]: the minus counts when the character
   before it is not a letter, digit or closing bracket; thousands commas need exactly 3
   digits after each comma and 1-3 before the first; they are removed. */
static char *last_number(const char *text, size_t n)
{
    size_t best = 0, best_end = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)text[i]) || (i > 0 && isdigit((unsigned char)text[i - 1])))
            continue;
        if (i > 0 && text[i - 1] == '.' && i > 1 && isdigit((unsigned char)text[i - 2]))
            continue; /* the fraction part of a number already seen */
        size_t e = i;
        while (e < n && isdigit((unsigned char)text[e]))
            e++;
        if (e - i <= 3) {
            while (e + 3 < n + 0 && text[e] == ',' && isdigit((unsigned char)text[e + 1]) &&
                   isdigit((unsigned char)text[e + 2]) && isdigit((unsigned char)text[e + 3]) &&
                   (e + 4 >= n || !isdigit((unsigned char)text[e + 4])))
                e += 4;
        }
        if (e + 1 < n && text[e] == '.' && isdigit((unsigned char)text[e + 1])) {
            e++;
            while (e < n && isdigit((unsigned char)text[e]))
                e++;
        }
        if (e + 1 < n && text[e] == '/' && isdigit((unsigned char)text[e + 1])) {
            e++;
            while (e < n && isdigit((unsigned char)text[e]))
                e++;
        }
        size_t s = i;
        if (i > 0 && text[i - 1] == '-') {
            unsigned char p = i > 1 ? (unsigned char)text[i - 2] : ' ';
            if (!isalnum(p) && p != ')' && p != ']' && p != '}')
                s = i - 1;
        }
        best = s;
        best_end = e;
        found = 1;
        i = e - 1;
    }
    if (!found)
        return NULL;
    char *out = malloc(best_end - best + 1);
    if (out == NULL)
        return NULL;
    size_t w = 0;
    for (size_t k = best; k < best_end; k++)
        if (text[k] != ',')
            out[w++] = text[k];
    out[w] = '\0';
    return out;
}

/* after_marker: the position just after the last occurrence of marker, or NULL.
   A plain backward scan (no strstr: linear even with sanitizer interceptors). */
static const char *after_marker(const char *text, const char *marker)
{
    size_t ml = strlen(marker), n = strlen(text);
    if (ml > n)
        return NULL;
    for (size_t i = n - ml + 1; i-- > 0;)
        if (text[i] == marker[0] && memcmp(text + i, marker, ml) == 0)
            return text + i + ml;
    return NULL;
}

char *grade_extract(const char *text, const struct grade_opts *o, int list)
{
    if (text == NULL)
        return NULL;
    const char *after = o != NULL ? o->after : NULL;
    int strict = o != NULL ? o->strict : 1;
    if (after != NULL && after[0] != '\0') {
        text = after_marker(text, after);
        if (text == NULL)
            return NULL;
    }
    size_t n = strlen(text);
    struct boxes bx = {0};
    if (find_boxes(text, n, &bx) < 0) {
        free(bx.v);
        return NULL;
    }
    /* the valid boxes: closed, non-empty, not inside another valid box */
    char *result = NULL;
    long last = -1;
    size_t cover = 0; /* end of the last valid top-level box */
    int any_box = bx.n > 0;
    int *valid = calloc(bx.n ? bx.n : 1, sizeof(int));
    if (valid == NULL) {
        free(bx.v);
        return NULL;
    }
    for (size_t k = 0; k < bx.n; k++) {
        struct box *b = &bx.v[k];
        if (!b->closed || (last >= 0 && b->start < cover))
            continue;
        char *c = box_text(text, b);
        if (c == NULL)
            goto done;
        int empty = c[0] == '\0';
        free(c);
        if (empty)
            continue;
        valid[k] = 1;
        last = (long)k;
        cover = b->close;
    }
    if (last < 0) {
        if (!strict && !any_box)
            result = last_number(text, n);
        goto done;
    }
    if (!list) {
        result = box_text(text, &bx.v[last]);
        goto done;
    }
    /* list answers: every valid box that starts on the line of the last one */
    size_t ls = bx.v[last].start;
    while (ls > 0 && text[ls - 1] != '\n')
        ls--;
    struct buf b;
    buf_init(&b, 0);
    int first = 1, bad = 0;
    for (size_t k = 0; k < bx.n && !bad; k++) {
        if (!valid[k] || bx.v[k].start < ls)
            continue;
        char *c = box_text(text, &bx.v[k]);
        if (c == NULL || (!first && buf_puts(&b, ", ") != RSA_OK) || buf_puts(&b, c) != RSA_OK)
            bad = 1;
        free(c);
        first = 0;
    }
    if (bad)
        buf_free(&b);
    else
        result = buf_take(&b);
done:
    free(valid);
    free(bx.v);
    return result;
}

/* ===== lists ===== */

/* is a top-level comma at s[i] a thousands separator (d{1,3}(,ddd)+)? */
static int thousands_comma(const char *s, size_t i)
{
    if (i == 0 || !isdigit((unsigned char)s[i - 1]))
        return 0;
    for (int k = 1; k <= 3; k++)
        if (!isdigit((unsigned char)s[i + k]))
            return 0;
    if (isdigit((unsigned char)s[i + 4]))
        return 0;
    size_t k = i;
    while (k > 0 && isdigit((unsigned char)s[k - 1]))
        k--;
    size_t run = i - k;
    if (k > 0 && s[k - 1] == ',')
        return run == 3 && thousands_comma(s, k - 1);
    if (k > 0 && s[k - 1] == '.')
        return 0;
    return run >= 1 && run <= 3;
}

int grade_gold_is_list(const char *gold)
{
    if (gold == NULL)
        return 0;
    int depth = 0;
    for (size_t i = 0; gold[i]; i++) {
        char c = gold[i];
        if (c == '\\' && gold[i + 1] != '\0') {
            char d = gold[i + 1];
            if (d == '{')
                depth++;
            else if (d == '}' && depth > 0)
                depth--;
            i++;
            continue;
        }
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0)
            depth--;
        else if (c == ',' && depth == 0 && !thousands_comma(gold, i))
            return 1;
    }
    return 0;
}

/* ===== normalisation (a canonical string; kept for callers that key on strings) ===== */

/* replace every occurrence of pat by rep (rep no longer than pat) in place, in one pass */
static void replace_all(char *s, const char *pat, const char *rep)
{
    size_t pl = strlen(pat), rl = strlen(rep);
    char *w = s;
    const char *r = s;
    while (*r) {
        if (strncmp(r, pat, pl) == 0) {
            memmove(w, rep, rl);
            w += rl;
            r += pl;
        } else
            *w++ = *r++;
    }
    *w = '\0';
}

/* remove every occurrence of pat from s in place */
static void remove_all(char *s, const char *pat)
{
    replace_all(s, pat, "");
}

/* unwrap \text{...} (cmd) to its contents in place, in one pass */
static void unwrap(char *s, const char *cmd)
{
    size_t cl = strlen(cmd), n = strlen(s);
    unsigned char *drop = calloc(n + 1, 1); /* drop[d]: the } closing depth d belongs to cmd */
    if (drop == NULL)
        return;
    size_t depth = 0, w = 0;
    for (size_t r = 0; r < n;) {
        if (strncmp(s + r, cmd, cl) == 0 && s[r + cl] == '{') {
            depth++;
            drop[depth] = 1;
            r += cl + 1;
            continue;
        }
        char c = s[r++];
        if (c == '{') {
            depth++;
            drop[depth] = 0;
        } else if (c == '}' && depth > 0) {
            int d = drop[depth];
            depth--;
            if (d)
                continue;
        }
        s[w++] = c;
    }
    s[w] = '\0';
    free(drop);
}

/* thousands_ok: s (after an optional sign) is d{1,3}(,ddd)+ or has no comma at all */
static int thousands_ok(const char *s)
{
    if (strchr(s, ',') == NULL)
        return 1;
    if (*s == '-' || *s == '+')
        s++;
    int lead = 0;
    while (isdigit((unsigned char)s[lead]))
        lead++;
    if (lead < 1 || lead > 3)
        return 0;
    s += lead;
    while (*s == ',') {
        for (int i = 1; i <= 3; i++)
            if (!isdigit((unsigned char)s[i]))
                return 0;
        s += 4;
    }
    return *s == '\0';
}

/* has_trig: s names a trig function (sin cos tan cot sec csc, also inside arcsin, sinh ...) */
static int has_trig(const char *s)
{
    static const char *const names[] = {"sin", "cos", "tan", "cot", "sec", "csc"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strstr(s, names[i]) != NULL)
            return 1;
    return 0;
}

#define GAP '\x01' /* a removed spacing command, kept as a space between two digits */

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

char *grade_normalize(const char *answer)
{
    if (answer == NULL)
        return NULL;
    if (strlen(answer) > LATEX_MAX_INPUT)
        return util_strndup(answer, LATEX_MAX_INPUT);
    char *s = util_strdup(answer);
    if (s == NULL)
        return NULL;
    unwrap(s, "\\text");
    unwrap(s, "\\mathrm");
    unwrap(s, "\\textbf");
    remove_all(s, "\\left");
    remove_all(s, "\\right");
    replace_all(s, "\\!", "\x01");
    replace_all(s, "\\,", "\x01");
    replace_all(s, "\\;", "\x01");
    replace_all(s, "\\ ", "\x01");
    if (!has_trig(s)) {
        /* a unit outside trig functions (90^\circ = 90); inside one it means radians */
        remove_all(s, "^\\circ");
        remove_all(s, "^{\\circ}");
    }
    replace_all(s, "\\dfrac", "\\frac");
    replace_all(s, "\\tfrac", "\\frac");
    /* drop white space, spacing commands and $, except between a digit (or a comma) and
       a digit: `2 3`, `2\,3` and `1, 000` keep one space, so they never equal `23`,
       `1,000` (the parser decides about thousands grouping) */
    char *w = s;
    int gap = 0;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r) || *r == '$' || *r == GAP) {
            gap = 1;
            continue;
        }
        if (gap && w > s && (isdigit((unsigned char)w[-1]) || w[-1] == ',') && isdigit((unsigned char)*r))
            *w++ = ' ';
        gap = 0;
        *w++ = *r;
    }
    *w = '\0';
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
    /* integers: drop thousands separators ({,} or ,) and leading zeros */
    char *digits = util_strdup(s);
    if (digits != NULL) {
        replace_all(digits, "{,}", ",");
        int grouped_ok = thousands_ok(digits);
        remove_all(digits, ",");
        if (grouped_ok && is_integer(digits)) {
            const char *d = digits;
            int neg = 0;
            if (*d == '-' || *d == '+') {
                neg = *d == '-';
                d++;
            }
            while (d[0] == '0' && d[1] != '\0')
                d++;
            if (strcmp(d, "0") == 0)
                neg = 0;
            size_t dl = strlen(d);
            char *out = malloc(dl + 2);
            if (out != NULL) {
                snprintf(out, dl + 2, "%s%s", neg ? "-" : "", d);
                free(s);
                free(digits);
                return out;
            }
        }
        free(digits);
    }
    return s;
}

/* ===== comparison ===== */

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s) && *s != '$')
            return 0;
    return 1;
}

enum grade_status grade_compare(const char *gold, const char *pred, char *reason, size_t reasonlen)
{
    if (reason != NULL && reasonlen > 0)
        reason[0] = '\0';
    if (gold == NULL) {
        util_errf(reason, reasonlen, "bad gold: missing");
        return GRADE_BAD_GOLD;
    }
    if (pred == NULL || blank(pred)) {
        util_errf(reason, reasonlen, "no answer");
        return GRADE_NO_ANSWER;
    }
    /* identical after normalisation: correct even when the gold is outside the subset */
    char *ng = grade_normalize(gold), *np = grade_normalize(pred);
    int same = ng != NULL && np != NULL && ng[0] != '\0' && strcmp(ng, np) == 0;
    free(ng);
    free(np);
    if (same)
        return GRADE_CORRECT;
    /* `1,000` groups thousands unless the answer itself is a list: each side's reading
       depends on that side alone (so the gold 1,000 never becomes the list 1, 0 because
       the answer is a list, and the test stays symmetric) */
    struct latex_opts lg = {.thousands = !grade_gold_is_list(gold)};
    struct latex_opts lp = {.thousands = !grade_gold_is_list(pred)};
    char msg[128];
    struct latex_expr *g = latex_parse(gold, &lg, msg, sizeof(msg));
    if (g == NULL) {
        util_errf(reason, reasonlen, "bad gold: %s", msg);
        return GRADE_BAD_GOLD;
    }
    struct latex_expr *p = latex_parse(pred, &lp, msg, sizeof(msg));
    if (p == NULL) {
        latex_free(g);
        util_errf(reason, reasonlen, "unparseable: %s", msg);
        return GRADE_UNPARSEABLE;
    }
    char why[128];
    int eq = latex_equiv(g, p, why, sizeof(why));
    latex_free(g);
    latex_free(p);
    if (eq > 0)
        return GRADE_CORRECT;
    if (eq < 0) {
        util_errf(reason, reasonlen, "undecided: %s", why);
        return GRADE_UNPARSEABLE;
    }
    util_errf(reason, reasonlen, "%s", why);
    return GRADE_WRONG;
}

int grade_equiv(const char *gold, const char *pred, char *reason, size_t reasonlen)
{
    return grade_compare(gold, pred, reason, reasonlen) == GRADE_CORRECT;
}

void grade_check(const char *gold, const char *response, const struct grade_opts *o, struct grade_result *r)
{
    memset(r, 0, sizeof(*r));
    r->extracted = grade_extract(response, o, grade_gold_is_list(gold));
    if (r->extracted == NULL) {
        r->status = GRADE_NO_ANSWER;
        snprintf(r->reason, sizeof(r->reason), "no answer");
        return;
    }
    r->status = grade_compare(gold, r->extracted, r->reason, sizeof(r->reason));
    r->correct = r->status == GRADE_CORRECT;
    if (r->correct)
        r->reason[0] = '\0';
}

void grade_result_free(struct grade_result *r)
{
    if (r == NULL)
        return;
    free(r->extracted);
    r->extracted = NULL;
}

const char *grade_status_str(enum grade_status s)
{
    switch (s) {
    case GRADE_CORRECT: return "correct";
    case GRADE_WRONG: return "wrong";
    case GRADE_NO_ANSWER: return "no_answer";
    case GRADE_UNPARSEABLE: return "unparseable";
    case GRADE_BAD_GOLD: return "bad_gold";
    }
    return "unknown";
}
