/*
 * sse.c: Server-Sent Events line assembler; see sse.h.
 *
 * Bytes are split into lines (LF, CRLF or a lone CR; a CR that ends one chunk and
 * an LF that starts the next are one line ending). A line that ends inside the
 * chunk it began in is processed in place; only a line that spans chunks is
 * copied into p->line. Each line is then one of:
 *   ""              dispatch the pending event (when a data: line was seen)
 *   ":comment"      ignored (keep-alives)
 *   "field:value"   data (appended, "\n" between lines), event (sets the name),
 *   "field"         anything else is ignored; one space after the colon is dropped
 */
#include "sse.h"

#include <string.h>

void sse_init(struct sse_parser *p, size_t max_line, sse_event_fn fn, void *user)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->line, max_line);
    buf_init(&p->data, max_line);
    buf_init(&p->event, max_line);
    p->fn = fn;
    p->user = user;
}

void sse_free(struct sse_parser *p)
{
    if (p == NULL)
        return;
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->event);
    p->has_data = 0;
    p->last_cr = 0;
}

/* Append within the cap: RSA_ERR_PARSE when it would overflow (the buffer is then
   emptied), RSA_ERR_NOMEM when memory runs out. */
static enum rsa_err sse_append(struct buf *b, const char *s, size_t n)
{
    if (n > b->max - b->len) {
        buf_free(b);
        return RSA_ERR_PARSE;
    }
    return buf_append(b, s, n);
}

static void sse_reset_event(struct sse_parser *p)
{
    p->data.len = 0;
    if (p->data.data != NULL)
        p->data.data[0] = '\0';
    p->event.len = 0;
    if (p->event.data != NULL)
        p->event.data[0] = '\0';
    p->has_data = 0;
}

static enum rsa_err sse_dispatch(struct sse_parser *p)
{
    if (!p->has_data) {
        sse_reset_event(p);
        return RSA_OK;
    }
    const char *event = p->event.data ? p->event.data : "";
    const char *data = p->data.data ? p->data.data : "";
    int stop = p->fn ? p->fn(p->user, event, data, p->data.len) : 0;
    sse_reset_event(p);
    return stop ? RSA_ERR_INTERRUPTED : RSA_OK;
}

/* One complete line, without its terminator. */
static enum rsa_err sse_line(struct sse_parser *p, const char *s, size_t n)
{
    if (n == 0)
        return sse_dispatch(p);
    if (s[0] == ':')
        return RSA_OK;
    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *val = colon ? colon + 1 : s + n;
    size_t vlen = (size_t)(s + n - val);
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        enum rsa_err e;
        if (p->has_data) {
            e = sse_append(&p->data, "\n", 1);
            if (e != RSA_OK)
                return e;
        }
        e = sse_append(&p->data, val, vlen);
        if (e != RSA_OK)
            return e;
        p->has_data = 1;
        return RSA_OK;
    }
    if (flen == 5 && memcmp(s, "event", 5) == 0) {
        p->event.len = 0;
        if (p->event.data != NULL)
            p->event.data[0] = '\0';
        return sse_append(&p->event, val, vlen);
    }
    return RSA_OK; /* id, retry and unknown fields */
}

enum rsa_err sse_feed(struct sse_parser *p, const char *bytes, size_t n)
{
    size_t i = 0;
    if (n > 0 && p->last_cr) {
        p->last_cr = 0;
        if (bytes[0] == '\n')
            i = 1; /* second half of a CRLF split across chunks */
    }
    while (i < n) {
        const char *start = bytes + i;
        size_t rest = n - i;
        size_t k = 0;
        while (k < rest && start[k] != '\n' && start[k] != '\r')
            k++;
        if (k == rest) { /* no line ending in this chunk: keep the partial line */
            return sse_append(&p->line, start, rest);
        }
        enum rsa_err e;
        if (p->line.len > 0) {
            e = sse_append(&p->line, start, k);
            if (e != RSA_OK)
                return e;
            e = sse_line(p, p->line.data, p->line.len);
            p->line.len = 0;
            p->line.data[0] = '\0';
        } else {
            if (k > p->line.max)
                return RSA_ERR_PARSE;
            e = sse_line(p, start, k);
        }
        i += k + 1;
        if (start[k] == '\r') {
            if (i < n && bytes[i] == '\n')
                i++;
            else if (i == n)
                p->last_cr = 1;
        }
        if (e != RSA_OK)
            return e;
    }
    return RSA_OK;
}

enum rsa_err sse_finish(struct sse_parser *p)
{
    enum rsa_err e = RSA_OK;
    p->last_cr = 0;
    if (p->line.len > 0) {
        e = sse_line(p, p->line.data, p->line.len);
        p->line.len = 0;
        p->line.data[0] = '\0';
    }
    if (e == RSA_OK)
        e = sse_dispatch(p);
    else
        sse_reset_event(p);
    return e;
}
