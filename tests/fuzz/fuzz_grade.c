/*
 * fuzz_grade.c: the grader on arbitrary input. The input is split at the first NUL or
 * newline into a gold answer and a response; every grade.h entry point runs on them,
 * and broken invariants abort:
 *   - a strict extraction equals the non-strict one (strictness only adds a fallback);
 *   - list extraction finds an answer iff single extraction does;
 *   - grade_check: correct iff status == GRADE_CORRECT, reason NUL-terminated and empty
 *     iff correct, an extracted answer unless the status is GRADE_NO_ANSWER;
 *   - grade_equiv is symmetric (unless a comparison budget ran out) and reflexive for
 *     anything that normalises to a non-empty string;
 *   - grade_equiv agrees with grade_compare.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/grade.h"
#include "rsa/latex.h"

static void check_reason(const char *r, size_t n)
{
    if (memchr(r, '\0', n) == NULL)
        abort();
}

static void check_result(const char *gold, const char *text, const struct grade_opts *o)
{
    struct grade_result r;
    memset(&r, 0x5a, sizeof(r));
    grade_check(gold, text, o, &r);
    check_reason(r.reason, sizeof(r.reason));
    if (r.correct != (r.status == GRADE_CORRECT))
        abort();
    if (r.correct != (r.reason[0] == '\0'))
        abort();
    if (r.status < GRADE_CORRECT || r.status > GRADE_BAD_GOLD)
        abort();
    if (r.status != GRADE_NO_ANSWER && r.extracted == NULL)
        abort();
    grade_result_free(&r);
    if (r.extracted != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    /* gold: up to the first NUL or newline; response: the rest */
    size_t cut = 0;
    while (cut < size && buf[cut] != '\0' && buf[cut] != '\n')
        cut++;
    char *gold = buf;
    char *resp = buf + (cut < size ? cut + 1 : size);
    buf[cut < size ? cut : size] = '\0';

    struct grade_opts strict = {.after = NULL, .strict = 1};
    struct grade_opts loose = {.after = NULL, .strict = 0};
    struct grade_opts think = {.after = "</think>", .strict = 0};
    char *s = grade_extract(resp, &strict, 0);
    char *l = grade_extract(resp, &loose, 0);
    char *sl = grade_extract(resp, &strict, 1);
    if (s != NULL && (l == NULL || strcmp(s, l) != 0))
        abort();
    if ((s == NULL) != (sl == NULL))
        abort();
    char *t = grade_extract(resp, &think, 1);
    (void)grade_gold_is_list(gold);
    (void)grade_gold_is_list(resp);

    check_result(gold, resp, &strict);
    check_result(gold, resp, &loose);
    check_result(gold, resp, &think);
    check_result(resp, gold, NULL);

    char r1[160], r2[160];
    int ab = grade_equiv(gold, resp, r1, sizeof(r1));
    int ba = grade_equiv(resp, gold, r2, sizeof(r2));
    check_reason(r1, sizeof(r1));
    check_reason(r2, sizeof(r2));
    if (ab != ba && strstr(r1, "too many") == NULL && strstr(r2, "too many") == NULL)
        abort();
    char r3[160];
    if (ab != (grade_compare(gold, resp, r3, sizeof(r3)) == GRADE_CORRECT))
        abort();
    char *n = grade_normalize(gold);
    if (n != NULL && n[0] != '\0' && !grade_equiv(gold, gold, NULL, 0))
        abort();
    free(n);
    if (l != NULL) {
        n = grade_normalize(l);
        if (n != NULL && n[0] != '\0' && !grade_equiv(l, l, NULL, 0))
            abort();
        free(n);
        (void)grade_equiv(gold, l, r1, 1);
    }
    /* the parser directly, both thousands modes */
    char err[96];
    for (int th = 0; th < 2; th++) {
        struct latex_opts lo = {.thousands = th};
        struct latex_expr *e = latex_parse(gold, &lo, err, sizeof(err));
        if (e == NULL)
            check_reason(err, sizeof(err));
        struct latex_expr *f = latex_parse(resp, &lo, err, sizeof(err));
        if (e != NULL && f != NULL) {
            (void)latex_equiv(e, f, err, sizeof(err));
            check_reason(err, sizeof(err));
        }
        latex_free(e);
        latex_free(f);
    }
    free(s);
    free(l);
    free(sl);
    free(t);
    free(buf);
    return 0;
}
