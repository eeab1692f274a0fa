/*
 * test_plot.c: the SVG charts and the HTML report (rsa/plot.c) over hand-made analyses:
 * well-formed markup (a small tag-balance checker below), escaping, no "nan"/"inf",
 * determinism, the number of series, points, heat cells and budget markers, the budget
 * table only with a comparison, edge cases (0 / 1 round, 1 problem, equal values, huge
 * token counts, hostile names) and write errors.
 */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsa/plot.h"

/* ===== hand-made analyses ===== */

static char *xstrdup(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    assert_non_null(d);
    strcpy(d, s);
    return d;
}

/* make_run: a run of n_rounds x n_problems with mean_acc rising by round; heat[t][p] =
   ((p + t) % 5) / 4. Tokens per problem: tok0 * (t + 1). */
static void make_run(struct run_analysis *a, const char *name, int n_rounds, int n_problems, double tok0)
{
    memset(a, 0, sizeof(*a));
    a->name = xstrdup(name);
    a->status = xstrdup("done");
    a->grader = xstrdup("boxed/1");
    a->tail_method = xstrdup("tokens:server");
    a->population = 4;
    a->subset = 2;
    a->rounds = n_rounds > 0 ? n_rounds - 1 : 0;
    a->tail_tokens = 8;
    a->max_tokens = 400;
    a->repeats = 1;
    a->seed = 7;
    a->n_problems = n_problems;
    a->n_rounds = n_rounds;
    a->problem_ids = calloc((size_t)(n_problems ? n_problems : 1), sizeof(char *));
    a->stats = calloc((size_t)(n_rounds ? n_rounds : 1), sizeof(struct round_stats));
    a->heat = calloc((size_t)(n_rounds * n_problems > 0 ? n_rounds * n_problems : 1), sizeof(double));
    assert_non_null(a->problem_ids);
    assert_non_null(a->stats);
    assert_non_null(a->heat);
    for (int p = 0; p < n_problems; p++) {
        char id[32];
        snprintf(id, sizeof(id), "syn-%03d", p);
        a->problem_ids[p] = xstrdup(id);
    }
    for (int t = 0; t < n_rounds; t++) {
        struct round_stats *s = &a->stats[t];
        s->round = t;
        s->groups = n_problems;
        s->traces = s->graded = 4 * n_problems;
        s->mean_acc = (struct ci){0.4 + 0.1 * t, 0.3 + 0.1 * t, 0.5 + 0.1 * t};
        s->pass_n = (struct ci){0.8, 0.6, 0.95};
        s->maj_n = (struct ci){0.5 + 0.05 * t, 0.4, 0.6};
        s->n_k = 4;
        s->pass_at_k = calloc(4, sizeof(double));
        s->maj_at_k = calloc(4, sizeof(double));
        assert_non_null(s->pass_at_k);
        assert_non_null(s->maj_at_k);
        s->decode_tokens = (int64_t)(tok0 * n_problems);
        s->cum_decode_tokens = (int64_t)(tok0 * n_problems * (t + 1));
        s->decode_per_group = tok0;
        s->cum_decode_per_group = tok0 * (t + 1);
        s->len_mean = s->len_median = tok0 / 4;
        s->len_q25 = tok0 / 8;
        s->len_q75 = tok0 / 2;
        for (int p = 0; p < n_problems; p++)
            a->heat[t * n_problems + p] = ((p + t) % 5) / 4.0;
    }
}

static void free_run(struct run_analysis *a)
{
    for (int p = 0; p < a->n_problems; p++)
        free(a->problem_ids[p]);
    for (int t = 0; t < a->n_rounds; t++) {
        free(a->stats[t].pass_at_k);
        free(a->stats[t].maj_at_k);
    }
    free(a->problem_ids);
    free(a->stats);
    free(a->heat);
    free(a->name);
    free(a->status);
    free(a->grader);
    free(a->tail_method);
    memset(a, 0, sizeof(*a));
}

/* make_budget: a comparison of rsa against a baseline of base_n samples at d tokens each. */
static void make_budget(struct budget_cmp *b, const struct run_analysis *rsa, int base_n, double d)
{
    memset(b, 0, sizeof(*b));
    b->rsa_name = xstrdup(rsa->name);
    b->base_name = xstrdup("base<line>");
    b->n_common = rsa->n_problems;
    b->base_n = base_n;
    b->base_tokens_per_sample = d;
    b->base_curve_pass1 = calloc((size_t)base_n, sizeof(double));
    b->base_curve_maj = calloc((size_t)base_n, sizeof(double));
    b->base_curve_pass = calloc((size_t)base_n, sizeof(double));
    assert_non_null(b->base_curve_pass1);
    assert_non_null(b->base_curve_maj);
    assert_non_null(b->base_curve_pass);
    for (int k = 0; k < base_n; k++) {
        b->base_curve_pass1[k] = 0.35;
        b->base_curve_maj[k] = 0.35 + 0.2 * k / base_n;
        b->base_curve_pass[k] = 0.35 + 0.5 * k / base_n;
    }
    b->n_points = rsa->n_rounds;
    b->points = calloc((size_t)(rsa->n_rounds ? rsa->n_rounds : 1), sizeof(struct budget_point));
    assert_non_null(b->points);
    for (int t = 0; t < rsa->n_rounds; t++) {
        struct budget_point *q = &b->points[t];
        q->round = t;
        q->tokens = rsa->stats[t].cum_decode_per_group;
        q->raw_k = q->tokens / d;
        q->n_pairs = rsa->n_problems;
        if (!(q->raw_k < base_n + 0.5)) { /* also NaN */
            q->k = base_n;
            q->capped = 1;
        } else {
            q->k = q->raw_k < 1 ? 1 : (int)lround(q->raw_k);
        }
        q->rsa = rsa->stats[t].mean_acc;
        q->base_pass1 = b->base_curve_pass1[q->k - 1];
        q->base_maj_k = b->base_curve_maj[q->k - 1];
        q->base_pass_k = b->base_curve_pass[q->k - 1];
        q->diff_pass1 = (struct ci){q->rsa.mean - q->base_pass1, -0.1, 0.2};
        q->diff_maj_k = (struct ci){q->rsa.mean - q->base_maj_k, -0.2, 0.1};
        q->diff_pass_k = (struct ci){NAN, NAN, NAN};
        q->p_le0_pass1 = 0.25;
        q->p_le0_maj_k = 0.5;
        q->p_le0_pass_k = NAN;
    }
}

static void free_budget(struct budget_cmp *b)
{
    free(b->rsa_name);
    free(b->base_name);
    free(b->base_curve_pass1);
    free(b->base_curve_maj);
    free(b->base_curve_pass);
    free(b->points);
    memset(b, 0, sizeof(*b));
}

/* ===== rendering and checks ===== */

enum fmt { SVG, HTML };

static char *render(enum fmt f, const struct run_analysis *runs, int n, const struct budget_cmp *b)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    char err[256] = "";
    enum rsa_err rc = f == SVG ? plot_svg(runs, n, b, mem, err, sizeof(err)) : plot_html(runs, n, b, mem, err,
                                                                                        sizeof(err));
    assert_int_equal(fclose(mem), 0);
    if (rc != RSA_OK)
        fail_msg("render failed: %d %s", rc, err);
    assert_non_null(buf);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}

static const char *ci_strstr(const char *hay, const char *needle)
{
    size_t l = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, l) == 0)
            return p;
    return NULL;
}

static int is_void_html(const char *name, size_t n)
{
    static const char *const v[] = {"meta", "br", "hr", "img", "input", "link"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (strlen(v[i]) == n && strncasecmp(name, v[i], n) == 0)
            return 1;
    return 0;
}

/* entity_ok: p points at '&': a named XML entity or a numeric reference. */
static int entity_ok(const char *p)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (strncmp(p, named[i], strlen(named[i])) == 0)
            return 1;
    if (p[1] != '#')
        return 0;
    const char *q = p + 2;
    int hex = *q == 'x';
    if (hex)
        q++;
    const char *d = q;
    while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))
        q++;
    return q > d && *q == ';';
}

/* markup_check: a tag-balance checker for our own output: every element closed in order,
   attribute values quoted without '<', every '&' an entity, one root (SVG) or <html>
   (HTML). Returns NULL when fine, else a static message. */
static const char *markup_check(const char *s, enum fmt f)
{
    static char msg[200];
    const char *stack[512];
    size_t lens[512];
    int depth = 0, roots = 0;
    const char *p = s;
    while (*p) {
        if (*p == '&') {
            if (!entity_ok(p)) {
                snprintf(msg, sizeof(msg), "bad entity at %.20s", p);
                return msg;
            }
            p++;
            continue;
        }
        if (*p != '<') {
            p++;
            continue;
        }
        if (strncmp(p, "<?", 2) == 0 || strncmp(p, "<!--", 4) == 0 || strncmp(p, "<!", 2) == 0) {
            const char *end = strncmp(p, "<?", 2) == 0 ? "?>" : strncmp(p, "<!--", 4) == 0 ? "-->" : ">";
            const char *e = strstr(p, end);
            if (!e)
                return "unterminated declaration";
            p = e + strlen(end);
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t n = 0;
        while (isalnum((unsigned char)name[n]) || name[n] == '-' || name[n] == ':')
            n++;
        if (n == 0) {
            snprintf(msg, sizeof(msg), "raw '<' at %.20s", p);
            return msg;
        }
        const char *q = name + n;
        int selfclose = 0;
        for (;;) {
            if (*q == '\0')
                return "unterminated tag";
            if (*q == '"' || *q == '\'') {
                char quote = *q;
                const char *e = strchr(q + 1, quote);
                if (!e)
                    return "unterminated attribute";
                for (const char *c = q + 1; c < e; c++) {
                    if (*c == '<')
                        return "'<' in an attribute";
                    if (*c == '&' && !entity_ok(c)) {
                        snprintf(msg, sizeof(msg), "bad entity in attribute at %.20s", c);
                        return msg;
                    }
                }
                q = e + 1;
                continue;
            }
            if (*q == '=') {
                const char *v = q + 1;
                if (*v != '"' && *v != '\'')
                    return "unquoted attribute";
            }
            if (*q == '/' && q[1] == '>') {
                selfclose = 1;
                q += 2;
                break;
            }
            if (*q == '>') {
                q++;
                break;
            }
            q++;
        }
        if (closing) {
            if (depth == 0 || lens[depth - 1] != n || strncmp(stack[depth - 1], name, n) != 0) {
                snprintf(msg, sizeof(msg), "unbalanced </%.*s> (open: %.*s)", (int)n, name,
                         depth ? (int)lens[depth - 1] : 0, depth ? stack[depth - 1] : "");
                return msg;
            }
            depth--;
        } else if (!selfclose && !(f == HTML && is_void_html(name, n))) {
            if (depth == 0)
                roots++;
            if (depth == 512)
                return "too deep";
            stack[depth] = name;
            lens[depth] = n;
            depth++;
        } else if (depth == 0) {
            roots++;
        }
        p = q;
    }
    if (depth != 0) {
        snprintf(msg, sizeof(msg), "%d element(s) left open (innermost %.*s)", depth, (int)lens[depth - 1],
                 stack[depth - 1]);
        return msg;
    }
    if (roots != 1)
        return "not exactly one root element";
    return NULL;
}

/* common_checks: well-formed, no nan/inf, deterministic (a second render is identical). */
static char *render_checked(enum fmt f, const struct run_analysis *runs, int n, const struct budget_cmp *b)
{
    char *out = render(f, runs, n, b);
    const char *bad = markup_check(out, f);
    if (bad)
        fail_msg("%s markup: %s", f == SVG ? "SVG" : "HTML", bad);
    if (ci_strstr(out, "nan") || ci_strstr(out, "inf"))
        fail_msg("output holds nan/inf near: %.60s", ci_strstr(out, "nan") ? ci_strstr(out, "nan")
                                                                             : ci_strstr(out, "inf"));
    char *again = render(f, runs, n, b);
    assert_string_equal(out, again);
    free(again);
    if (f == SVG) {
        assert_non_null(strstr(out, "<?xml version=\"1.0\""));
        assert_non_null(strstr(out, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    } else {
        assert_true(strncmp(out, "<!DOCTYPE html>", 15) == 0);
        /* the only URLs are the SVG namespace names */
        assert_int_equal(count(out, "http"), count(out, "xmlns=\"http://www.w3.org/2000/svg\""));
        assert_null(strstr(out, "<script"));
        assert_null(strstr(out, "<link"));
        assert_null(strstr(out, "https://"));
        assert_null(strstr(out, "url("));
    }
    return out;
}

/* table_columns_ok: every row of the table that starts at `start` has as many cells as its
   header row; returns the number of rows (header included), or -1 on a mismatch. */
static int table_rows(const char *start)
{
    assert_non_null(start);
    const char *end = strstr(start, "</table>");
    assert_non_null(end);
    int rows = 0, want = -1;
    for (const char *r = strstr(start, "<tr>"); r && r < end; r = strstr(r + 4, "<tr>")) {
        const char *re = strstr(r, "</tr>");
        assert_non_null(re);
        int cells = 0;
        for (const char *c = r; c < re; c++)
            if (strncmp(c, "<td", 3) == 0 || strncmp(c, "<th", 3) == 0)
                cells++;
        if (want < 0)
            want = cells;
        else if (cells != want)
            return -1;
        rows++;
    }
    return rows;
}

/* ===== tests ===== */

/* The checker itself must reject broken markup, or every test below proves nothing. */
static void test_checker_rejects(void **state)
{
    (void)state;
    assert_null(markup_check("<svg><g></g></svg>", SVG));
    assert_non_null(markup_check("<svg><g></svg>", SVG));
    assert_non_null(markup_check("<svg><g></g>", SVG));
    assert_non_null(markup_check("<svg>a<b</svg>", SVG));
    assert_non_null(markup_check("<svg>a & b</svg>", SVG));
    assert_non_null(markup_check("<svg x=\"<\"></svg>", SVG));
    assert_non_null(markup_check("<svg x=1></svg>", SVG));
    assert_non_null(markup_check("<svg></svg><svg></svg>", SVG));
    assert_null(markup_check("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head></html>", HTML));
}

static void test_svg_two_runs(void **state)
{
    (void)state;
    struct run_analysis runs[2];
    make_run(&runs[0], "depth-T2", 3, 4, 1000);
    make_run(&runs[1], "a<b&\"c'", 3, 4, 1500);
    runs[1].stats[2].mean_acc = (struct ci){NAN, NAN, NAN}; /* skipped, never printed */
    runs[1].stats[1].mean_acc.lo = NAN;                      /* no CI bar, point kept */
    runs[0].heat[5] = NAN;                                   /* a grey cell */
    char *svg = render_checked(SVG, runs, 2, NULL);

    assert_non_null(strstr(svg, "a&lt;b&amp;&quot;c&#39;"));
    assert_null(strstr(svg, "a<b"));
    assert_null(strstr(svg, "\"c'"));
    assert_int_equal(count(svg, "<g class=\"chart\""), 2 + 2);
    assert_int_equal(count(svg, "<g class=\"series\""), 2);
    assert_int_equal(count(svg, "<g class=\"tseries\""), 2);
    assert_int_equal(count(svg, "class=\"pt\""), 3 + 2);
    assert_int_equal(count(svg, "class=\"tpt\""), 3 + 2);
    assert_int_equal(count(svg, "class=\"ci\""), 3 + 1);
    assert_int_equal(count(svg, "<rect class=\"cell\""), 2 * 3 * 4);
    assert_int_equal(count(svg, "fill=\"#c8c8c8\" stroke="), 1);
    assert_int_equal(count(svg, "class=\"mean\""), 2);
    assert_int_equal(count(svg, "class=\"pass\""), 2);
    assert_int_equal(count(svg, "class=\"maj\""), 2);
    assert_int_equal(count(svg, "class=\"match"), 0);
    assert_int_equal(count(svg, "class=\"matches\""), 0);
    assert_int_equal(count(svg, "class=\"base-"), 0);
    assert_non_null(strstr(svg, "syn-003"));
    /* tokens 1000..4500 span less than a decade: linear axis */
    assert_null(strstr(svg, "log scale"));
    free(svg);
    free_run(&runs[0]);
    free_run(&runs[1]);
}

/* long sweep names share a prefix: legends keep the start and the distinguishing end */
static void test_long_names_keep_their_end(void **state)
{
    (void)state;
    struct run_analysis runs[2];
    make_run(&runs[0], "zaya1-headline-aime25-population=16-rounds=2", 2, 3, 1000);
    make_run(&runs[1], "zaya1-headline-aime25-population=16-rounds=4", 2, 3, 1000);
    char *svg = render_checked(SVG, runs, 2, NULL);
    assert_non_null(strstr(svg, "&#x2026;"));
    assert_non_null(strstr(svg, "rounds=2</text>"));
    assert_non_null(strstr(svg, "rounds=4</text>"));
    assert_non_null(strstr(svg, ">zaya1-head"));
    free(svg);
    free_run(&runs[0]);
    free_run(&runs[1]);
}

static void test_html_run(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "a<b&\"c'", 3, 4, 1000);
    char *html = render_checked(HTML, &r, 1, NULL);
    assert_non_null(strstr(html, "<title>rsa report: a&lt;b&amp;&quot;c&#39;</title>"));
    assert_null(strstr(html, "a<b"));
    assert_null(strstr(html, "Budget-matched"));
    assert_int_equal(count(html, "<table"), 2); /* settings + one metric table */
    assert_int_equal(count(html, "<tr>"), 2 + 3 + 1); /* 2 headers, 3 rounds, 1 settings row */
    assert_int_equal(count(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""), 3);
    assert_int_equal(count(html, "<rect class=\"cell\""), 12);
    assert_non_null(strstr(html, "<td>40.0 <span class=\"ci\">[30.0, 50.0]</span></td>"));
    assert_non_null(strstr(html, "boxed/1"));
    assert_non_null(strstr(html, "tokens:server"));
    assert_non_null(strstr(html, "<style>"));
    free(html);
    free_run(&r);
}

static void test_budget(void **state)
{
    (void)state;
    struct run_analysis r;
    struct budget_cmp b;
    make_run(&r, "rsa", 3, 5, 1000);
    make_budget(&b, &r, 8, 250); /* k = 4, 8, 12 -> capped at 8 */
    assert_int_equal(b.points[2].capped, 1);
    char *svg = render_checked(SVG, &r, 1, &b);
    assert_int_equal(count(svg, "class=\"base-pass1\""), 1);
    assert_int_equal(count(svg, "class=\"base-maj\""), 1);
    assert_int_equal(count(svg, "class=\"base-pass\""), 1);
    assert_int_equal(count(svg, "class=\"match\""), 2 * 4);
    assert_int_equal(count(svg, "class=\"match capped\""), 4);
    assert_non_null(strstr(svg, "base&lt;line&gt;"));
    /* 250 .. 3000 tokens: more than a decade, log axis */
    assert_non_null(strstr(svg, "(log scale)"));
    free(svg);

    char *html = render_checked(HTML, &r, 1, &b);
    assert_non_null(strstr(html, "Budget-matched comparison: rsa vs baseline base&lt;line&gt;"));
    assert_int_equal(count(html, "<table class=\"budget\">"), 1);
    assert_int_equal(table_rows(strstr(html, "<table class=\"budget\">")), 1 + 3);
    assert_int_equal(table_rows(strstr(html, "<table class=\"metrics\">")), 1 + 3);
    assert_int_equal(table_rows(strstr(html, "<table>")), 1 + 1);
    assert_non_null(strstr(html, "<td>8 <span class=\"ci\">(12.00)</span></td><td>yes</td>")); /* k clamped to N_base */
    assert_int_equal(count(html, "<td>yes</td>"), 1);
    assert_non_null(strstr(html, "<span class=\"ci\">p=0.2500</span>"));
    free(html);
    free_budget(&b);
    free_run(&r);
}

static void test_edge_zero_rounds(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "empty", 0, 0, 1000);
    char *svg = render_checked(SVG, &r, 1, NULL);
    assert_int_equal(count(svg, "class=\"nodata\""), 3);
    assert_int_equal(count(svg, "<rect class=\"cell\""), 0);
    free(svg);
    char *html = render_checked(HTML, &r, 1, NULL);
    assert_non_null(strstr(html, "No rounds with traces."));
    free(html);
    /* a budget with no points and no baseline tokens */
    struct budget_cmp b;
    memset(&b, 0, sizeof(b));
    b.base_tokens_per_sample = NAN;
    html = render_checked(HTML, &r, 1, &b);
    assert_non_null(strstr(html, "No matched rounds."));
    free(html);
    free_run(&r);
}

static void test_edge_one_round_one_problem(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "one", 1, 1, 500);
    r.stats[0].mean_acc = (struct ci){1, 1, 1}; /* all equal: the axis must still have a span */
    r.stats[0].pass_n = (struct ci){1, 1, 1};
    r.stats[0].maj_n = (struct ci){1, 1, 1};
    char *svg = render_checked(SVG, &r, 1, NULL);
    assert_int_equal(count(svg, "class=\"pt\""), 1);
    assert_int_equal(count(svg, "<rect class=\"cell\""), 1);
    assert_int_equal(count(svg, "class=\"nodata\""), 0);
    /* the y axis reaches 100 and has at least two ticks */
    assert_non_null(strstr(svg, ">100</text>"));
    assert_non_null(strstr(svg, ">90</text>"));
    free(svg);
    free_run(&r);
}

static void test_edge_huge_and_equal(void **state)
{
    (void)state;
    struct run_analysis r[2];
    make_run(&r[0], "huge", 4, 3, 3e15);
    make_run(&r[1], "zero", 4, 3, 0);
    for (int t = 0; t < 4; t++) {
        r[0].stats[t].mean_acc = (struct ci){0.5, 0.5, 0.5};
        r[1].stats[t].mean_acc = (struct ci){0.5, 0.5, 0.5};
        r[1].stats[t].cum_decode_per_group = 1000.0 * t; /* 0, 1k, 2k, 3k */
    }
    char *svg = render_checked(SVG, r, 2, NULL);
    /* 1k .. 1.2e16 spans 13 decades: log axis; the zero-token point cannot sit on it */
    assert_non_null(strstr(svg, "(log scale)"));
    assert_int_equal(count(svg, "class=\"tpt\""), 4 + 3);
    free(svg);
    for (int t = 0; t < 4; t++)
        r[1].stats[t].cum_decode_per_group = 0;
    /* one run only with huge, all-equal tokens: linear axis, suffixed tick labels */
    for (int t = 0; t < 4; t++)
        r[0].stats[t].cum_decode_per_group = 3e15;
    svg = render_checked(SVG, r, 1, NULL);
    assert_int_equal(count(svg, "class=\"tpt\""), 4);
    assert_non_null(strstr(svg, "P</text>"));
    free(svg);
    /* all tokens zero */
    svg = render_checked(SVG, &r[1], 1, NULL);
    assert_int_equal(count(svg, "class=\"tpt\""), 4);
    free(svg);
    free_run(&r[0]);
    free_run(&r[1]);
}

static void test_hostile_text(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "ok", 2, 2, 100);
    free(r.name);
    r.name = xstrdup("bad\x01utf8\xff\xc3(\xe2\x82\xac]]>-->\x7f");
    free(r.problem_ids[0]);
    r.problem_ids[0] = xstrdup("<script>alert(1)</script>");
    free(r.grader);
    r.grader = NULL;
    free(r.status);
    r.status = NULL;
    char *svg = render_checked(SVG, &r, 1, NULL);
    assert_non_null(strstr(svg, "bad&#xFFFD;utf8&#xFFFD;&#xFFFD;(\xe2\x82\xac]]&gt;--&gt;&#xFFFD;"));
    assert_null(strstr(svg, "<script"));
    free(svg);
    char *html = render_checked(HTML, &r, 1, NULL);
    assert_non_null(strstr(html, "&lt;script&gt;"));
    free(html);
    /* a very long name is cut in legends (with an ellipsis), kept whole in titles */
    free(r.name);
    char longname[301];
    memset(longname, 'x', 300);
    longname[300] = '\0';
    r.name = xstrdup(longname);
    svg = render_checked(SVG, &r, 1, NULL);
    assert_non_null(strstr(svg, "&#x2026;"));
    assert_non_null(strstr(svg, longname));
    free(svg);
    free_run(&r);
}

static void test_many_problems(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "math500", 2, 500, 2000);
    char *svg = render_checked(SVG, &r, 1, NULL);
    assert_int_equal(count(svg, "<rect class=\"cell\""), 1000);
    int labels = count(svg, "class=\"pid\"");
    assert_true(labels > 10 && labels < 500); /* thinned problem ids */
    free(svg);
    free_run(&r);
}

/* ===== random inputs: hostile numbers and bytes, always well-formed output ===== */

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double odd_value(void)
{
    static const double special[] = {0, 1, -1, 0.5, 1e-300, 1e300, -1e300, 4e18, 1e15, 7};
    switch (next_rand() % 6) {
    case 0: return NAN;
    case 1: return (next_rand() & 1) ? INFINITY : -INFINITY;
    case 2: return special[next_rand() % (sizeof(special) / sizeof(special[0]))];
    default: return (double)(next_rand() % 100000) / 1000.0;
    }
}

static void random_name(char *out, size_t n)
{
    size_t len = next_rand() % (n - 1);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(1 + next_rand() % 255); /* any byte but NUL */
    out[len] = '\0';
}

static void test_random_inputs(void **state)
{
    (void)state;
    for (int iter = 0; iter < 300; iter++) {
        struct run_analysis r[2];
        int n = 1 + (int)(next_rand() % 2);
        for (int i = 0; i < n; i++) {
            make_run(&r[i], "x", (int)(next_rand() % 4), (int)(next_rand() % 4), odd_value());
            char name[24];
            random_name(name, sizeof(name));
            free(r[i].name);
            r[i].name = xstrdup(name);
            for (int p = 0; p < r[i].n_problems; p++) {
                random_name(name, sizeof(name));
                free(r[i].problem_ids[p]);
                r[i].problem_ids[p] = xstrdup(name);
            }
            for (int t = 0; t < r[i].n_rounds; t++) {
                struct round_stats *st = &r[i].stats[t];
                st->round = (int)(next_rand() % 3) - 1;
                st->mean_acc = (struct ci){odd_value(), odd_value(), odd_value()};
                st->pass_n.mean = odd_value();
                st->maj_n.mean = odd_value();
                st->cum_decode_per_group = odd_value();
                st->len_median = odd_value();
                for (int p = 0; p < r[i].n_problems; p++)
                    r[i].heat[t * r[i].n_problems + p] = odd_value();
            }
        }
        struct budget_cmp b;
        int with_b = (int)(next_rand() % 2) && r[0].n_rounds > 0;
        if (with_b) {
            make_budget(&b, &r[0], 1 + (int)(next_rand() % 5), 1 + (double)(next_rand() % 5000));
            b.base_tokens_per_sample = odd_value();
            for (int k = 0; k < b.base_n; k++)
                b.base_curve_maj[k] = odd_value();
            for (int j = 0; j < b.n_points; j++) {
                b.points[j].tokens = odd_value();
                b.points[j].base_pass_k = odd_value();
                b.points[j].diff_maj_k = (struct ci){odd_value(), odd_value(), odd_value()};
                b.points[j].p_le0_pass1 = odd_value();
                b.points[j].raw_k = odd_value();
            }
        }
        free(render_checked(SVG, r, n, with_b ? &b : NULL));
        free(render_checked(HTML, r, n, with_b ? &b : NULL));
        if (with_b)
            free_budget(&b);
        for (int i = 0; i < n; i++)
            free_run(&r[i]);
    }
}

static void test_errors(void **state)
{
    (void)state;
    struct run_analysis r;
    make_run(&r, "e", 1, 1, 10);
    char err[128] = "";
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    assert_int_equal(plot_svg(&r, 0, NULL, devnull, err, sizeof(err)), RSA_ERR_USAGE);
    assert_true(err[0] != '\0');
    assert_int_equal(plot_html(NULL, 1, NULL, devnull, err, sizeof(err)), RSA_ERR_USAGE);
    assert_int_equal(plot_svg(&r, 1, NULL, NULL, err, sizeof(err)), RSA_ERR_USAGE);
    r.n_rounds = -1;
    assert_int_equal(plot_svg(&r, 1, NULL, devnull, err, sizeof(err)), RSA_ERR_USAGE);
    r.n_rounds = 1;
    struct budget_cmp b;
    memset(&b, 0, sizeof(b));
    b.n_points = 2; /* points == NULL */
    assert_int_equal(plot_html(&r, 1, &b, devnull, err, sizeof(err)), RSA_ERR_USAGE);
    fclose(devnull);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        err[0] = '\0';
        assert_int_equal(plot_html(&r, 1, NULL, full, err, sizeof(err)), RSA_ERR_IO);
        assert_true(err[0] != '\0');
        fclose(full);
    }
    free_run(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_rejects),
        cmocka_unit_test(test_svg_two_runs),
        cmocka_unit_test(test_html_run),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_edge_zero_rounds),
        cmocka_unit_test(test_edge_one_round_one_problem),
        cmocka_unit_test(test_edge_huge_and_equal),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_many_problems),
        cmocka_unit_test(test_random_inputs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_names_keep_their_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
