/*
 * test_http_retry.c: the HTTP backend's pure retry policy (http_retry_decision)
 * and Retry-After parsing (http_parse_retry_after), as tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "rsa/http.h"

/* cmocka 1.1.5's assert_float_equal works in float; these are doubles. */
#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), __FILE__, __LINE__)

static void assert_near_at(double a, double b, double eps, const char *file, int line)
{
    double diff = a > b ? a - b : b - a;
    if (!(diff <= eps))
        fail_msg("%s:%d: %.17g != %.17g (eps %g)", file, line, a, b, eps);
}

#define BASE 0.5
#define MAX 30.0

/* ===== which failures are retried ===== */

struct decision_case {
    int status;
    int curl_failed;
    int malformed;
    int retry; /* expected */
    const char *what;
};

static const struct decision_case decision_cases[] = {
    {200, 0, 1, 1, "2xx with a malformed body"},
    {200, 0, 0, 0, "2xx that parsed: nothing to retry"},
    {201, 0, 1, 1, "other 2xx, malformed"},
    {0, 1, 0, 1, "transport error (refused, reset, timeout)"},
    {200, 1, 0, 1, "partial body after 200"},
    {408, 0, 0, 1, "request timeout"},
    {429, 0, 0, 1, "rate limited"},
    {500, 0, 0, 1, "internal error"},
    {502, 0, 0, 1, "bad gateway"},
    {503, 0, 0, 1, "unavailable"},
    {504, 0, 0, 1, "gateway timeout"},
    {400, 0, 0, 0, "bad request"},
    {401, 0, 0, 0, "unauthorised"},
    {403, 0, 0, 0, "forbidden"},
    {404, 0, 0, 0, "not found"},
    {413, 0, 0, 0, "too large"},
    {422, 0, 0, 0, "unprocessable"},
    {400, 1, 0, 0, "4xx stays final even if the body was cut"},
    {404, 0, 1, 0, "4xx stays final even if the body is malformed"},
    {0, 0, 0, 0, "nothing failed"},
    {301, 0, 0, 0, "redirect"},
};

static void test_decision_table(void **state)
{
    for (size_t i = 0; i < sizeof(decision_cases) / sizeof(decision_cases[0]); i++) {
        const struct decision_case *c = &decision_cases[i];
        double delay = -1;
        int r = http_retry_decision(c->status, c->curl_failed, c->malformed, 0, 3, -1, BASE, MAX,
                                    0.5, &delay);
        if (r != c->retry)
            fail_msg("case %zu (%s): got %d, want %d", i, c->what, r, c->retry);
        if (r)
            assert_true(delay > 0 && delay <= MAX);
    }
}

static void test_attempt_budget(void **state)
{
    double delay;
    assert_int_equal(http_retry_decision(503, 0, 0, 0, 0, -1, BASE, MAX, 0.5, &delay), 0);
    assert_int_equal(http_retry_decision(503, 0, 0, 2, 3, -1, BASE, MAX, 0.5, &delay), 1);
    assert_int_equal(http_retry_decision(503, 0, 0, 3, 3, -1, BASE, MAX, 0.5, &delay), 0);
    assert_int_equal(http_retry_decision(0, 1, 0, 4, 3, -1, BASE, MAX, 0.5, &delay), 0);
}

/* ===== backoff ===== */

static void test_backoff_grows_and_caps(void **state)
{
    /* u = 1: the top of the jitter range is exactly base * 2^attempt, capped. */
    double prev = 0;
    for (int a = 0; a < 12; a++) {
        double d;
        assert_int_equal(http_retry_decision(500, 0, 0, a, 100, -1, BASE, MAX, 1.0, &d), 1);
        double want = BASE;
        for (int k = 0; k < a; k++)
            want *= 2;
        if (want > MAX)
            want = MAX;
        assert_near(d, want, 1e-9);
        assert_true(d >= prev);
        prev = d;
    }
    assert_near(prev, MAX, 1e-9);
    /* A huge attempt index neither overflows nor exceeds the cap. */
    double d;
    assert_int_equal(http_retry_decision(500, 0, 0, 100000, 1 << 30, -1, BASE, MAX, 1.0, &d), 1);
    assert_near(d, MAX, 1e-9);
}

static void test_jitter_bounds(void **state)
{
    for (int a = 0; a < 8; a++) {
        double top = BASE;
        for (int k = 0; k < a; k++)
            top *= 2;
        if (top > MAX)
            top = MAX;
        for (int i = 0; i <= 100; i++) {
            double u = i / 100.0 * 0.999999;
            double d;
            assert_int_equal(http_retry_decision(0, 1, 0, a, 10, -1, BASE, MAX, u, &d), 1);
            assert_true(d >= 0.5 * top - 1e-12);
            assert_true(d <= top + 1e-12);
        }
    }
    /* Out-of-range u is clamped, not trusted. */
    double d;
    assert_int_equal(http_retry_decision(0, 1, 0, 0, 10, -1, BASE, MAX, 7.0, &d), 1);
    assert_true(d <= BASE);
    assert_int_equal(http_retry_decision(0, 1, 0, 0, 10, -1, BASE, MAX, -3.0, &d), 1);
    assert_true(d >= 0.5 * BASE);
}

static void test_retry_after(void **state)
{
    double d;
    /* 429 honours Retry-After, also above the cap. */
    assert_int_equal(http_retry_decision(429, 0, 0, 0, 3, 5.0, BASE, MAX, 0.3, &d), 1);
    assert_true(d >= 5.0);
    assert_int_equal(http_retry_decision(429, 0, 0, 0, 3, 45.0, BASE, MAX, 0.3, &d), 1);
    assert_true(d >= 45.0);
    /* A short Retry-After never shortens the computed backoff. */
    assert_int_equal(http_retry_decision(429, 0, 0, 4, 10, 0.0, BASE, MAX, 1.0, &d), 1);
    assert_near(d, 8.0, 1e-9);
    /* Absent (-1): plain backoff. */
    assert_int_equal(http_retry_decision(429, 0, 0, 0, 3, -1, BASE, MAX, 1.0, &d), 1);
    assert_near(d, BASE, 1e-9);
    /* Still bounded by the attempt budget. */
    assert_int_equal(http_retry_decision(429, 0, 0, 3, 3, 1.0, BASE, MAX, 0.3, &d), 0);
}

/* ===== Retry-After parsing ===== */

static void test_parse_retry_after(void **state)
{
    const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_near(http_parse_retry_after("5", now), 5.0, 0);
    assert_near(http_parse_retry_after(" 12 ", now), 12.0, 0);
    assert_near(http_parse_retry_after("0", now), 0.0, 0);
    assert_near(http_parse_retry_after("120\r\n", now), 120.0, 0);
    assert_near(http_parse_retry_after("abc", now), -1.0, 0);
    assert_near(http_parse_retry_after("", now), -1.0, 0);
    assert_near(http_parse_retry_after("   ", now), -1.0, 0);
    assert_near(http_parse_retry_after("-5", now), -1.0, 0);
    assert_near(http_parse_retry_after("1.5", now), -1.0, 0);
    assert_near(http_parse_retry_after("5 seconds", now), -1.0, 0);
    assert_near(http_parse_retry_after(NULL, now), -1.0, 0);
    /* HTTP-dates: IMF-fixdate, RFC 850, asctime; relative to now; the past is 0. */
    assert_near(http_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), 30.0, 0);
    assert_near(http_parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now), 10.0, 0);
    assert_near(http_parse_retry_after("Sun Nov  6 08:51:37 1994", now), 120.0, 0);
    assert_near(http_parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0.0, 0);
    assert_near(http_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT trailing", now),
                       -1.0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_attempt_budget),
        cmocka_unit_test(test_backoff_grows_and_caps),
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_parse_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
