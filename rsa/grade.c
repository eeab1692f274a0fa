/* grade.c: see grade.h. */
#include "grade.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* box_content: the content of the box command at p (pointing at the backslash); NULL when unbalanced. */
static char *box_content(const char *p, size_t cmdlen)
{
    const char *s = p + cmdlen;
    if (*s == '{') {
        int depth = 0;
        for (const char *q = s; *q; q++) {
            if (*q == '\\' && q[1] != '\0') {
                q++;
                continue;
            }
            if (*q == '{')
                depth++;
            else if (*q == '}' && --depth == 0)
                return util_strndup(s + 1, (size_t)(q - s - 1));
            if (depth > 10000)
                return NULL;
        }
        return NULL;
    }
    if (*s == ' ') {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != '$' && !isspace((unsigned char)*e))
            e++;
        return e > s ? util_strndup(s, (size_t)(e - s)) : NULL;
    }
    return NULL;
}

static const char *last_of(const char *hay, const char *end, const char *needle)
{
    const char *best = NULL;
    size_t nl = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL && p < end; p++)
        if (p + nl <= end)
            best = p;
    return best;
}

static char *extract_last_box(const char *text, const char *after, int strict)
{
    if (text == NULL)
        return NULL;
    if (after != NULL && after[0] != '\0') {
        const char *m = last_of(text, text + strlen(text), after);
        if (m == NULL)
            return NULL;
        text = m + strlen(after);
    }
    const char *end = text + strlen(text);
    /* try the boxes from last to first; an unbalanced last box falls back to earlier ones */
    while (end > text) {
        const char *b = last_of(text, end, "\\boxed");
        const char *f = last_of(text, end, "\\fbox");
        const char *p = b > f ? b : f;
        if (p == NULL)
            break;
        char *c = box_content(p, p == b ? 6 : 5);
        if (c != NULL)
            return c;
        end = p;
    }
    if (strict)
        return NULL;
    /* fallback: the last integer in the text */
    const char *last = NULL, *last_end = NULL;
    for (const char *p = text; *p; p++) {
        if (isdigit((unsigned char)*p) && (p == text || !isdigit((unsigned char)p[-1]))) {
            const char *e = p;
            while (isdigit((unsigned char)*e))
                e++;
            last = p;
            last_end = e;
        }
    }
    if (last == NULL)
        return NULL;
    if (last > text && last[-1] == '-')
        last--;
    return util_strndup(last, (size_t)(last_end - last));
}

/* remove every occurrence of pat from s in place */
static void remove_all(char *s, const char *pat)
{
    size_t pl = strlen(pat);
    char *p;
    while ((p = strstr(s, pat)) != NULL)
        memmove(p, p + pl, strlen(p + pl) + 1);
}

/* replace every occurrence of pat by rep (rep no longer than pat) in place */
static void replace_all(char *s, const char *pat, const char *rep)
{
    size_t pl = strlen(pat), rl = strlen(rep);
    char *p = s;
    while ((p = strstr(p, pat)) != NULL) {
        memcpy(p, rep, rl);
        memmove(p + rl, p + pl, strlen(p + pl) + 1);
        p += rl;
    }
}

/* unwrap \text{...} and \mathrm{...} to their contents */
static void unwrap(char *s, const char *cmd)
{
    size_t cl = strlen(cmd);
    char *p, *from = s;
    while ((p = strstr(from, cmd)) != NULL) {
        if (p[cl] != '{') { /* another command with this prefix (\textbf for \text): skip it */
            from = p + 1;
            continue;
        }
        char *q = p + cl + 1;
        int depth = 1;
        char *close = NULL;
        for (char *r = q; *r; r++) {
            if (*r == '{')
                depth++;
            else if (*r == '}' && --depth == 0) {
                close = r;
                break;
            }
        }
        if (close == NULL)
            return;
        memmove(close, close + 1, strlen(close + 1) + 1);
        memmove(p, q, strlen(q) + 1);
    }
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
    char *s = util_strdup(answer);
    if (s == NULL)
        return NULL;
    unwrap(s, "\\text");
    unwrap(s, "\\mathrm");
    unwrap(s, "\\textbf");
    remove_all(s, "\\left");
    remove_all(s, "\\right");
    remove_all(s, "\\!");
    remove_all(s, "\\,");
    remove_all(s, "\\;");
    remove_all(s, "\\ ");
    remove_all(s, "^\\circ");
    remove_all(s, "^{\\circ}");
    replace_all(s, "\\dfrac", "\\frac");
    replace_all(s, "\\tfrac", "\\frac");
    /* drop whitespace and $ */
    char *w = s;
    for (char *r = s; *r; r++)
        if (!isspace((unsigned char)*r) && *r != '$')
            *w++ = *r;
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

static int equal_normalized(const char *answer, const char *gold)
{
    if (answer == NULL || gold == NULL)
        return 0;
    char *a = grade_normalize(answer);
    char *g = grade_normalize(gold);
    int eq = a != NULL && g != NULL && a[0] != '\0' && strcmp(a, g) == 0;
    free(a);
    free(g);
    return eq;
}

/* ===== transitional API (to be replaced by the full grader) ===== */

char *grade_extract(const char *text, const struct grade_opts *o, int list)
{
    (void)list;
    return extract_last_box(text, o ? o->after : NULL, o ? o->strict : 1);
}

int grade_gold_is_list(const char *gold)
{
    return gold != NULL && strchr(gold, ',') != NULL;
}

int grade_equiv(const char *gold, const char *pred, char *reason, size_t reasonlen)
{
    int eq = equal_normalized(pred, gold);
    if (!eq && reason && reasonlen)
        snprintf(reason, reasonlen, "not equal");
    return eq;
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
    r->correct = grade_equiv(gold, r->extracted, r->reason, sizeof(r->reason));
    r->status = r->correct ? GRADE_CORRECT : GRADE_WRONG;
}

void grade_result_free(struct grade_result *r)
{
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
