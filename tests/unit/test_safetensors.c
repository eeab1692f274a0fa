/*
 * test_safetensors.c: the safetensors loader and writer (engine/safetensors.c): dtype tables,
 * writer -> reader round trip, sharded directories with an index, and every class of bad input
 * (each must give the right code and a message naming the file and the tensor).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/safetensors.h"
#include "rsa/util.h"
#include "testutil.h"

static char err[1024];

/* path_in: tmpdir/name in one of 8 rotating static buffers. */
static const char *path_in(const char *name)
{
    static char p[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

/* write_raw: a file with an 8-byte length hlen_field, the header bytes, then data bytes. */
static void write_raw_len(const char *path, uint64_t hlen_field, const char *header, const void *data,
                          size_t datalen)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char pre[8];
    for (int i = 0; i < 8; i++)
        pre[i] = (unsigned char)(hlen_field >> (8 * i));
    assert_int_equal(fwrite(pre, 1, 8, f), 8);
    size_t hl = strlen(header);
    if (hl > 0)
        assert_int_equal(fwrite(header, 1, hl, f), hl);
    if (datalen > 0)
        assert_int_equal(fwrite(data, 1, datalen, f), datalen);
    assert_int_equal(fclose(f), 0);
}

static void write_raw(const char *path, const char *header, size_t datalen)
{
    unsigned char *data = calloc(1, datalen + 1);
    assert_non_null(data);
    for (size_t i = 0; i < datalen; i++)
        data[i] = (unsigned char)i;
    write_raw_len(path, strlen(header), header, data, datalen);
    free(data);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* expect: rc and a message naming every non-NULL word. */
static void expect(enum rsa_err got, enum rsa_err want, const char *w1, const char *w2, const char *what)
{
    if (got != want)
        fail_msg("%s: rc %d (%s), want %d; message: %s", what, got, rsa_err_str(got), want, err);
    if (w1 != NULL && strstr(err, w1) == NULL)
        fail_msg("%s: message does not name \"%s\": %s", what, w1, err);
    if (w2 != NULL && strstr(err, w2) == NULL)
        fail_msg("%s: message does not name \"%s\": %s", what, w2, err);
}

/* ===== dtypes ===== */

static void test_dtypes(void **state)
{
    (void)state;
    static const size_t sizes[ST_DTYPE_COUNT] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1, 1, 1, 2, 4, 8};
    for (int d = 0; d < ST_DTYPE_COUNT; d++) {
        assert_int_equal(st_dtype_size((enum st_dtype)d), sizes[d]);
        enum st_dtype back;
        assert_true(st_dtype_parse(st_dtype_name((enum st_dtype)d), &back));
        assert_int_equal(back, d);
    }
    assert_string_equal(st_dtype_name(ST_BF16), "BF16");
    assert_string_equal(st_dtype_name(ST_F8_E4M3), "F8_E4M3");
    assert_int_equal(st_dtype_size(ST_DTYPE_COUNT), 0);
    enum st_dtype x;
    assert_false(st_dtype_parse("bf16", &x));
    assert_false(st_dtype_parse("F128", &x));
    assert_false(st_dtype_parse("", &x));
    assert_false(st_dtype_parse(NULL, &x));
}

/* ===== writer -> reader ===== */

/* write_model: a small checkpoint at path with tensors "a" F32 [2,3] (values 0..5), "b" BF16 [4],
 * "s" I64 scalar (42), "z" U8 [0,5] (empty) and extra (when non-NULL) F32 [1]. */
static void write_model(const char *path, const char *meta, const char *extra)
{
    struct st_wtensor t[5] = {
        {"a", ST_F32, 2, {2, 3}},
        {"b", ST_BF16, 1, {4}},
        {"s", ST_I64, 0, {0}},
        {"z", ST_U8, 2, {0, 5}},
        {extra, ST_F32, 1, {1}},
    };
    struct st_writer *w = NULL;
    assert_int_equal(st_writer_open(path, t, extra ? 5 : 4, meta, &w, err, sizeof(err)), RSA_OK);
    float a[6] = {0, 1, 2, 3, 4, 5};
    /* odd chunking across tensor boundaries */
    assert_int_equal(st_writer_write(w, a, 5, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, (char *)a + 5, 19, err, sizeof(err)), RSA_OK);
    uint16_t b[4] = {0x3f80, 0x4000, 0x4040, 0x4080};
    int64_t s = 42;
    unsigned char tail[16];
    memcpy(tail, b, 8);
    memcpy(tail + 8, &s, 8);
    assert_int_equal(st_writer_write(w, tail, 3, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, tail + 3, 0, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, tail + 3, 13, err, sizeof(err)), RSA_OK);
    if (extra != NULL) {
        float e = 7.5f;
        assert_int_equal(st_writer_write(w, &e, 4, err, sizeof(err)), RSA_OK);
    }
    assert_int_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
}

static void test_roundtrip(void **state)
{
    (void)state;
    const char *path = path_in("rt.safetensors");
    write_model(path, "{\"format\": \"pt\", \"note\": \"q\\\"uote\"}", NULL);
    struct st_set *s = NULL;
    assert_int_equal(st_open_file(path, &s, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_count(s), 4);
    assert_true(st_total_bytes(s) == 24 + 8 + 8);

    struct st_tensor *a = st_find(s, "a");
    assert_non_null(a);
    assert_int_equal(a->dtype, ST_F32);
    assert_int_equal(a->ndim, 2);
    assert_int_equal(a->shape[0], 2);
    assert_int_equal(a->shape[1], 3);
    assert_true(a->nbytes == 24);
    assert_string_equal(a->file, "rt.safetensors");
    assert_false(a->used);
    /* the header is padded so the data block starts 8-byte aligned */
    assert_true(a->offset % 8 == 0);
    float av[6];
    memcpy(av, a->data, 24);
    for (int i = 0; i < 6; i++)
        assert_true(av[i] == (float)i);

    struct st_tensor *b = st_find(s, "b");
    assert_non_null(b);
    assert_int_equal(b->dtype, ST_BF16);
    assert_true(b->offset == a->offset + 24);
    uint16_t bv[4];
    memcpy(bv, b->data, 8);
    assert_int_equal(bv[0], 0x3f80);
    assert_int_equal(bv[3], 0x4080);

    struct st_tensor *sc = st_find(s, "s");
    assert_non_null(sc);
    assert_int_equal(sc->ndim, 0);
    assert_true(sc->nbytes == 8);
    int64_t sv;
    memcpy(&sv, sc->data, 8);
    assert_int_equal(sv, 42);

    struct st_tensor *z = st_find(s, "z");
    assert_non_null(z);
    assert_true(z->nbytes == 0);
    assert_int_equal(z->shape[0], 0);
    assert_int_equal(z->shape[1], 5);

    assert_null(st_find(s, "nope"));
    assert_null(st_find(s, ""));
    assert_null(st_at(s, 4));
    /* st_at: sorted by offset */
    for (size_t i = 1; i < st_count(s); i++)
        assert_true(st_at(s, i - 1)->offset <= st_at(s, i)->offset);

    const char *meta = st_metadata(s);
    assert_non_null(meta);
    assert_non_null(strstr(meta, "\"format\":\"pt\""));
    assert_non_null(strstr(meta, "q\\\"uote"));
    st_close(s);
    st_close(NULL);

    /* no metadata: st_metadata NULL; no tensors at all is a valid file */
    write_model(path, NULL, NULL);
    assert_int_equal(st_open_file(path, &s, err, sizeof(err)), RSA_OK);
    assert_null(st_metadata(s));
    st_close(s);
    struct st_writer *w = NULL;
    assert_int_equal(st_writer_open(path, NULL, 0, NULL, &w, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_open_file(path, &s, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_count(s), 0);
    assert_null(st_find(s, "a"));
    st_close(s);
}

/* many tensors: the hash table finds every one */
static void test_many(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct st_wtensor *t = calloc(N, sizeof(*t));
    char(*names)[32] = calloc(N, 32);
    assert_non_null(t);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 32, "model.layers.%d.w", i);
        t[i] = (struct st_wtensor){names[i], ST_I32, 1, {i % 3}};
    }
    const char *path = path_in("many.safetensors");
    struct st_writer *w = NULL;
    assert_int_equal(st_writer_open(path, t, N, NULL, &w, err, sizeof(err)), RSA_OK);
    for (int i = 0; i < N; i++) {
        int32_t v[2] = {i, -i};
        assert_int_equal(st_writer_write(w, v, (size_t)(i % 3) * 4, err, sizeof(err)), RSA_OK);
    }
    assert_int_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
    struct st_set *s = NULL;
    assert_int_equal(st_open_file(path, &s, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_count(s), N);
    for (int i = 0; i < N; i++) {
        struct st_tensor *x = st_find(s, names[i]);
        assert_non_null(x);
        assert_string_equal(x->name, names[i]);
        if (i % 3 > 0) {
            int32_t v;
            memcpy(&v, x->data, 4);
            assert_int_equal(v, i);
        }
    }
    st_close(s);
    free(t);
    free(names);
}

static void test_writer_errors(void **state)
{
    (void)state;
    const char *path = path_in("w.safetensors");
    struct st_wtensor t[2] = {{"x", ST_F32, 1, {2}}, {"y", ST_U8, 1, {3}}};
    struct st_writer *w = NULL;
    char buf[16] = {0};

    /* more bytes than declared */
    assert_int_equal(st_writer_open(path, t, 2, NULL, &w, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, buf, 8, err, sizeof(err)), RSA_OK);
    expect(st_writer_write(w, buf, 4, err, sizeof(err)), RSA_ERR_USAGE, path, NULL, "overflow");
    assert_int_not_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
    assert_false(util_file_exists(path));

    /* fewer bytes than declared: error and the file is removed */
    assert_int_equal(st_writer_open(path, t, 2, NULL, &w, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, buf, 10, err, sizeof(err)), RSA_OK);
    expect(st_writer_close(w, err, sizeof(err)), RSA_ERR_USAGE, path, "10 of 11", "short");
    assert_false(util_file_exists(path));
    assert_int_equal(st_writer_close(NULL, err, sizeof(err)), RSA_OK);

    /* bad descriptions */
    struct st_wtensor dup[2] = {{"x", ST_F32, 1, {2}}, {"x", ST_U8, 1, {3}}};
    expect(st_writer_open(path, dup, 2, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, "'x'", "duplicate");
    assert_null(w);
    struct st_wtensor neg[1] = {{"n", ST_F32, 1, {-1}}};
    expect(st_writer_open(path, neg, 1, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, "'n'", "negative dim");
    struct st_wtensor nd[1] = {{"d", ST_F32, 9, {1}}};
    expect(st_writer_open(path, nd, 1, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, "'d'", "ndim 9");
    struct st_wtensor big[1] = {{"g", ST_F64, 2, {INT64_C(1) << 40, INT64_C(1) << 40}}};
    expect(st_writer_open(path, big, 1, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, "'g'", "overflow");
    struct st_wtensor md[1] = {{"__metadata__", ST_F32, 1, {1}}};
    expect(st_writer_open(path, md, 1, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, NULL, "reserved");
    struct st_wtensor bad8[1] = {{"\xff\xfe", ST_F32, 1, {1}}};
    expect(st_writer_open(path, bad8, 1, NULL, &w, err, sizeof(err)), RSA_ERR_USAGE, path, NULL, "not UTF-8");
    expect(st_writer_open(path, t, 2, "{\"a\": 1}", &w, err, sizeof(err)), RSA_ERR_USAGE, path, "metadata",
           "metadata value not a string");
    expect(st_writer_open(path, t, 2, "[]", &w, err, sizeof(err)), RSA_ERR_USAGE, path, "metadata",
           "metadata not an object");
    assert_false(util_file_exists(path));
    /* cannot create */
    expect(st_writer_open(path_in("no/such/dir.safetensors"), t, 2, NULL, &w, err, sizeof(err)), RSA_ERR_IO,
           "no/such/dir.safetensors", NULL, "bad dir");
    /* names needing escapes survive the round trip */
    struct st_wtensor esc[1] = {{"we\"ird\\na\nme\xc3\xa9", ST_U8, 1, {1}}};
    assert_int_equal(st_writer_open(path, esc, 1, NULL, &w, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, "Q", 1, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
    struct st_set *s = NULL;
    assert_int_equal(st_open_file(path, &s, err, sizeof(err)), RSA_OK);
    assert_non_null(st_find(s, esc[0].name));
    assert_int_equal(*(const char *)st_find(s, esc[0].name)->data, 'Q');
    st_close(s);
}

/* ===== bad files ===== */

static const struct bad_file {
    const char *name;    /* file name (also what the message must name) */
    const char *header;  /* header JSON */
    size_t datalen;
    const char *tensor;  /* what the message must name besides the file */
} bad_files[] = {
    {"notjson.safetensors", "{\"a\": {\"dtype\": ", 0, "(header)"},
    {"array.safetensors", "[1, 2, 3]", 0, "(header)"},
    {"string.safetensors", "\"x\"", 0, "(header)"},
    {"empty_header.safetensors", "", 0, "(header)"},
    {"trailing.safetensors", "{} x", 0, "(header)"},
    {"entry_not_obj.safetensors", "{\"w\": 5}", 0, "'w'"},
    {"no_dtype.safetensors", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "'w'"},
    {"unknown_dtype.safetensors", "{\"w\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0, 16]}}", 16,
     "'w'"},
    {"dtype_num.safetensors", "{\"w\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "'w'"},
    {"no_shape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "'w'"},
    {"shape_neg.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, "'w'"},
    {"shape_frac.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
     "'w'"},
    {"shape_str.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}}", 4,
     "'w'"},
    {"shape_huge.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1e17], \"data_offsets\": [0, 4]}}", 4,
     "'w'"},
    {"ndim9.safetensors",
     "{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1, "'w'"},
    {"overflow.safetensors",
     "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}}", 4, "'w'"},
    {"overflow_dtype.safetensors",
     "{\"w\": {\"dtype\": \"F64\", \"shape\": [4294967296, 536870912], \"data_offsets\": [0, 8]}}", 8, "'w'"},
    {"no_offsets.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "'w'"},
    {"offsets_3.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8,
     "'w'"},
    {"offsets_neg.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 4,
     "'w'"},
    {"outside.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4, "'w'"},
    {"outside2.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 8, "'w'"},
    {"reversed.safetensors", "{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [4, 0]}}", 4, "'w'"},
    {"mismatch.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}", 16,
     "'w'"},
    {"overlap.safetensors",
     "{\"p\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
     " \"q\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
     12, "'q'"},
    {"same_place.safetensors",
     "{\"p\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
     " \"q\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
     4, "'q'"},
    {"dup_name.safetensors",
     "{\"p\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
     " \"p\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
     8, "'p'"},
    {"meta_not_obj.safetensors", "{\"__metadata__\": [1]}", 0, "__metadata__"},
    {"meta_num.safetensors", "{\"__metadata__\": {\"format\": 1}}", 0, "__metadata__"},
    {"meta_twice.safetensors", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "__metadata__"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        const struct bad_file *b = &bad_files[i];
        const char *path = path_in(b->name);
        write_raw(path, b->header, b->datalen);
        struct st_set *s = (struct st_set *)&s; /* must be reset to NULL */
        err[0] = '\0';
        expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, b->name, b->tensor, b->name);
        assert_null(s);
    }
}

/* the same header bytes accepted when valid: the bad cases above are bad for the stated reason */
static void test_good_edges(void **state)
{
    (void)state;
    static const char *const ok[] = {
        /* trailing space padding */
        "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}      ",
        /* gaps between tensors, unknown extra keys, any key order */
        "{\"w\": {\"data_offsets\": [4, 8], \"shape\": [1], \"dtype\": \"F32\", \"x\": 1},"
        " \"v\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [10, 12]}}",
        /* empty tensors anywhere, even inside another's range */
        "{\"p\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
        " \"e\": {\"dtype\": \"F32\", \"shape\": [0, 7], \"data_offsets\": [4, 4]},"
        " \"f\": {\"dtype\": \"BF16\", \"shape\": [3, 0], \"data_offsets\": [4, 4]}}",
        /* the dims overflow only if multiplied past a zero */
        "{\"z\": {\"dtype\": \"F32\", \"shape\": [0, 4294967296, 4294967296], \"data_offsets\": [0, 0]}}",
        "{}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *path = path_in("ok.safetensors");
        write_raw(path, ok[i], 16);
        struct st_set *s = NULL;
        if (st_open_file(path, &s, err, sizeof(err)) != RSA_OK)
            fail_msg("case %zu: %s", i, err);
        st_close(s);
    }
    /* st_parse_header: relative offsets, no data / file, sorted by offset */
    struct st_tensor *t = NULL;
    size_t n = 0;
    char *meta = NULL;
    const char *h = ok[1];
    assert_int_equal(st_parse_header(h, strlen(h), 12, "h.json", &t, &n, &meta, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 2);
    assert_null(meta);
    assert_string_equal(t[0].name, "w");
    assert_true(t[0].offset == 4);
    assert_null(t[0].data);
    assert_null(t[0].file);
    assert_string_equal(t[1].name, "v");
    assert_true(t[1].offset == 10);
    st_tensors_free(t, n);
    /* the same header with a shorter data block fails, naming the tensor */
    expect(st_parse_header(h, strlen(h), 11, "h.json", &t, &n, NULL, err, sizeof(err)), RSA_ERR_PARSE, "h.json",
           "'v'", "short data");
    assert_null(t);
    assert_int_equal(n, 0);
    /* metadata is returned as JSON */
    h = "{\"__metadata__\": {\"format\": \"pt\"}}";
    assert_int_equal(st_parse_header(h, strlen(h), 0, "h.json", &t, &n, &meta, err, sizeof(err)), RSA_OK);
    assert_int_equal(n, 0);
    assert_null(t);
    assert_string_equal(meta, "{\"format\":\"pt\"}");
    free(meta);
    /* only len bytes are read: a header cut short is invalid */
    h = "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}";
    expect(st_parse_header(h, strlen(h) - 1, 1, "h.json", &t, &n, NULL, err, sizeof(err)), RSA_ERR_PARSE, "h.json",
           NULL, "cut");
}

static void test_truncated(void **state)
{
    (void)state;
    struct st_set *s = NULL;
    /* empty file and a partial length prefix */
    const char *path = path_in("trunc0.safetensors");
    write_text(path, "");
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "trunc0.safetensors", "(header)", "empty");
    path = path_in("trunc5.safetensors");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("\x10\0\0\0\0", 1, 5, f), 5);
    assert_int_equal(fclose(f), 0);
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "trunc5.safetensors", "(header)", "5 bytes");
    /* header length beyond the file */
    path = path_in("hlen.safetensors");
    write_raw_len(path, 1000, "{}", NULL, 0);
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "hlen.safetensors", "(header)", "hlen > file");
    write_raw_len(path, UINT64_MAX, "{}", NULL, 0);
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "hlen.safetensors", "(header)", "hlen max");
    /* a file cut inside its data block: the last tensor is outside the (shorter) data */
    path = path_in("cut.safetensors");
    write_model(path, NULL, NULL);
    struct st_set *full = NULL;
    assert_int_equal(st_open_file(path, &full, err, sizeof(err)), RSA_OK);
    uint64_t end = st_at(full, st_count(full) - 1)->offset + st_at(full, st_count(full) - 1)->nbytes;
    st_close(full);
    assert_int_equal(truncate(path, (off_t)end - 3), 0);
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "cut.safetensors", "'s'", "cut data");
    /* header over 100 MB (a sparse file, so the length fits inside it) */
    path = path_in("huge.safetensors");
    write_raw_len(path, 100000001, "", NULL, 0);
    assert_int_equal(truncate(path, 100000001 + 8), 0);
    expect(st_open_file(path, &s, err, sizeof(err)), RSA_ERR_PARSE, "huge.safetensors", "100 MB", "100 MB");
    /* not there / not a file */
    expect(st_open_file(path_in("absent.safetensors"), &s, err, sizeof(err)), RSA_ERR_IO, "absent.safetensors", NULL,
           "absent");
    expect(st_open_file(tmpdir, &s, err, sizeof(err)), RSA_ERR_IO, tmpdir, NULL, "directory");
    assert_null(s);
}

/* ===== directories ===== */

static void mkdir_in(const char *name)
{
    assert_int_equal(mkdir(path_in(name), 0755), 0);
}

static void test_dir_single(void **state)
{
    (void)state;
    mkdir_in("single");
    struct st_set *s = NULL;
    expect(st_open_dir(path_in("single"), &s, err, sizeof(err)), RSA_ERR_NOT_FOUND, "single", NULL, "empty dir");
    write_model(path_in("single/model.safetensors"), "{\"format\": \"pt\"}", NULL);
    assert_int_equal(st_open_dir(path_in("single"), &s, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_count(s), 4);
    assert_string_equal(st_find(s, "a")->file, "model.safetensors");
    st_close(s);
}

/* shard_dir: dir with shard 1 = {a, b, s, z, only1} and shard 2 = {c, d} plus an index whose
 * weight_map is wm (a JSON object body). */
static void shard_dir(const char *dir, const char *wm)
{
    char p[600];
    mkdir_in(dir);
    snprintf(p, sizeof(p), "%s/model-00001-of-00002.safetensors", path_in(dir));
    write_model(p, "{\"format\": \"pt\", \"shard\": \"1\"}", "only1");
    snprintf(p, sizeof(p), "%s/model-00002-of-00002.safetensors", path_in(dir));
    struct st_wtensor t[2] = {{"c", ST_F32, 1, {2}}, {"d", ST_U8, 1, {3}}};
    struct st_writer *w = NULL;
    assert_int_equal(st_writer_open(p, t, 2, "{\"format\": \"pt\", \"shard\": \"2\"}", &w, err, sizeof(err)), RSA_OK);
    float c[2] = {1.5f, -2.5f};
    assert_int_equal(st_writer_write(w, c, 8, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_write(w, "xyz", 3, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_writer_close(w, err, sizeof(err)), RSA_OK);
    char idx[4096];
    snprintf(idx, sizeof(idx), "{\"metadata\": {\"total_size\": 59}, \"weight_map\": {%s}}", wm);
    snprintf(p, sizeof(p), "%s/model.safetensors.index.json", path_in(dir));
    write_text(p, idx);
}

#define S1 "\"model-00001-of-00002.safetensors\""
#define S2 "\"model-00002-of-00002.safetensors\""

static void test_dir_sharded(void **state)
{
    (void)state;
    /* "only1" and "s" are in shard 1 but not in the map: still included */
    shard_dir("sharded", "\"a\": " S1 ", \"b\": " S1 ", \"z\": " S1 ", \"c\": " S2 ", \"d\": " S2);
    struct st_set *s = NULL;
    assert_int_equal(st_open_dir(path_in("sharded"), &s, err, sizeof(err)), RSA_OK);
    assert_int_equal(st_count(s), 7);
    assert_true(st_total_bytes(s) == 40 + 4 + 11);
    struct st_tensor *c = st_find(s, "c");
    assert_non_null(c);
    assert_string_equal(c->file, "model-00002-of-00002.safetensors");
    float cv[2];
    memcpy(cv, c->data, 8);
    assert_true(cv[0] == 1.5f && cv[1] == -2.5f);
    assert_memory_equal(st_find(s, "d")->data, "xyz", 3);
    struct st_tensor *o = st_find(s, "only1");
    assert_non_null(o);
    assert_string_equal(o->file, "model-00001-of-00002.safetensors");
    assert_true(*(const float *)o->data == 7.5f);
    assert_non_null(st_find(s, "s"));
    /* stable order: shard 1's tensors (by offset), then shard 2's */
    assert_string_equal(st_at(s, 0)->name, "a");
    assert_string_equal(st_at(s, 5)->name, "c");
    assert_string_equal(st_at(s, 6)->name, "d");
    /* metadata of the first shard */
    assert_non_null(strstr(st_metadata(s), "\"shard\":\"1\""));
    st_close(s);
}

static void test_dir_sharded_errors(void **state)
{
    (void)state;
    struct st_set *s = NULL;
    /* a listed tensor missing from the shard the map names */
    shard_dir("missing", "\"a\": " S1 ", \"ghost\": " S2);
    expect(st_open_dir(path_in("missing"), &s, err, sizeof(err)), RSA_ERR_PARSE, "'ghost'",
           "model-00002-of-00002.safetensors", "missing tensor");
    assert_null(s);
    /* listed for the wrong shard: names both */
    shard_dir("wrongshard", "\"a\": " S2 ", \"b\": " S1 ", \"c\": " S2);
    expect(st_open_dir(path_in("wrongshard"), &s, err, sizeof(err)), RSA_ERR_PARSE, "'a'",
           "model-00001-of-00002.safetensors", "wrong shard");
    assert_non_null(strstr(err, "model-00002-of-00002.safetensors"));
    /* the same tensor in two shards */
    mkdir_in("dup");
    write_model(path_in("dup/one.safetensors"), NULL, NULL);
    write_model(path_in("dup/two.safetensors"), NULL, NULL);
    write_text(path_in("dup/model.safetensors.index.json"),
               "{\"weight_map\": {\"a\": \"one.safetensors\", \"b\": \"two.safetensors\"}}");
    expect(st_open_dir(path_in("dup"), &s, err, sizeof(err)), RSA_ERR_PARSE, "one.safetensors", "two.safetensors",
           "duplicate across shards");
    assert_non_null(strstr(err, "'a'"));
    /* path traversal and sub-directories in shard names */
    static const char *const bad_names[] = {"../single/model.safetensors", "sub/x.safetensors", "..", ".", "",
                                            "/etc/passwd"};
    mkdir_in("trav");
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        char idx[512];
        snprintf(idx, sizeof(idx), "{\"weight_map\": {\"t%zu\": \"%s\"}}", i, bad_names[i]);
        write_text(path_in("trav/model.safetensors.index.json"), idx);
        char tn[16];
        snprintf(tn, sizeof(tn), "'t%zu'", i);
        expect(st_open_dir(path_in("trav"), &s, err, sizeof(err)), RSA_ERR_PARSE, "model.safetensors.index.json",
               tn, bad_names[i]);
    }
    /* shard name not a string */
    write_text(path_in("trav/model.safetensors.index.json"), "{\"weight_map\": {\"w\": 3}}");
    expect(st_open_dir(path_in("trav"), &s, err, sizeof(err)), RSA_ERR_PARSE, "index.json", "'w'", "number");
    /* a shard that does not exist */
    write_text(path_in("trav/model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"gone.safetensors\"}}");
    expect(st_open_dir(path_in("trav"), &s, err, sizeof(err)), RSA_ERR_IO, "gone.safetensors", NULL, "gone");
    /* a bad shard: its own parse error names it and the tensor */
    write_raw(path_in("trav/bad.safetensors"), "{\"w\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 1]}}",
              1);
    write_text(path_in("trav/model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"bad.safetensors\"}}");
    expect(st_open_dir(path_in("trav"), &s, err, sizeof(err)), RSA_ERR_PARSE, "bad.safetensors", "'w'", "bad shard");
    /* malformed indexes */
    static const char *const bad_idx[] = {"{", "[]", "{\"metadata\": {}}", "{\"weight_map\": []}",
                                          "{\"weight_map\": {}}"};
    for (size_t i = 0; i < sizeof(bad_idx) / sizeof(bad_idx[0]); i++) {
        write_text(path_in("trav/model.safetensors.index.json"), bad_idx[i]);
        expect(st_open_dir(path_in("trav"), &s, err, sizeof(err)), RSA_ERR_PARSE, "model.safetensors.index.json",
               NULL, bad_idx[i]);
    }
    assert_null(s);
    /* no such directory */
    expect(st_open_dir(path_in("nowhere"), &s, err, sizeof(err)), RSA_ERR_NOT_FOUND, "nowhere", NULL, "nowhere");
}

static int setup(void **state)
{
    (void)state;
    return testutil_tmpdir_make("safetensors");
}

static int teardown(void **state)
{
    (void)state;
    return testutil_tmpdir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),         cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_many),           cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_bad_files),      cmocka_unit_test(test_good_edges),
        cmocka_unit_test(test_truncated),      cmocka_unit_test(test_dir_single),
        cmocka_unit_test(test_dir_sharded),    cmocka_unit_test(test_dir_sharded_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
