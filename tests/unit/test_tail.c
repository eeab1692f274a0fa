/*
 * test_tail.c: what a trace carries forward (rsa/tail.c): the span a tail is cut
 * from, and cutting it whole, by characters (UTF-8 safe), or by tokens through a
 * backend's tokenizer (here a fake one defined below).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/tail.h"
#include "rsa/util.h"

/* ===== tail_span ===== */

static char *span_of(const char *text, enum tail_source src)
{
    const char *start = NULL;
    size_t len = 0;
    tail_span(text, "<think>", "</think>", src, &start, &len);
    /* the span lies inside text */
    assert_true(start >= text);
    assert_true(start + len <= text + strlen(text));
    return util_strndup(start, len);
}

struct span_case {
    const char *text;
    const char *full, *think, *answer_or_think;
};

static const struct span_case span_cases[] = {
    /* closed reasoning with an answer */
    {"<think>r</think>ans", "<think>r</think>ans", "r", "ans"},
    {"<think>\nstep 1\nstep 2\n</think>\n\nThe answer is \\boxed{5}.", NULL, "\nstep 1\nstep 2\n",
     "\n\nThe answer is \\boxed{5}."},
    /* leading whitespace before the open marker */
    {"  \n\t<think>r</think>ans", NULL, "r", "ans"},
    /* unfinished: never closed */
    {"<think>still thinking", NULL, "still thinking", "still thinking"},
    {"<think>", NULL, "", ""},
    /* no open marker (the chat template put it in the prompt) */
    {"reasoning here</think>answer", NULL, "reasoning here", "answer"},
    {"no markers at all", NULL, "no markers at all", "no markers at all"},
    /* blank answer falls back to the reasoning */
    {"<think>r</think>", NULL, "r", "r"},
    {"<think>r</think>  \n\t\r\n", NULL, "r", "r"},
    /* the open marker not at the start is not an open marker */
    {"pre <think>r</think>ans", NULL, "pre <think>r", "ans"},
    /* the first close marker ends the reasoning */
    {"<think>a</think>b</think>c", NULL, "a", "b</think>c"},
    {"", "", "", ""},
};

static void test_tail_span(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(span_cases) / sizeof(span_cases[0]); i++) {
        const struct span_case *sc = &span_cases[i];
        char *full = span_of(sc->text, TAIL_FULL);
        char *think = span_of(sc->text, TAIL_THINK);
        char *aot = span_of(sc->text, TAIL_ANSWER_OR_THINK);
        assert_string_equal(full, sc->full ? sc->full : sc->text);
        if (strcmp(think, sc->think) != 0)
            fail_msg("case %zu: think span \"%s\", want \"%s\"", i, think, sc->think);
        if (strcmp(aot, sc->answer_or_think) != 0)
            fail_msg("case %zu: answer_or_think span \"%s\", want \"%s\"", i, aot, sc->answer_or_think);
        free(full);
        free(think);
        free(aot);
    }
}

static void test_tail_span_custom_markers(void **state)
{
    (void)state;
    const char *text = "[R]reason[/R] final";
    const char *start;
    size_t len;
    tail_span(text, "[R]", "[/R]", TAIL_THINK, &start, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(start, "reason", 6);
    tail_span(text, "[R]", "[/R]", TAIL_ANSWER_OR_THINK, &start, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(start, " final", 6);
    /* <think> markers are not special when others are configured */
    tail_span("<think>x</think>y", "[R]", "[/R]", TAIL_THINK, &start, &len);
    assert_int_equal(len, strlen("<think>x</think>y"));
}

static void test_think_closed(void **state)
{
    (void)state;
    assert_int_equal(tail_think_closed("<think>r</think>ans", "</think>"), 1);
    assert_int_equal(tail_think_closed("r</think>", "</think>"), 1);
    assert_int_equal(tail_think_closed("<think>r", "</think>"), 0);
    assert_int_equal(tail_think_closed("<think>r</thin", "</think>"), 0);
    assert_int_equal(tail_think_closed("", "</think>"), 0);
}

/* ===== whole ===== */

static void test_cut_whole(void **state)
{
    (void)state;
    const char *text = "0123456789 and the rest";
    struct tail_result t;
    char err[128] = "";
    /* a span inside a longer string: only len bytes are taken */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_WHOLE, text, 10, 0, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "0123456789");
    assert_int_equal(t.tokens, -1);
    assert_int_equal(t.source_tokens, -1);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
    assert_null(t.text);
    tail_result_free(&t);
    tail_result_free(NULL);

    /* tau = 0 means whole with any method, and needs no tokenizer */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_TOKENS, text, strlen(text), 0, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, text);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, text, strlen(text), 0, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, text);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);

    /* empty span */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_WHOLE, "", 0, 0, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "");
    tail_result_free(&t);
}

/* ===== characters ===== */

/* utf8_chars: code points in s (s is valid UTF-8) */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void assert_suffix(const char *tail, const char *span, size_t len)
{
    size_t n = strlen(tail);
    assert_true(n <= len);
    assert_memory_equal(tail, span + len - n, n);
}

static void test_cut_chars_ascii(void **state)
{
    (void)state;
    const char *s = "abcdefghij";
    struct tail_result t;
    char err[128] = "";
    /* tau 2 x 2.0 chars/token = 4 chars */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 2, 2.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "ghij");
    assert_int_equal(t.truncated, 1);
    assert_int_equal(t.tokens, -1);
    assert_int_equal(t.source_tokens, -1);
    tail_result_free(&t);
    /* round(3 x 1.5) = round(4.5) = 5 */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 3, 1.5, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "fghij");
    tail_result_free(&t);
    /* round(3 x 1.4) = round(4.2) = 4 */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 3, 1.4, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "ghij");
    tail_result_free(&t);
    /* exactly the span: not cut */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 5, 2.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, s);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
    /* longer budget than span: not cut */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 1000, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, s);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
    /* one character short of the span: cut */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, 10, 9, 1.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "bcdefghij");
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
}

static void test_cut_chars_utf8(void **state)
{
    (void)state;
    /* 2-, 3- and 4-byte characters mixed with ASCII: a, é (2), € (3), b, 😀 (4), c, ж (2), 中 (3) */
    const char *s = "a\xc3\xa9\xe2\x82\xac" "b\xf0\x9f\x98\x80" "c\xd0\xb6\xe4\xb8\xad";
    size_t len = strlen(s);
    size_t total = utf8_chars(s);
    assert_int_equal(total, 8);
    for (int want = 1; want <= 10; want++) {
        struct tail_result t;
        char err[128] = "";
        assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, s, len, want, 1.0, &t, err, sizeof(err)), RSA_OK);
        /* a suffix that starts on a character boundary */
        assert_suffix(t.text, s, len);
        assert_true(t.text[0] == '\0' || ((unsigned char)t.text[0] & 0xC0) != 0x80);
        /* exactly `want` characters (or all of them), cut only when something was dropped */
        size_t expect = (size_t)want < total ? (size_t)want : total;
        if (utf8_chars(t.text) != expect)
            fail_msg("budget %d chars: kept \"%s\" (%zu chars), want %zu", want, t.text, utf8_chars(t.text),
                     expect);
        assert_int_equal(t.truncated, (size_t)want < total);
        tail_result_free(&t);
    }
    /* Greek: 2 bytes each; 2 tokens x 1 char = the last two letters */
    const char *greek = "\xce\xb1\xce\xb2\xce\xb3\xce\xb4\xce\xb5"; /* αβγδε */
    struct tail_result t;
    char err[128] = "";
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, greek, strlen(greek), 2, 1.0, &t, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(t.text, "\xce\xb4\xce\xb5"); /* δε */
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
    /* a span of 3 two-byte letters with a 4-character budget is not cut (6 bytes > 4 chars) */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_CHARS, greek, 6, 4, 1.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "\xce\xb1\xce\xb2\xce\xb3");
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
}

/* ===== tokens, through a fake tokenizer ===== */

/* The fake backend: tokenize splits text into pieces matching \s*\S+ (a trailing run of
   whitespace is a piece of its own) and gives each distinct piece an id: its index in a
   per-backend table. detokenize concatenates the pieces of the ids. */
struct fake_backend {
    struct backend base;
    char *pieces[256];
    int n_pieces;
    int tokenize_calls, detokenize_calls;
    enum rsa_err tokenize_rc, detokenize_rc; /* forced failures */
    char last_tokenized[512];
};

static int32_t piece_id(struct fake_backend *f, const char *p, size_t n)
{
    for (int i = 0; i < f->n_pieces; i++)
        if (strlen(f->pieces[i]) == n && memcmp(f->pieces[i], p, n) == 0)
            return i;
    assert_true(f->n_pieces < 256);
    f->pieces[f->n_pieces] = util_strndup(p, n);
    return f->n_pieces++;
}

static enum rsa_err fake_tokenize(struct backend *b, const char *text, int32_t **ids, size_t *n, char *err,
                                  size_t errlen)
{
    struct fake_backend *f = (struct fake_backend *)b;
    f->tokenize_calls++;
    snprintf(f->last_tokenized, sizeof(f->last_tokenized), "%s", text);
    if (f->tokenize_rc != RSA_OK) {
        util_errf(err, errlen, "fake tokenizer: refused");
        return f->tokenize_rc;
    }
    size_t cap = strlen(text) + 1;
    int32_t *out = malloc(cap * sizeof(*out));
    assert_non_null(out);
    size_t k = 0;
    const char *p = text;
    while (*p) {
        const char *q = p;
        while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
            q++;
        while (*q && *q != ' ' && *q != '\n' && *q != '\t' && *q != '\r')
            q++;
        out[k++] = piece_id(f, p, (size_t)(q - p));
        p = q;
    }
    *ids = out;
    *n = k;
    return RSA_OK;
}

static enum rsa_err fake_detokenize(struct backend *b, const int32_t *ids, size_t n, char **text, char *err,
                                    size_t errlen)
{
    struct fake_backend *f = (struct fake_backend *)b;
    f->detokenize_calls++;
    if (f->detokenize_rc != RSA_OK) {
        util_errf(err, errlen, "fake detokenizer: refused");
        return f->detokenize_rc;
    }
    struct buf out;
    buf_init(&out, 0);
    for (size_t i = 0; i < n; i++) {
        assert_in_range(ids[i], 0, f->n_pieces - 1);
        assert_int_equal(buf_puts(&out, f->pieces[ids[i]]), RSA_OK);
    }
    *text = buf_take(&out);
    return RSA_OK;
}

static const struct backend_ops fake_ops = {
    .name = "fake",
    .tokenize = fake_tokenize,
    .detokenize = fake_detokenize,
};

static const struct backend_ops no_tokenizer_ops = {.name = "none"};

static int fake_setup(void **state)
{
    struct fake_backend *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    f->base.ops = &fake_ops;
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    struct fake_backend *f = *state;
    for (int i = 0; i < f->n_pieces; i++)
        free(f->pieces[i]);
    free(f);
    return 0;
}

static void test_cut_tokens(void **state)
{
    struct fake_backend *f = *state;
    const char *text = "The quick brown fox jumps over the lazy dog";
    struct tail_result t;
    char err[128] = "";
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), 3, 4.0, &t, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(t.text, " the lazy dog"); /* the last 3 pieces */
    assert_int_equal(t.tokens, 3);
    assert_int_equal(t.source_tokens, 9);
    assert_int_equal(t.truncated, 1);
    assert_int_equal(f->tokenize_calls, 1);
    assert_int_equal(f->detokenize_calls, 1);
    tail_result_free(&t);

    /* tau 1: the last piece with its leading space */
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), 1, 4.0, &t, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(t.text, " dog");
    assert_int_equal(t.tokens, 1);
    tail_result_free(&t);
}

static void test_cut_tokens_span_only(void **state)
{
    struct fake_backend *f = *state;
    /* a think span inside a longer trace: only the span is tokenized */
    const char *trace = "<think>alpha beta gamma delta</think> answer words here";
    const char *start;
    size_t len;
    tail_span(trace, "<think>", "</think>", TAIL_THINK, &start, &len);
    struct tail_result t;
    char err[128] = "";
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, start, len, 2, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(f->last_tokenized, "alpha beta gamma delta");
    assert_string_equal(t.text, " gamma delta");
    assert_int_equal(t.tokens, 2);
    assert_int_equal(t.source_tokens, 4);
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
}

static void test_cut_tokens_short_span(void **state)
{
    struct fake_backend *f = *state;
    const char *text = "  two words \n";
    struct tail_result t;
    char err[128] = "";
    for (int tau = 3; tau <= 5; tau++) { /* 3 pieces: "  two", " words", " \n" */
        assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), tau, 4.0, &t, err,
                                  sizeof(err)),
                         RSA_OK);
        assert_string_equal(t.text, text); /* the span itself, untouched */
        assert_int_equal(t.tokens, 3);
        assert_int_equal(t.source_tokens, 3);
        assert_int_equal(t.truncated, 0);
        tail_result_free(&t);
    }
    assert_int_equal(f->detokenize_calls, 0); /* nothing to detokenize */
    /* one fewer: cut */
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), 2, 4.0, &t, err, sizeof(err)),
                     RSA_OK);
    assert_string_equal(t.text, " words \n");
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
    /* an empty span has 0 tokens */
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, "", 0, 2, 4.0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "");
    assert_int_equal(t.tokens, 0);
    assert_int_equal(t.source_tokens, 0);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
}

static void test_cut_tokens_errors(void **state)
{
    struct fake_backend *f = *state;
    const char *text = "a b c d e";
    struct tail_result t;
    char err[128] = "";

    f->tokenize_rc = RSA_ERR_HTTP;
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), 2, 4.0, &t, err, sizeof(err)),
                     RSA_ERR_HTTP);
    assert_string_equal(err, "fake tokenizer: refused");
    assert_null(t.text);
    f->tokenize_rc = RSA_OK;

    f->detokenize_rc = RSA_ERR_PROTOCOL;
    err[0] = '\0';
    assert_int_equal(tail_cut(&f->base, TAIL_METHOD_TOKENS, text, strlen(text), 2, 4.0, &t, err, sizeof(err)),
                     RSA_ERR_PROTOCOL);
    assert_string_equal(err, "fake detokenizer: refused");
    assert_null(t.text);
    f->detokenize_rc = RSA_OK;

    /* no backend, or one without a tokenizer */
    assert_int_equal(tail_cut(NULL, TAIL_METHOD_TOKENS, text, strlen(text), 2, 4.0, &t, err, sizeof(err)),
                     RSA_ERR_UNSUPPORTED);
    assert_null(t.text);
    struct backend none = {.ops = &no_tokenizer_ops};
    assert_int_equal(tail_cut(&none, TAIL_METHOD_TOKENS, text, strlen(text), 2, 4.0, &t, err, sizeof(err)),
                     RSA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "tokenizer"));
}

/* ===== tail_cut_ids: tails on the ids the engine generated ===== */

/* A completion made of pieces (one per token), as the engine backend builds it: ends[i] is the text
 * length after piece i; a piece marked pending holds back part of a character (its text is ""). */
struct piece {
    const char *text;
    int pending;
};

static void make_completion(struct backend_completion *c, const struct piece *p, size_t n)
{
    memset(c, 0, sizeof(*c));
    struct buf b;
    buf_init(&b, 0);
    c->ids = malloc(n * sizeof(int32_t) + 1);
    c->ends = malloc(n * sizeof(uint32_t) + 1);
    assert_non_null(c->ids);
    assert_non_null(c->ends);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(buf_puts(&b, p[i].text), RSA_OK);
        c->ids[i] = (int32_t)(100 + i);
        c->ends[i] = (uint32_t)b.len | (p[i].pending ? BACKEND_END_PENDING : 0);
    }
    c->n_ids = n;
    c->text = buf_take(&b);
}

static void assert_ids(const struct tail_result *t, size_t first, size_t n)
{
    assert_int_equal(t->n_ids, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(t->ids[i], (int32_t)(100 + first + i));
}

static void test_cut_ids(void **state)
{
    (void)state;
    /* "<think>" a1 " b2" " c3" "\n\n" "</think>" "\n" " Ans" */
    static const struct piece p[] = {{"<think>", 0}, {"a1", 0}, {" b2", 0}, {" c3", 0}, {"\n\n", 0},
                                     {"</think>", 0}, {"\n", 0}, {" Ans", 0}};
    struct backend_completion c;
    make_completion(&c, p, sizeof(p) / sizeof(p[0]));
    struct tail_result t;
    char err[256];
    const char *span;
    size_t len;
    /* full, tau = 3: the last three tokens "</think>" "\n" " Ans"; nothing blank at the ends */
    tail_span(c.text, "<think>", "</think>", TAIL_FULL, &span, &len);
    assert_int_equal(tail_cut_ids(&c, span, len, 3, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "</think>\n Ans");
    assert_ids(&t, 5, 3);
    assert_int_equal(t.tokens, 3);
    assert_int_equal(t.source_tokens, 8);
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
    /* think span, tau = 2: " c3" "\n\n" -> the trailing blank token is dropped */
    tail_span(c.text, "<think>", "</think>", TAIL_THINK, &span, &len);
    assert_int_equal(tail_cut_ids(&c, span, len, 2, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, " c3");
    assert_ids(&t, 3, 1);
    assert_int_equal(t.source_tokens, 4);
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
    /* think span, tau larger than the span: the whole span, not truncated */
    assert_int_equal(tail_cut_ids(&c, span, len, 50, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "a1 b2 c3");
    assert_ids(&t, 1, 3);
    assert_int_equal(t.truncated, 0);
    tail_result_free(&t);
    /* tau = 0 keeps every token of the span */
    assert_int_equal(tail_cut_ids(&c, span, len, 0, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "a1 b2 c3");
    tail_result_free(&t);
    /* answer: "\n" is blank and dropped; " Ans" stays whole (its space is part of the token) */
    tail_span(c.text, "<think>", "</think>", TAIL_ANSWER_OR_THINK, &span, &len);
    assert_int_equal(tail_cut_ids(&c, span, len, 4, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, " Ans");
    assert_ids(&t, 7, 1);
    tail_result_free(&t);
    /* the text is a substring of the trace: the tail is exactly the text of its ids */
    backend_completion_free(&c);
}

static void test_cut_ids_utf8(void **state)
{
    (void)state;
    /* "x" then the euro sign as three byte tokens, then "y" */
    static const struct piece p[] = {{"x", 0}, {"", 1}, {"", 1}, {"\xe2\x82\xac", 0}, {"y", 0}};
    struct backend_completion c;
    make_completion(&c, p, 5);
    struct tail_result t;
    char err[256];
    /* the last 3 tokens would start inside the character: the tail starts after it */
    assert_int_equal(tail_cut_ids(&c, c.text, strlen(c.text), 3, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "y");
    assert_ids(&t, 4, 1);
    assert_int_equal(t.truncated, 1);
    tail_result_free(&t);
    /* 4 tokens start at the character's first byte: all of it */
    assert_int_equal(tail_cut_ids(&c, c.text, strlen(c.text), 4, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "\xe2\x82\xac" "y");
    assert_ids(&t, 1, 4);
    tail_result_free(&t);
    /* a span that starts in the middle of the character drops the partial tokens */
    assert_int_equal(tail_cut_ids(&c, c.text + 2, strlen(c.text) - 2, 10, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "y");
    tail_result_free(&t);
    backend_completion_free(&c);
}

/* a blank token whose text carries bytes held back by the tokens before it (a byte-fallback run
 * flushed by it): trimming it drops those tokens too, so the tail never ends on a held-back token */
static void test_cut_ids_trailing_run(void **state)
{
    (void)state;
    static const struct piece p[] = {{"a", 0}, {"b", 0}, {"", 1}, {"  ", 0}};
    struct backend_completion c;
    make_completion(&c, p, 4);
    struct tail_result t;
    char err[256];
    assert_int_equal(tail_cut_ids(&c, c.text, strlen(c.text), 3, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "b");
    assert_ids(&t, 1, 1);
    tail_result_free(&t);
    backend_completion_free(&c);
}

static void test_cut_ids_errors(void **state)
{
    (void)state;
    static const struct piece p[] = {{"ab", 0}, {"cd", 0}};
    struct backend_completion c;
    make_completion(&c, p, 2);
    struct tail_result t;
    char err[256] = "";
    char other[] = "abcd";
    assert_int_equal(tail_cut_ids(&c, other, 4, 1, &t, err, sizeof(err)), RSA_ERR_USAGE);
    assert_null(t.text);
    c.ends[1] = 99; /* past the text */
    assert_int_equal(tail_cut_ids(&c, c.text, 4, 1, &t, err, sizeof(err)), RSA_ERR_PROTOCOL);
    assert_non_null(strstr(err, "token 1"));
    free(c.ends);
    c.ends = NULL;
    assert_int_equal(tail_cut_ids(&c, c.text, 4, 1, &t, err, sizeof(err)), RSA_ERR_UNSUPPORTED);
    backend_completion_free(&c);
}

/* A model that stops at once: no ids, no text, an empty (not missing) tail. */
static void test_cut_ids_empty_completion(void **state)
{
    (void)state;
    struct backend_completion c;
    memset(&c, 0, sizeof(c));
    c.text = strdup("");
    assert_non_null(c.text);
    struct tail_result t;
    char err[256] = "";
    assert_int_equal(tail_cut_ids(&c, c.text, 0, 8, &t, err, sizeof(err)), RSA_OK);
    assert_string_equal(t.text, "");
    assert_int_equal(t.n_ids, 0);
    assert_int_equal(t.tokens, 0);
    assert_int_equal(t.source_tokens, 0);
    assert_false(t.truncated);
    tail_result_free(&t);
    backend_completion_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_span),
        cmocka_unit_test(test_tail_span_custom_markers),
        cmocka_unit_test(test_think_closed),
        cmocka_unit_test(test_cut_whole),
        cmocka_unit_test(test_cut_chars_ascii),
        cmocka_unit_test(test_cut_chars_utf8),
        cmocka_unit_test(test_cut_ids),
        cmocka_unit_test(test_cut_ids_utf8),
        cmocka_unit_test(test_cut_ids_trailing_run),
        cmocka_unit_test(test_cut_ids_errors),
        cmocka_unit_test(test_cut_ids_empty_completion),
        cmocka_unit_test_setup_teardown(test_cut_tokens, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_cut_tokens_span_only, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_cut_tokens_short_span, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_cut_tokens_errors, fake_setup, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
