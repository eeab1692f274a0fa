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

void tail_result_free(struct tail_result *t)
{
    if (t == NULL)
        return;
    free(t->text);
    memset(t, 0, sizeof(*t));
    t->tokens = -1;
    t->source_tokens = -1;
}
