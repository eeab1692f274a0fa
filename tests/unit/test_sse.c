/*
 * test_sse.c: the SSE assembler (rsa/sse.c) gives the same events however the
 * byte stream is cut into chunks, and follows the WHATWG line and field rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/sse.h"

/* ===== an event recorder ===== */

#define MAX_EVENTS 32

struct events {
    int n;
    char event[MAX_EVENTS][64];
    char data[MAX_EVENTS][256];
    size_t len[MAX_EVENTS];
    int stop_after; /* return nonzero from the callback once n reaches this (0 = never) */
};

static int record(void *user, const char *event, const char *data, size_t len)
{
    struct events *ev = user;
    assert_true(ev->n < MAX_EVENTS);
    assert_int_equal(strlen(data), len);
    snprintf(ev->event[ev->n], sizeof(ev->event[0]), "%s", event);
    snprintf(ev->data[ev->n], sizeof(ev->data[0]), "%s", data);
    ev->len[ev->n] = len;
    ev->n++;
    return ev->stop_after > 0 && ev->n >= ev->stop_after;
}

static void assert_events_equal(const struct events *a, const struct events *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_string_equal(a->event[i], b->event[i]);
        assert_string_equal(a->data[i], b->data[i]);
        assert_int_equal(a->len[i], b->len[i]);
    }
}

/* Parse s cut at the given offsets (cuts ascending, each in [0, len]). */
static void parse_cut(const char *s, size_t len, const size_t *cuts, size_t ncuts,
                      struct events *out)
{
    memset(out, 0, sizeof(*out));
    struct sse_parser p;
    sse_init(&p, 4096, record, out);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        assert_int_equal(sse_feed(&p, s + at, end - at), RSA_OK);
        at = end;
    }
    assert_int_equal(sse_finish(&p), RSA_OK);
    sse_free(&p);
}

static void parse_whole(const char *s, struct events *out)
{
    parse_cut(s, strlen(s), NULL, 0, out);
}

/* Every feature at once. */
static const char STREAM[] =
    ": keep-alive comment\r\n"
    "data: {\"a\":1}\n"
    "\n"
    "event: error\n"
    "data: x\n"
    "\n"
    "data:first\n"
    "data: second\r\n"
    "\r\n"
    "data: lone cr\r"
    "\r"
    "id: 7\n"
    "retry: 100\n"
    "unknown field\n"
    "data:  two spaces\n"
    "\n"
    "data\n"
    "\n"
    "\n"
    "event: ignored\n"
    "\n"
    "event: done\r\n"
    "data: [DONE]\r\n"
    "\r\n"
    "data: tail without blank line";

static void expect_stream(struct events *ev)
{
    memset(ev, 0, sizeof(*ev));
    static const char *const want[][2] = {
        {"", "{\"a\":1}"}, {"error", "x"},        {"", "first\nsecond"}, {"", "lone cr"},
        {"", " two spaces"}, {"", ""},           {"done", "[DONE]"},    {"", "tail without blank line"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(ev->event[i], sizeof(ev->event[0]), "%s", want[i][0]);
        snprintf(ev->data[i], sizeof(ev->data[0]), "%s", want[i][1]);
        ev->len[i] = strlen(want[i][1]);
        ev->n++;
    }
}

/* ===== chunk boundaries ===== */

static void test_whole(void **state)
{
    struct events want, got;
    expect_stream(&want);
    parse_whole(STREAM, &got);
    assert_events_equal(&want, &got);
}

static void test_byte_by_byte(void **state)
{
    struct events want, got;
    expect_stream(&want);
    size_t len = strlen(STREAM);
    size_t *cuts = malloc(len * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    parse_cut(STREAM, len, cuts, len - 1, &got);
    free(cuts);
    assert_events_equal(&want, &got);
}

static void test_every_split_point(void **state)
{
    struct events want, got;
    expect_stream(&want);
    size_t len = strlen(STREAM);
    for (size_t k = 0; k <= len; k++) {
        parse_cut(STREAM, len, &k, 1, &got);
        assert_events_equal(&want, &got);
    }
}

static void test_random_pieces(void **state)
{
    struct events want, got;
    expect_stream(&want);
    size_t len = strlen(STREAM);
    uint64_t x = 0x1234567887654321ULL;
    size_t cuts[512];
    for (int round = 0; round < 500; round++) {
        size_t n = 0;
        size_t at = 0;
        for (;;) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            at += 1 + (size_t)(x % 9); /* pieces of 1..9 bytes; some empty below */
            if (at >= len || n + 2 > sizeof(cuts) / sizeof(cuts[0]))
                break;
            cuts[n++] = at;
            if (x & 64)
                cuts[n++] = at; /* an empty chunk */
        }
        parse_cut(STREAM, len, cuts, n, &got);
        assert_events_equal(&want, &got);
    }
}

/* ===== line endings ===== */

static void test_crlf_split_across_chunks(void **state)
{
    /* "\r" | "\n": one line ending, so both data lines belong to one event. */
    struct events got = {0};
    struct sse_parser p;
    sse_init(&p, 1024, record, &got);
    assert_int_equal(sse_feed(&p, "data: a\r", 8), RSA_OK);
    assert_int_equal(sse_feed(&p, "\ndata: b\r", 9), RSA_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(sse_feed(&p, "\n", 1), RSA_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(sse_feed(&p, "\r\n", 2), RSA_OK);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.data[0], "a\nb");
    sse_free(&p);
}

static void test_lone_cr_at_chunk_end(void **state)
{
    /* "\r" | "\r": two line endings, so the second is a blank line that dispatches. */
    struct events got = {0};
    struct sse_parser p;
    sse_init(&p, 1024, record, &got);
    assert_int_equal(sse_feed(&p, "data: a\r", 8), RSA_OK);
    assert_int_equal(sse_feed(&p, "\rdata: b\r", 9), RSA_OK);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.data[0], "a");
    assert_int_equal(sse_feed(&p, "", 0), RSA_OK); /* an empty chunk keeps the pending CR */
    assert_int_equal(sse_feed(&p, "\n\n", 2), RSA_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.data[1], "b");
    sse_free(&p);
}

static void test_lf_and_cr_only_streams(void **state)
{
    struct events a, b, c;
    parse_whole("data: 1\ndata: 2\n\nevent: e\ndata: 3\n\n", &a);
    parse_whole("data: 1\rdata: 2\r\revent: e\rdata: 3\r\r", &b);
    parse_whole("data: 1\r\ndata: 2\r\n\r\nevent: e\r\ndata: 3\r\n\r\n", &c);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.data[0], "1\n2");
    assert_string_equal(a.event[1], "e");
    assert_string_equal(a.data[1], "3");
    assert_events_equal(&a, &b);
    assert_events_equal(&a, &c);
}

/* ===== fields ===== */

static void test_fields(void **state)
{
    struct events got;
    parse_whole(":only a comment\n\n"       /* no data: no event */
                "data:no-space\n\n"
                "data:  one-space-kept\n\n"
                "data:\n\n"                 /* empty data still dispatches */
                "event:named\ndata:x\n\n"
                "data:after-name\n\n"       /* the name does not carry over */
                "data: a:b: c\n\n",         /* only the first colon splits */
                &got);
    assert_int_equal(got.n, 6);
    assert_string_equal(got.data[0], "no-space");
    assert_string_equal(got.data[1], " one-space-kept");
    assert_string_equal(got.data[2], "");
    assert_string_equal(got.event[3], "named");
    assert_string_equal(got.data[3], "x");
    assert_string_equal(got.event[4], "");
    assert_string_equal(got.data[4], "after-name");
    assert_string_equal(got.data[5], "a:b: c");
}

static void test_finish(void **state)
{
    struct events got;
    parse_whole("data: last\n", &got); /* line ended, event not */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.data[0], "last");
    parse_whole("data: last", &got); /* not even the line ended */
    assert_int_equal(got.n, 1);
    assert_string_equal(got.data[0], "last");
    parse_whole("data: x\n\n: comment", &got); /* nothing pending */
    assert_int_equal(got.n, 1);
    parse_whole("", &got);
    assert_int_equal(got.n, 0);
}

/* ===== caps and stopping ===== */

static void test_line_cap(void **state)
{
    struct events got = {0};
    struct sse_parser p;
    /* A long line inside one chunk. */
    sse_init(&p, 16, record, &got);
    assert_int_equal(sse_feed(&p, "data: 0123456789abcdef\n\n", 24), RSA_ERR_PARSE);
    sse_free(&p);
    /* The same line split across chunks. */
    sse_init(&p, 16, record, &got);
    assert_int_equal(sse_feed(&p, "data: 0123456", 13), RSA_OK);
    assert_int_equal(sse_feed(&p, "789abcdef", 9), RSA_ERR_PARSE);
    sse_free(&p);
    /* Exactly at the cap is fine. */
    sse_init(&p, 16, record, &got);
    assert_int_equal(sse_feed(&p, "data: 0123456789\n\n", 18), RSA_OK);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.data[0], "0123456789");
    sse_free(&p);
    assert_int_equal(got.n, 1);
}

static void test_data_cap(void **state)
{
    /* Short lines whose joined data outgrows the cap. */
    struct events got = {0};
    struct sse_parser p;
    sse_init(&p, 16, record, &got);
    enum rsa_err e = RSA_OK;
    for (int i = 0; i < 10 && e == RSA_OK; i++)
        e = sse_feed(&p, "data: abcd\n", 11);
    assert_int_equal(e, RSA_ERR_PARSE);
    assert_int_equal(got.n, 0);
    sse_free(&p);
}

static void test_callback_stops(void **state)
{
    struct events got = {0};
    got.stop_after = 2;
    struct sse_parser p;
    sse_init(&p, 1024, record, &got);
    const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    assert_int_equal(sse_feed(&p, s, strlen(s)), RSA_ERR_INTERRUPTED);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.data[1], "2");
    sse_free(&p);
    sse_free(&p); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_every_split_point),
        cmocka_unit_test(test_random_pieces),
        cmocka_unit_test(test_crlf_split_across_chunks),
        cmocka_unit_test(test_lone_cr_at_chunk_end),
        cmocka_unit_test(test_lf_and_cr_only_streams),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_line_cap),
        cmocka_unit_test(test_data_cap),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
