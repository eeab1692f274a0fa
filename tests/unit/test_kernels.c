/*
 * test_kernels.c: the CPU math kernels (engine/cpu/kernels.c): ISA selection, the scalar
 * fp16/bf16 conversions (exhaustive round trips, special values, round to nearest even), the
 * vector conversions against the scalar ones, kern_matmul against kern_matmul_ref for every ISA
 * the CPU has, every dtype and many shapes / strides / row ranges, kern_dot, kern_axpy and
 * kern_read_sum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "engine/cpu/kernels.h"

/* ===== helpers ===== */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static float rng_unit(void)
{
    return (float)((double)(rng_next() >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static const enum kern_isa all_isas[] = {KERN_SCALAR, KERN_AVX2, KERN_AVX512};
static const enum kern_dtype all_dtypes[] = {KERN_F32, KERN_F16, KERN_BF16};

/* use_isa: force isa; 1 when it is in effect, 0 when the CPU lacks it (skip). */
static int use_isa(enum kern_isa isa)
{
    kern_set_isa(isa);
    return kern_get_isa() == isa;
}

static size_t dt_bytes(enum kern_dtype dt)
{
    return dt == KERN_F32 ? 4 : 2;
}

/* store f into element i of a dt buffer (rounded); returns the value actually stored */
static float put_elem(void *buf, enum kern_dtype dt, size_t i, float f)
{
    switch (dt) {
    case KERN_BF16:
        ((uint16_t *)buf)[i] = kern_f32_to_bf16(f);
        return kern_bf16_to_f32(((uint16_t *)buf)[i]);
    case KERN_F16:
        ((uint16_t *)buf)[i] = kern_f32_to_f16(f);
        return kern_f16_to_f32(((uint16_t *)buf)[i]);
    default:
        ((float *)buf)[i] = f;
        return f;
    }
}

/* ===== ISA selection ===== */

static void test_isa_select(void **state)
{
    (void)state;
    enum kern_isa best = kern_init();
    assert_true(best >= KERN_SCALAR && best <= KERN_AVX512);
    assert_int_equal(kern_init(), best); /* idempotent */
    assert_int_equal(kern_set_isa(KERN_SCALAR), KERN_SCALAR);
    assert_int_equal(kern_get_isa(), KERN_SCALAR);
    for (size_t i = 0; i < sizeof(all_isas) / sizeof(all_isas[0]); i++) {
        enum kern_isa got = kern_set_isa(all_isas[i]);
        assert_int_equal(got, all_isas[i] <= best ? all_isas[i] : best);
        assert_int_equal(kern_get_isa(), got);
    }
    assert_int_equal(kern_set_isa((enum kern_isa)42), best);
    assert_string_equal(kern_isa_name(KERN_SCALAR), "scalar");
    assert_string_equal(kern_isa_name(KERN_AVX2), "avx2");
    assert_string_equal(kern_isa_name(KERN_AVX512), "avx512");
    kern_set_isa(best);
}

/* ===== scalar conversions ===== */

static int is_nan_f16(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

static int is_nan_bf16(uint16_t h)
{
    return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0;
}

static void test_f16_special(void **state)
{
    (void)state;
    assert_true(kern_f16_to_f32(0x0000) == 0.0f && !signbit(kern_f16_to_f32(0x0000)));
    assert_true(kern_f16_to_f32(0x8000) == 0.0f && signbit(kern_f16_to_f32(0x8000)));
    assert_true(kern_f16_to_f32(0x3c00) == 1.0f);
    assert_true(kern_f16_to_f32(0xc000) == -2.0f);
    assert_true(kern_f16_to_f32(0x0001) == 0x1.0p-24f);           /* smallest subnormal */
    assert_true(kern_f16_to_f32(0x8001) == -0x1.0p-24f);
    assert_true(kern_f16_to_f32(0x03ff) == 1023.0f * 0x1.0p-24f); /* largest subnormal */
    assert_true(kern_f16_to_f32(0x0400) == 0x1.0p-14f);           /* smallest normal */
    assert_true(kern_f16_to_f32(0x7bff) == 65504.0f);             /* max */
    assert_true(isinf(kern_f16_to_f32(0x7c00)) && kern_f16_to_f32(0x7c00) > 0);
    assert_true(isinf(kern_f16_to_f32(0xfc00)) && kern_f16_to_f32(0xfc00) < 0);
    assert_true(isnan(kern_f16_to_f32(0x7e00)));
    assert_true(isnan(kern_f16_to_f32(0x7c01))); /* signalling payload is still a nan */
    assert_true(isnan(kern_f16_to_f32(0xfe00)) && signbit(kern_f16_to_f32(0xfe00)));

    assert_int_equal(kern_f32_to_f16(0.0f), 0x0000);
    assert_int_equal(kern_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(kern_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(kern_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(kern_f32_to_f16(65519.99f), 0x7bff);
    assert_int_equal(kern_f32_to_f16(65520.0f), 0x7c00); /* tie, odd mantissa: up to inf */
    assert_int_equal(kern_f32_to_f16(-65520.0f), 0xfc00);
    assert_int_equal(kern_f32_to_f16(1e10f), 0x7c00);
    assert_int_equal(kern_f32_to_f16(FLT_MAX), 0x7c00);
    assert_int_equal(kern_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(kern_f32_to_f16(-INFINITY), 0xfc00);
    assert_true(is_nan_f16(kern_f32_to_f16(NAN)));
    assert_true(is_nan_f16(kern_f32_to_f16(u2f(0x7f800001u)))); /* tiny payload stays a nan */
    assert_true(is_nan_f16(kern_f32_to_f16(-NAN)) && (kern_f32_to_f16(-NAN) & 0x8000));
    /* subnormals and round to nearest even */
    assert_int_equal(kern_f32_to_f16(0x1.0p-24f), 0x0001);
    assert_int_equal(kern_f32_to_f16(0x1.0p-25f), 0x0000);             /* tie to even: 0 */
    assert_int_equal(kern_f32_to_f16(0x1.000002p-25f), 0x0001);        /* just above the tie */
    assert_int_equal(kern_f32_to_f16(3.0f * 0x1.0p-25f), 0x0002);      /* 1.5 units: to 2 */
    assert_int_equal(kern_f32_to_f16(5.0f * 0x1.0p-25f), 0x0002);      /* 2.5 units: to 2 */
    assert_int_equal(kern_f32_to_f16(-5.0f * 0x1.0p-25f), 0x8002);
    assert_int_equal(kern_f32_to_f16(1023.5f * 0x1.0p-24f), 0x0400);   /* up into the normals */
    assert_int_equal(kern_f32_to_f16(1e-10f), 0x0000);
    assert_int_equal(kern_f32_to_f16(-1e-10f), 0x8000);
    assert_int_equal(kern_f32_to_f16(1.0f + 0x1.0p-11f), 0x3c00);      /* tie: even */
    assert_int_equal(kern_f32_to_f16(1.0f + 3 * 0x1.0p-11f), 0x3c02);  /* tie: even (up) */
    assert_int_equal(kern_f32_to_f16(1.0f + 0x1.2p-11f), 0x3c01);      /* above the tie */
}

static void test_bf16_special(void **state)
{
    (void)state;
    assert_true(kern_bf16_to_f32(0x0000) == 0.0f && !signbit(kern_bf16_to_f32(0x0000)));
    assert_true(kern_bf16_to_f32(0x8000) == 0.0f && signbit(kern_bf16_to_f32(0x8000)));
    assert_true(kern_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(kern_bf16_to_f32(0x0001) == u2f(0x00010000u)); /* subnormal */
    assert_true(kern_bf16_to_f32(0x7f7f) == u2f(0x7f7f0000u)); /* max */
    assert_true(isinf(kern_bf16_to_f32(0x7f80)) && isinf(kern_bf16_to_f32(0xff80)));
    assert_true(isnan(kern_bf16_to_f32(0x7fc0)) && isnan(kern_bf16_to_f32(0x7f81)));

    assert_int_equal(kern_f32_to_bf16(0.0f), 0x0000);
    assert_int_equal(kern_f32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(kern_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(kern_f32_to_bf16(1.0f + 0x1.0p-8f), 0x3f80);     /* tie: even (down) */
    assert_int_equal(kern_f32_to_bf16(1.0f + 3 * 0x1.0p-8f), 0x3f82); /* tie: even (up) */
    assert_int_equal(kern_f32_to_bf16(1.0f + 0x1.2p-8f), 0x3f81);     /* above the tie */
    assert_int_equal(kern_f32_to_bf16(u2f(0x00008000u)), 0x0000);     /* subnormal tie: even */
    assert_int_equal(kern_f32_to_bf16(u2f(0x00018000u)), 0x0002);
    assert_int_equal(kern_f32_to_bf16(u2f(0x00008001u)), 0x0001);
    assert_int_equal(kern_f32_to_bf16(u2f(0x7f7f0000u)), 0x7f7f);     /* max is exact */
    assert_int_equal(kern_f32_to_bf16(FLT_MAX), 0x7f80);             /* beyond the last tie: inf */
    assert_int_equal(kern_f32_to_bf16(-FLT_MAX), 0xff80);
    assert_int_equal(kern_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(kern_f32_to_bf16(-INFINITY), 0xff80);
    assert_true(is_nan_bf16(kern_f32_to_bf16(NAN)));
    assert_true(is_nan_bf16(kern_f32_to_bf16(u2f(0x7f800001u)))); /* payload only in the low bits */
    assert_true(is_nan_bf16(kern_f32_to_bf16(u2f(0xffffffffu))));
}

/* every 16-bit pattern: f16 -> f32 -> f16 and bf16 -> f32 -> bf16 give it back (nans stay nans) */
static void test_roundtrip_exhaustive(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= 0xffff; h++) {
        float f = kern_f16_to_f32((uint16_t)h);
        uint16_t back = kern_f32_to_f16(f);
        if (is_nan_f16((uint16_t)h)) {
            assert_true(isnan(f));
            assert_true(is_nan_f16(back));
            assert_int_equal(back & 0x8000, h & 0x8000);
        } else {
            if (back != h)
                fail_msg("f16 0x%04x -> %a -> 0x%04x", h, (double)f, back);
            /* f16 values are exactly representable; check the value independently */
            if ((h & 0x7c00) != 0x7c00) {
                double mag = (h & 0x7c00) ? ldexp(1.0 + (h & 0x3ff) / 1024.0, (int)((h >> 10) & 0x1f) - 15)
                                          : ldexp((double)(h & 0x3ff), -24);
                assert_true((double)f == ((h & 0x8000) ? -mag : mag));
            }
        }
        float g = kern_bf16_to_f32((uint16_t)h);
        assert_int_equal(f2u(g), h << 16);
        uint16_t bback = kern_f32_to_bf16(g);
        if (is_nan_bf16((uint16_t)h))
            assert_true(is_nan_bf16(bback) && (bback & 0x8000) == (h & 0x8000));
        else
            assert_int_equal(bback, h);
    }
}

/* random fp32 values: the narrowed value is a nearest neighbour, ties go to the even mantissa */
static void check_nearest(float f, uint16_t h, float (*widen)(uint16_t), const char *what)
{
    double v = (double)widen(h), d = fabs(v - (double)f);
    if (isinf(v)) /* overflow: only when f is at or above the last tie; checked by the callers */
        return;
    for (int step = -1; step <= 1; step += 2) {
        uint16_t n = (uint16_t)(h + step);
        if ((n & 0x8000) != (h & 0x8000)) /* wrapped past zero: the other zero */
            n = h ^ 0x8000;
        double nv = (double)widen(n);
        if (isnan(nv) || isinf(nv))
            continue;
        double nd = fabs(nv - (double)f);
        if (nd < d)
            fail_msg("%s(%a) = 0x%04x (%a) but 0x%04x (%a) is nearer", what, (double)f, h, v, n, nv);
        if (nd == d && nv != v && (h & 1))
            fail_msg("%s(%a) = 0x%04x: a tie that did not go to even", what, (double)f, h);
    }
}

static void test_narrowing_random(void **state)
{
    (void)state;
    for (int i = 0; i < 400000; i++) {
        uint32_t u = (uint32_t)rng_next();
        float f = u2f(u);
        if (isnan(f) || isinf(f))
            continue;
        if (fabsf(f) < 65520.0f)
            check_nearest(f, kern_f32_to_f16(f), kern_f16_to_f32, "f16");
        else
            assert_int_equal(kern_f32_to_f16(f) & 0x7fff, 0x7c00);
        uint16_t b = kern_f32_to_bf16(f);
        if (!isinf(kern_bf16_to_f32(b)))
            check_nearest(f, b, kern_bf16_to_f32, "bf16");
        else
            assert_true(fabsf(f) >= u2f(0x7f7f8000u)); /* only at or above the last tie */
        /* values in the f16 range, where the subnormal rounding lives */
        float g = u2f((u & 0x807fffffu) | ((uint32_t)(100 + (u >> 23) % 45) << 23));
        if (fabsf(g) < 65520.0f)
            check_nearest(g, kern_f32_to_f16(g), kern_f16_to_f32, "f16");
    }
}

/* kern_to_f32 / kern_row_f32 under every ISA equal the scalar conversions bit for bit */
static void test_vector_conversions(void **state)
{
    (void)state;
    const size_t n = 65536 + 13;
    uint16_t *src = malloc(n * sizeof(uint16_t));
    float *dst = malloc(n * sizeof(float));
    float *src32 = malloc(n * sizeof(float));
    assert_non_null(src);
    assert_non_null(dst);
    assert_non_null(src32);
    for (size_t i = 0; i < n; i++) {
        src[i] = (uint16_t)(i * 40503u); /* every pattern once (odd multiplier), then a few more */
        src32[i] = rng_unit() * 1000.0f;
    }
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        for (int d = 0; d < 2; d++) {
            enum kern_dtype dt = d ? KERN_BF16 : KERN_F16;
            /* several lengths and an odd start, for the vector tails */
            size_t lens[] = {0, 1, 7, 8, 15, 16, 17, 31, 33, n - 1};
            for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
                size_t len = lens[li];
                memset(dst, 0x5a, n * sizeof(float));
                kern_to_f32(src + 1, dt, dst, len);
                for (size_t i = 0; i < len; i++) {
                    float want = dt == KERN_BF16 ? kern_bf16_to_f32(src[1 + i]) : kern_f16_to_f32(src[1 + i]);
                    if (isnan(want) ? !isnan(dst[i]) : f2u(want) != f2u(dst[i]))
                        fail_msg("%s %s [%zu] 0x%04x: %a vs %a", kern_isa_name(all_isas[ii]),
                                 d ? "bf16" : "f16", i, src[1 + i], (double)dst[i], (double)want);
                }
                for (size_t i = len; i < n; i++) /* nothing written past len */
                    assert_int_equal(f2u(dst[i]), 0x5a5a5a5au);
            }
        }
        kern_to_f32(src32, KERN_F32, dst, 1000);
        assert_memory_equal(dst, src32, 1000 * sizeof(float));
        /* kern_row_f32: row 2 of a [3, 37] matrix in each dtype */
        for (size_t di = 0; di < 3; di++) {
            enum kern_dtype dt = all_dtypes[di];
            struct kern_mat W = {dt == KERN_F32 ? (const void *)src32 : (const void *)src, dt, 3, 37};
            float row[37];
            kern_row_f32(&W, 2, row);
            for (int k = 0; k < 37; k++) {
                size_t i = 2 * 37 + (size_t)k;
                float want = dt == KERN_F32 ? src32[i] : dt == KERN_BF16 ? kern_bf16_to_f32(src[i]) : kern_f16_to_f32(src[i]);
                assert_true(isnan(want) ? isnan(row[k]) : f2u(want) == f2u(row[k]));
            }
        }
    }
    kern_set_isa(kern_init());
    free(src);
    free(dst);
    free(src32);
}

/* ===== matmul ===== */

#define SENTINEL 12345.5f

struct mm_case {
    int rows, cols, T, ldx, ldy, r0, r1;
};

/* run one case for the current ISA and dtype dt; W is its own exactly-sized allocation (ASan
 * catches over-reads), optionally shifted by one element (misaligned) */
static void run_case(const struct mm_case *c, enum kern_dtype dt, int misalign)
{
    size_t nw = (size_t)c->rows * (size_t)c->cols;
    char *wbuf = malloc((nw + 1) * dt_bytes(dt));
    float *wf = malloc(nw * sizeof(float)); /* the stored (rounded) values, for the bound */
    size_t nx = (size_t)(c->T - 1) * (size_t)c->ldx + (size_t)c->cols;
    float *xbuf = malloc((nx + 1) * sizeof(float));
    size_t ny = (size_t)c->T * (size_t)c->ldy;
    float *y = malloc(ny * sizeof(float));
    float *yref = malloc(ny * sizeof(float));
    assert_non_null(wbuf);
    assert_non_null(wf);
    assert_non_null(xbuf);
    assert_non_null(y);
    assert_non_null(yref);
    void *w = wbuf + (misalign ? dt_bytes(dt) : 0);
    float *x = xbuf + (misalign ? 1 : 0);
    for (size_t i = 0; i < nw; i++)
        wf[i] = put_elem(w, dt, i, rng_unit());
    for (size_t i = 0; i < nx; i++)
        x[i] = rng_unit();
    for (size_t i = 0; i < ny; i++)
        y[i] = yref[i] = SENTINEL;
    struct kern_mat W = {w, dt, c->rows, c->cols};
    kern_matmul(&W, x, c->T, c->ldx, y, c->ldy, c->r0, c->r1);
    kern_matmul_ref(&W, x, c->T, c->ldx, yref, c->ldy, c->r0, c->r1);
    for (int t = 0; t < c->T; t++) {
        for (int r = 0; r < c->ldy; r++) {
            float got = y[(size_t)t * c->ldy + r];
            if (r < c->r0 || r >= c->r1) {
                if (f2u(got) != f2u(SENTINEL))
                    fail_msg("%s dt=%d rows=%d cols=%d T=%d [%d,%d): y[%d][%d] outside the range was written",
                             kern_isa_name(kern_get_isa()), dt, c->rows, c->cols, c->T, c->r0, c->r1, t, r);
                continue;
            }
            double bound = 0.0, exact = 0.0;
            for (int k = 0; k < c->cols; k++) {
                double p = (double)wf[(size_t)r * c->cols + k] * (double)x[(size_t)t * c->ldx + k];
                bound += fabs(p);
                exact += p;
            }
            double tol = 1e-5 * bound + 1e-30;
            float want = yref[(size_t)t * c->ldy + r];
            if (!(fabs((double)got - (double)want) <= tol) || !(fabs((double)got - exact) <= tol))
                fail_msg("%s dt=%d rows=%d cols=%d T=%d ldx=%d ldy=%d [%d,%d) misalign=%d: y[%d][%d] = %.9g, "
                         "ref %.9g, exact %.9g, tol %.3g",
                         kern_isa_name(kern_get_isa()), dt, c->rows, c->cols, c->T, c->ldx, c->ldy, c->r0, c->r1,
                         misalign, t, r, (double)got, (double)want, exact, tol);
        }
    }
    free(wbuf);
    free(wf);
    free(xbuf);
    free(y);
    free(yref);
}

static void test_matmul_shapes(void **state)
{
    (void)state;
    static const int rows_list[] = {1, 5, 33};
    static const int cols_list[] = {1, 3, 15, 16, 17, 64, 100, 257};
    static const int T_list[] = {1, 2, 3, 5, 8, 17};
    int ran = 0;
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        for (size_t di = 0; di < 3; di++)
            for (size_t ri = 0; ri < sizeof(rows_list) / sizeof(rows_list[0]); ri++)
                for (size_t ci = 0; ci < sizeof(cols_list) / sizeof(cols_list[0]); ci++)
                    for (size_t ti = 0; ti < sizeof(T_list) / sizeof(T_list[0]); ti++) {
                        int rows = rows_list[ri], cols = cols_list[ci], T = T_list[ti];
                        /* the whole range, then a sub-range that cuts blocks on both sides */
                        struct mm_case full = {rows, cols, T, cols + 3, rows + 2, 0, rows};
                        run_case(&full, all_dtypes[di], 0);
                        int r0 = rows > 2 ? 1 : 0, r1 = rows > 4 ? rows - 2 : rows;
                        struct mm_case sub = {rows, cols, T, cols + 5, rows + 7, r0, r1};
                        run_case(&sub, all_dtypes[di], (int)(ti & 1));
                        ran += 2;
                    }
    }
    kern_set_isa(kern_init());
    assert_true(ran >= 2 * 3 * 3 * 8 * 6); /* at least the scalar path ran everything */
}

/* big enough for the prefetching row blocks (>= 3 blocks) and, for T*cols*4 > 512 KiB, the L2
 * super-blocks; rows not a multiple of the block, tight strides (ldx = cols, ldy = rows) */
static void test_matmul_large(void **state)
{
    (void)state;
    static const struct mm_case cases[] = {
        {70, 2048, 80, 2048, 70, 0, 70},   /* x = 640 KiB: super-blocks */
        {70, 2048, 80, 2051, 75, 9, 66},   /* the same on a sub-range */
        {37, 1000, 6, 1000, 37, 0, 37},    /* T = 6: tiles of 4 + 2 */
        {64, 4100, 200, 4100, 64, 0, 64},  /* cols tail of 4, x = 3.1 MiB */
        {29, 2048, 1, 2048, 29, 3, 27},    /* decode */
    };
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        for (size_t di = 0; di < 3; di++)
            for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                run_case(&cases[i], all_dtypes[di], (int)(i & 1));
    }
    kern_set_isa(kern_init());
}

/* T = 0 or an empty row range writes nothing */
static void test_matmul_empty(void **state)
{
    (void)state;
    uint16_t w[4 * 8] = {0};
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[4] = {SENTINEL, SENTINEL, SENTINEL, SENTINEL};
    struct kern_mat W = {w, KERN_BF16, 4, 8};
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        kern_matmul(&W, x, 0, 8, y, 4, 0, 4);
        kern_matmul(&W, x, 1, 8, y, 4, 2, 2);
        for (int i = 0; i < 4; i++)
            assert_true(y[i] == SENTINEL);
    }
    kern_matmul_ref(&W, x, 0, 8, y, 4, 0, 4);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == SENTINEL);
    kern_set_isa(kern_init());
}

/* a hand-checked product: exact small integers, so every ISA must give them exactly */
static void test_matmul_known(void **state)
{
    (void)state;
    /* W = [[1, 2, 3], [-1, 0, 4]] in bf16; x = [[1, 1, 1], [2, -1, 0.5]] */
    uint16_t w[6];
    const float wv[6] = {1, 2, 3, -1, 0, 4};
    for (int i = 0; i < 6; i++)
        w[i] = kern_f32_to_bf16(wv[i]);
    const float x[6] = {1, 1, 1, 2, -1, 0.5f};
    struct kern_mat W = {w, KERN_BF16, 2, 3};
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        float y[4] = {0};
        kern_matmul(&W, x, 2, 3, y, 2, 0, 2);
        assert_true(y[0] == 6.0f);
        assert_true(y[1] == 3.0f);
        assert_true(y[2] == 1.5f);
        assert_true(y[3] == 0.0f);
    }
    kern_set_isa(kern_init());
}

/* ===== dot, axpy, read_sum ===== */

static void test_dot_axpy(void **state)
{
    (void)state;
    static const int ns[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4097};
    float *a = malloc(4100 * sizeof(float)), *b = malloc(4100 * sizeof(float));
    float *y = malloc(4104 * sizeof(float)), *y0 = malloc(4104 * sizeof(float));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(y);
    assert_non_null(y0);
    for (int i = 0; i < 4100; i++) {
        a[i] = rng_unit();
        b[i] = rng_unit();
    }
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
            int n = ns[ni];
            double exact = 0.0, bound = 0.0;
            for (int i = 0; i < n; i++) {
                exact += (double)a[i] * b[i];
                bound += fabs((double)a[i] * b[i]);
            }
            float d = kern_dot(a, b, n);
            if (!(fabs((double)d - exact) <= 1e-5 * bound + 1e-30))
                fail_msg("%s kern_dot n=%d: %.9g vs %.9g", kern_isa_name(all_isas[ii]), n, (double)d, exact);

            for (int i = 0; i < n + 4; i++)
                y[i] = y0[i] = rng_unit();
            const float alpha = -0.75f;
            kern_axpy(alpha, a, y, n);
            for (int i = 0; i < n; i++) {
                double want = (double)y0[i] + (double)alpha * a[i];
                if (!(fabs((double)y[i] - want) <= 1e-6 * (fabs((double)y0[i]) + fabs((double)alpha * a[i]))))
                    fail_msg("%s kern_axpy n=%d [%d]: %.9g vs %.9g", kern_isa_name(all_isas[ii]), n, i, (double)y[i], want);
            }
            for (int i = n; i < n + 4; i++) /* nothing written past n */
                assert_true(f2u(y[i]) == f2u(y0[i]));
        }
    }
    kern_set_isa(kern_init());
    free(a);
    free(b);
    free(y);
    free(y0);
}

static void test_read_sum(void **state)
{
    (void)state;
    const size_t n = 3000;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    static const size_t lens[] = {0, 1, 31, 32, 63, 64, 65, 127, 128, 255, 256, 257, 1000, 2995};
    for (size_t ii = 0; ii < 3; ii++) {
        if (!use_isa(all_isas[ii]))
            continue;
        for (size_t off = 0; off < 4; off++)
            for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
                uint64_t want = 0;
                for (size_t i = 0; i < lens[li]; i++)
                    want += buf[off + i];
                double got = kern_read_sum(buf + off, lens[li]);
                if (got != (double)want)
                    fail_msg("%s kern_read_sum(+%zu, %zu) = %.0f, want %llu", kern_isa_name(all_isas[ii]), off,
                             lens[li], got, (unsigned long long)want);
            }
        /* all 0xff: 255 * n exactly */
        unsigned char *ff = malloc(1 << 20);
        assert_non_null(ff);
        memset(ff, 0xff, 1 << 20);
        assert_true(kern_read_sum(ff, 1 << 20) == 255.0 * (1 << 20));
        free(ff);
    }
    kern_set_isa(kern_init());
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_select),
        cmocka_unit_test(test_f16_special),
        cmocka_unit_test(test_bf16_special),
        cmocka_unit_test(test_roundtrip_exhaustive),
        cmocka_unit_test(test_narrowing_random),
        cmocka_unit_test(test_vector_conversions),
        cmocka_unit_test(test_matmul_shapes),
        cmocka_unit_test(test_matmul_large),
        cmocka_unit_test(test_matmul_empty),
        cmocka_unit_test(test_matmul_known),
        cmocka_unit_test(test_dot_axpy),
        cmocka_unit_test(test_read_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
