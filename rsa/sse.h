/*
 * sse.h: a Server-Sent Events line assembler (WHATWG EventSource rules, the part
 * OpenAI-compatible servers use): bytes arrive in arbitrary chunks, lines end in
 * LF, CRLF or CR, "data:" lines accumulate (joined by "\n") until a blank line
 * dispatches the event; comments (":") and other fields are ignored; a leading
 * space after the colon is stripped. Pure: no I/O, no allocation after init except
 * growth of the capped line and data buffers.
 */
#ifndef RSA_SSE_H
#define RSA_SSE_H

#include <stddef.h>

#include "err.h"
#include "util.h"

/* Called once per dispatched event with its data (NUL-terminated) and event name
   ("" when none). Return nonzero to stop parsing (sse_feed then returns RSA_ERR_INTERRUPTED). */
typedef int (*sse_event_fn)(void *user, const char *event, const char *data, size_t len);

struct sse_parser {
    struct buf line;     /* the current partial line */
    struct buf data;     /* data of the event being assembled */
    struct buf event;    /* event name of the event being assembled */
    int has_data;        /* at least one data: line seen for this event */
    int last_cr;         /* previous chunk ended in CR (a following LF belongs to it) */
    sse_event_fn fn;
    void *user;
};

/* sse_init: max_line caps one line and one event's data (bytes). */
void sse_init(struct sse_parser *p, size_t max_line, sse_event_fn fn, void *user);
/* sse_feed: consume n bytes. Returns RSA_ERR_PARSE when a line or event exceeds the cap. */
enum rsa_err sse_feed(struct sse_parser *p, const char *bytes, size_t n);
/* sse_finish: end of stream; dispatches a pending event that has data (servers that
   omit the final blank line). */
enum rsa_err sse_finish(struct sse_parser *p);
void sse_free(struct sse_parser *p);

#endif
