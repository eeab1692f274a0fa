/* tail.c: see tail.h. */
#include "tail.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

int tail_think_closed(const char *text, const char *think_close)
{
    return strstr(text, think_close) != NULL;
}

void tail_span(const char *text, const char *think_open, const char *think_close, enum tail_source src,
               const char **start, size_t *len)
{
    size_t n = strlen(text);
    *start = text;
    *len = n;
    if (src == TAIL_FULL)
        return;
    const char *close = strstr(text, think_close);
    if (src == TAIL_ANSWER_OR_THINK && close != NULL) {
        const char *ans = close + strlen(think_close);
        size_t an = n - (size_t)(ans - text);
        if (!is_blank(ans, an)) {
            *start = ans;
            *len = an;
            return;
        }
    }
    const char *s = text;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    if (strncmp(s, think_open, strlen(think_open)) == 0)
        s += strlen(think_open);
    else
        s = text;
    const char *e = close != NULL && close >= s ? close : text + n;
    *start = s;
    *len = (size_t)(e - s);
}

/* utf8_char_start: move p back to the first byte of the UTF-8 character it is in. */
static const char *utf8_char_start(const char *begin, const char *p)
{
    while (p > begin && (((unsigned char)*p) & 0xC0) == 0x80)
        p--;
    return p;
}

enum rsa_err tail_cut(struct backend *b, enum tail_method method, const char *span, size_t len, int tau,
                      double chars_per_token, struct tail_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->tokens = -1;
    out->source_tokens = -1;
    if (method == TAIL_METHOD_WHOLE || tau <= 0) {
        out->text = util_strndup(span, len);
        return out->text ? RSA_OK : RSA_ERR_NOMEM;
    }
    if (method == TAIL_METHOD_CHARS) {
        /* count characters (UTF-8 code points), not bytes, back from the end */
        double want = floor((double)tau * chars_per_token + 0.5);
        const char *end = span + len;
        const char *s = end;
        for (double kept = 0; s > span && kept < want; kept++)
            s = utf8_char_start(span, s - 1);
        out->truncated = s > span;
        out->text = util_strndup(s, (size_t)(end - s));
        return out->text ? RSA_OK : RSA_ERR_NOMEM;
    }
    if (b == NULL || b->ops->tokenize == NULL || b->ops->detokenize == NULL) {
        util_errf(err, errlen, "token-exact tails need a tokenizer, and the backend has none");
        return RSA_ERR_UNSUPPORTED;
    }
    char *copy = util_strndup(span, len);
    if (copy == NULL)
        return RSA_ERR_NOMEM;
    int32_t *ids = NULL;
    size_t n = 0;
    enum rsa_err rc = b->ops->tokenize(b, copy, &ids, &n, err, errlen);
    if (rc != RSA_OK) {
        free(copy);
        return rc;
    }
    out->source_tokens = (int)n;
    if (n <= (size_t)tau) {
        out->text = copy;
        out->tokens = (int)n;
        free(ids);
        return RSA_OK;
    }
    free(copy);
    rc = b->ops->detokenize(b, ids + (n - (size_t)tau), (size_t)tau, &out->text, err, errlen);
    free(ids);
    if (rc != RSA_OK) {
        tail_result_free(out);
        return rc;
    }
    out->tokens = tau;
    out->truncated = 1;
    return RSA_OK;
}

/* token i of c covers bytes [tok_start(c, i), tok_end(c, i)) of c->text */
static size_t tok_end(const struct backend_completion *c, size_t i)
{
    return c->ends[i] & ~BACKEND_END_PENDING;
}

static size_t tok_start(const struct backend_completion *c, size_t i)
{
    return i == 0 ? 0 : tok_end(c, i - 1);
}

/* a tail may start at token i: nothing of an earlier character is held back */
static int clean_start(const struct backend_completion *c, size_t i)
{
    return i == 0 || (c->ends[i - 1] & BACKEND_END_PENDING) == 0;
}

/* token i decodes to whitespace only, and nothing is held back after it */
static int blank_token(const struct backend_completion *c, size_t i)
{
    size_t s = tok_start(c, i), e = tok_end(c, i);
    return e > s && (c->ends[i] & BACKEND_END_PENDING) == 0 && is_blank(c->text + s, e - s);
}

enum rsa_err tail_cut_ids(const struct backend_completion *c, const char *span, size_t len, int tau,
                          struct tail_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->tokens = -1;
    out->source_tokens = -1;
    size_t tlen = strlen(c->text);
    if (span < c->text || (size_t)(span - c->text) + len > tlen) {
        util_errf(err, errlen, "tail: the span is not inside the trace text");
        return RSA_ERR_USAGE;
    }
    /* an empty completion (the model stopped at once) has no ids and an empty tail */
    if ((c->ids == NULL || c->ends == NULL) && !(c->n_ids == 0 && tlen == 0)) {
        util_errf(err, errlen, "tail: the backend returned no token ids for this trace");
        return RSA_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < c->n_ids; i++)
        if (tok_end(c, i) > tlen || tok_start(c, i) > tok_end(c, i)) {
            util_errf(err, errlen, "tail: token %zu's end offset %zu is outside the %zu-byte trace", i,
                      tok_end(c, i), tlen);
            return RSA_ERR_PROTOCOL;
        }
    size_t s0 = (size_t)(span - c->text), s1 = s0 + len;
    /* [a, b): the tokens wholly inside the span */
    size_t a = 0, b = c->n_ids;
    while (a < b && (tok_start(c, a) < s0 || !clean_start(c, a)))
        a++;
    while (b > a && (tok_end(c, b - 1) > s1 || (c->ends[b - 1] & BACKEND_END_PENDING)))
        b--;
    size_t j = a;
    if (tau > 0 && b - a > (size_t)tau) {
        j = b - (size_t)tau;
        while (j < b && !clean_start(c, j))
            j++;
    }
    out->source_tokens = (int)(b - a);
    out->truncated = j > a;
    /* drop whitespace-only tokens at both ends (never one that holds back part of a character) */
    while (j < b && blank_token(c, j))
        j++;
    /* a blank token's text may include bytes held back by the tokens before it (a byte-fallback
     * run): those tokens go too, so the tail never ends on one whose bytes are not in its text */
    while (b > j && (blank_token(c, b - 1) || (c->ends[b - 1] & BACKEND_END_PENDING)))
        b--;
    size_t n = b - j;
    out->text = n ? util_strndup(c->text + tok_start(c, j), tok_end(c, b - 1) - tok_start(c, j)) : util_strdup("");
    out->ids = n ? malloc(n * sizeof(int32_t)) : NULL;
    if (out->text == NULL || (n && out->ids == NULL)) {
        tail_result_free(out);
        return RSA_ERR_NOMEM;
    }
    if (n)
        memcpy(out->ids, c->ids + j, n * sizeof(int32_t));
    out->n_ids = n;
    out->tokens = (int)n;
    return RSA_OK;
}

void tail_result_free(struct tail_result *t)
{
    if (t == NULL)
        return;
    free(t->text);
    free(t->ids);
    memset(t, 0, sizeof(*t));
    t->tokens = -1;
    t->source_tokens = -1;
}
