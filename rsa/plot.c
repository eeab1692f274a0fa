/*
 * plot.c: SVG charts and the self-contained HTML report (see plot.h), written with
 * fprintf and no library.
 *
 * Charts (each a <g class="chart"> in plot_svg, its own inline <svg> in plot_html):
 *   1. accuracy by round: per run mean_acc with 95% CI bars (solid), pass@N (dashed) and
 *      maj@N (dotted);
 *   2. accuracy vs cumulative decode tokens per problem: per run mean_acc; with a budget
 *      comparison, the baseline's pass@1, maj@k and pass@k at x = k * d (k = 1..N_base)
 *      and markers at the matched points. The x axis is logarithmic when the tokens span
 *      more than one decade (the axis label says so);
 *   3. one heat map per run of per-problem mean_acc, rows = rounds, columns = problems in
 *      the analysis's order, grey = no traces.
 * Accuracies are shown in percent. Output depends only on the input: no time stamps, no
 * locale (numbers are printed with fixed precision and '.'), and non-finite values are
 * skipped, never printed. All text is escaped; invalid UTF-8 and control characters
 * become U+FFFD, so the output stays well-formed whatever the names hold.
 *
 * Test hooks (class names that tests count): chart 1 "series" (one per run), "pt" (one per
 * finite mean_acc), chart 2 "tseries"/"tpt", "base-pass1"/"base-maj"/"base-pass",
 * "match" (budget markers), chart 3 "cell" (one per round x problem, NaN included).
 */
#include "plot.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* ===== layout ===== */

enum {
    CHART_W = 960,     /* chart width; heat maps of many problems are wider */
    CHART_H = 400,     /* minimum chart height */
    M_LEFT = 72,       /* left margin: y tick labels and the y axis label */
    M_RIGHT = 260,     /* right margin: the legend */
    M_TOP = 48,        /* title */
    M_BOTTOM = 60,     /* x tick labels and the x axis label */
    LEGEND_ROW = 18,   /* legend line height */
    NAME_MAX = 30,     /* characters of a run name shown in a legend or title */
    ID_MAX = 14,       /* characters of a problem id shown on the heat map axis */
    MAX_TICKS = 40,    /* bound on every tick loop */
    HEAT_MAX_CELL = 28, /* heat map cell size bounds, pixels */
    Y_MIN_SPAN = 20     /* accuracy axes span at least 20 points, so noise does not look steep */
};

#define BASE_COLOUR "#555555"
#define GRID_COLOUR "#e3e3e3"
#define NAN_COLOUR "#c8c8c8"

/* Okabe-Ito colours (colour-blind safe), without the yellow that is unreadable on white. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
#define N_PALETTE ((int)(sizeof(palette) / sizeof(palette[0])))

static const char *colour(int i)
{
    return palette[(i < 0 ? 0 : i) % N_PALETTE];
}

/* ===== text and numbers ===== */

/* utf8_len: length of the valid UTF-8 sequence at s that is also an XML character, or 0. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

/* esc: write s escaped for XML and HTML text and attributes. At most maxch characters
   (0 = all); a cut name ends in an ellipsis. NULL prints "n/a". */
static void esc(FILE *out, const char *s, int maxch)
{
    if (s == NULL) {
        fputs("n/a", out);
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    int count = 0;
    while (*p) {
        if (maxch > 0 && count == maxch) {
            fputs("&#x2026;", out);
            return;
        }
        int n = utf8_len(p);
        if (n == 0) {
            fputs("&#xFFFD;", out);
            p++;
        } else if (n > 1) {
            fwrite(p, 1, (size_t)n, out);
            p += n;
        } else {
            switch (*p) {
            case '&': fputs("&amp;", out); break;
            case '<': fputs("&lt;", out); break;
            case '>': fputs("&gt;", out); break;
            case '"': fputs("&quot;", out); break;
            case '\'': fputs("&#39;", out); break;
            default:
                if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7F)
                    fputs("&#xFFFD;", out);
                else
                    fputc(*p, out);
            }
            p++;
        }
        count++;
    }
}

/* esc_mid: like esc, but a name longer than maxch characters keeps its start and its end
   around an ellipsis: sweep runs share a prefix and differ at the end ("...-rounds=4"). */
static void esc_mid(FILE *out, const char *s, int maxch)
{
    if (s == NULL || maxch < 8) {
        esc(out, s, maxch);
        return;
    }
    int total = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; total++) {
        int n = utf8_len(p);
        p += n > 0 ? n : 1;
    }
    if (total <= maxch) {
        esc(out, s, 0);
        return;
    }
    int head = maxch / 3, tail = maxch - head - 1, skip = total - tail;
    esc(out, s, head); /* prints the head and the ellipsis */
    const unsigned char *p = (const unsigned char *)s;
    for (int i = 0; i < skip; i++) {
        int n = utf8_len(p);
        p += n > 0 ? n : 1;
    }
    esc(out, (const char *)p, 0);
}

/* px: a pixel coordinate that is always printable (finite, bounded). */
static double px(double v)
{
    if (!isfinite(v))
        return 0;
    if (v > 1e6)
        return 1e6;
    if (v < -1e6)
        return -1e6;
    return v;
}

static int fin(double v)
{
    return isfinite(v);
}

/* fmt_si: a compact count: 950, 1.5k, 40k, 1.23M, ... (three significant digits). */
static void fmt_si(char *buf, size_t n, double v)
{
    static const char *const suffix[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    double a = v;
    while (fabs(a) >= 999.5 && i < 6) {
        a /= 1000;
        i++;
    }
    if (fabs(a) >= 999.5)
        snprintf(buf, n, "%.2e", v);
    else
        snprintf(buf, n, "%.3g%s", a, suffix[i]);
}

/* fmt_pct: a fraction as a percentage with one decimal, "n/a" when not finite. */
static void fmt_pct(char *buf, size_t n, double v)
{
    if (fin(v))
        snprintf(buf, n, "%.1f", 100.0 * v);
    else
        snprintf(buf, n, "n/a");
}

/* ===== axes ===== */

struct axis {
    double lo, hi; /* data range; lo > 0 on a log axis */
    int log;
    double p0, p1; /* pixels of lo and hi */
    double step;   /* tick step of a linear axis */
};

static double ax_px(const struct axis *a, double v)
{
    double lo = a->lo, hi = a->hi;
    if (a->log) {
        v = log10(v);
        lo = log10(lo);
        hi = log10(hi);
    }
    return px(a->p0 + (v - lo) / (hi - lo) * (a->p1 - a->p0));
}

/* ax_ok: whether v can be placed on the axis. */
static int ax_ok(const struct axis *a, double v)
{
    return fin(v) && (!a->log || v > 0);
}

static double nice_step(double span, int target)
{
    double raw = span / target;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return m * mag;
}

/* ax_linear: a linear axis covering [lo, hi] with ends on tick steps, at least min_span
   wide (so all-equal values still get an axis), kept inside [clamp_lo, clamp_hi]. */
static void ax_linear(struct axis *a, double lo, double hi, double min_span, double clamp_lo, double clamp_hi,
                      int target_ticks)
{
    if (!(hi - lo >= min_span)) {
        double c = lo / 2 + hi / 2;
        lo = c - min_span / 2;
        hi = c + min_span / 2;
    }
    if (lo < clamp_lo) {
        hi += clamp_lo - lo;
        lo = clamp_lo;
    }
    if (hi > clamp_hi) {
        lo -= hi - clamp_hi;
        hi = clamp_hi;
        if (lo < clamp_lo)
            lo = clamp_lo;
    }
    a->log = 0;
    a->step = nice_step(hi - lo, target_ticks);
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    if (!(a->hi > a->lo) || (a->hi - a->lo) / a->step > MAX_TICKS) { /* precision loss at huge values */
        a->lo = lo - fabs(lo) * 0.5 - 1;
        a->hi = hi + fabs(hi) * 0.5 + 1;
        a->step = a->hi - a->lo;
    }
}

/* ax_logscale: a log10 axis over [lo, hi] (lo > 0) with a margin of a quarter on each side. */
static void ax_logscale(struct axis *a, double lo, double hi)
{
    a->log = 1;
    a->lo = lo / 1.25;
    a->hi = hi * 1.25;
    if (!(a->hi > a->lo) || !fin(a->hi))
        a->hi = a->lo * 10;
    a->step = 0;
}

enum tick_fmt { TICK_ROUND, TICK_TOKENS, TICK_PCT };

/* ax_ticks: the tick values of an axis (at most MAX_TICKS); returns their count. */
static int ax_ticks(const struct axis *a, enum tick_fmt f, double *t)
{
    int n = 0;
    if (a->log) {
        /* decades (every one up to 12), plus 2x and 5x when the axis spans at most 3 decades */
        int e0 = (int)floor(log10(a->lo)), e1 = (int)ceil(log10(a->hi));
        int decades = e1 - e0;
        int every = decades > 12 ? (decades + 11) / 12 : 1;
        static const double mult[3] = {1, 2, 5};
        int n_mult = log10(a->hi / a->lo) <= 3 ? 3 : 1;
        for (int e = e0; e <= e1 && n < MAX_TICKS; e += every)
            for (int m = 0; m < n_mult && n < MAX_TICKS; m++) {
                double v = mult[m] * pow(10, e);
                if (v >= a->lo && v <= a->hi)
                    t[n++] = v;
            }
        return n;
    }
    double step = a->step;
    if (f == TICK_ROUND) {
        double span = a->hi - a->lo;
        step = span > 15 ? ceil(span / 15) : 1;
        for (double v = ceil(a->lo); v <= a->hi && n < MAX_TICKS; v += step)
            t[n++] = v == 0 ? 0 : v; /* no "-0" */
        return n;
    }
    for (int i = 0; i < MAX_TICKS; i++) {
        double v = a->lo + i * step;
        if (v > a->hi + step * 1e-9)
            break;
        if (fabs(v) < step * 1e-9)
            v = 0;
        t[n++] = v;
    }
    return n;
}

static void tick_label(char *buf, size_t n, enum tick_fmt f, double v, double step)
{
    switch (f) {
    case TICK_ROUND: snprintf(buf, n, "%.0f", v); break;
    case TICK_TOKENS: fmt_si(buf, n, v); break;
    case TICK_PCT: snprintf(buf, n, step >= 1 ? "%.0f" : "%.1f", v); break;
    }
}

/* draw_frame: grid, ticks, tick labels, axis labels and the plot box. */
static void draw_frame(FILE *out, const struct axis *ax, enum tick_fmt fx, const char *xlabel, const struct axis *ay,
                       enum tick_fmt fy, const char *ylabel)
{
    double t[MAX_TICKS];
    double x0 = ax->p0, x1 = ax->p1, y0 = ay->p0, y1 = ay->p1; /* y0 = bottom */
    char lab[48];
    fputs("<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n", out);
    int n = ax_ticks(ay, fy, t);
    for (int i = 0; i < n; i++) {
        double y = ax_px(ay, t[i]);
        tick_label(lab, sizeof(lab), fy, t[i], ay->step);
        fprintf(out,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"" GRID_COLOUR "\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                px(x0), y, px(x1), y, px(x0 - 6), px(y + 4), lab);
    }
    n = ax_ticks(ax, fx, t);
    for (int i = 0; i < n; i++) {
        double x = ax_px(ax, t[i]);
        tick_label(lab, sizeof(lab), fx, t[i], ax->step);
        fprintf(out,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"" GRID_COLOUR "\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
                x, px(y1), x, px(y0), x, px(y0 + 16), lab);
    }
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#888\"/>\n",
            px(x0), px(y1), px(x1 - x0), px(y0 - y1));
    fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"12\">", px((x0 + x1) / 2),
            px(y0 + 38));
    esc(out, xlabel, 0);
    fprintf(out, "</text>\n<text transform=\"translate(%.2f,%.2f) rotate(-90)\" text-anchor=\"middle\" "
                 "font-size=\"12\">",
            px(x0 - 48), px((y0 + y1) / 2));
    esc(out, ylabel, 0);
    fputs("</text>\n</g>\n", out);
}

/* ===== shapes ===== */

/* A polyline drawn as one <path>, opened lazily and broken at gaps (skipped values). */
struct pen {
    FILE *out;
    const char *attrs; /* written inside <path ...> before d= */
    int started, gap;
};

static void pen_begin(struct pen *p, FILE *out, const char *attrs)
{
    p->out = out;
    p->attrs = attrs;
    p->started = 0;
    p->gap = 1;
}

static void pen_to(struct pen *p, double x, double y)
{
    if (!p->started) {
        fprintf(p->out, "<path %s fill=\"none\" d=\"", p->attrs);
        p->started = 1;
    }
    fprintf(p->out, "%c%.2f %.2f ", p->gap ? 'M' : 'L', px(x), px(y));
    p->gap = 0;
}

static void pen_gap(struct pen *p)
{
    p->gap = 1;
}

static void pen_end(struct pen *p)
{
    if (p->started)
        fputs("\"/>\n", p->out);
    p->started = 0;
}

/* marker: a point symbol; shape 'o' circle, 's' square, 'd' diamond, 'x' cross. */
static void marker(FILE *out, const char *cls, char shape, double x, double y, double r, const char *fill,
                   const char *stroke)
{
    x = px(x);
    y = px(y);
    switch (shape) {
    case 's':
        fprintf(out, "<rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" stroke=\"%s\"/>",
                cls, x - r, y - r, 2 * r, 2 * r, fill, stroke);
        break;
    case 'd':
        fprintf(out, "<path class=\"%s\" d=\"M%.2f %.2f L%.2f %.2f L%.2f %.2f L%.2f %.2f Z\" fill=\"%s\" stroke=\"%s\"/>",
                cls, x, y - r * 1.3, x + r, y, x, y + r * 1.3, x - r, y, fill, stroke);
        break;
    case 'x':
        fprintf(out, "<path class=\"%s\" d=\"M%.2f %.2f L%.2f %.2f M%.2f %.2f L%.2f %.2f\" stroke=\"%s\" "
                     "stroke-width=\"2\"/>",
                cls, x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r, stroke);
        break;
    default:
        fprintf(out, "<circle class=\"%s\" cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\" stroke=\"%s\"/>", cls, x, y,
                r, fill, stroke);
    }
}

/* legend_line: one legend row at (x, y): a line sample (dash "" = solid), a marker, a label.
   name is escaped and cut to NAME_MAX characters; suffix is trusted text. */
static void legend_line(FILE *out, double x, double y, const char *col, const char *dash, char shape,
                        const char *name, const char *suffix)
{
    fprintf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>",
            px(x), px(y), px(x + 24), px(y), col, dash[0] ? " stroke-dasharray=\"" : "", dash, dash[0] ? "\"" : "");
    if (shape)
        marker(out, "lg", shape, x + 12, y, 3.5, shape == 'x' ? "none" : col, col);
    fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">", px(x + 30), px(y + 4));
    esc_mid(out, name, NAME_MAX);
    if (suffix)
        fputs(suffix, out);
    fputs("</text>\n", out);
}

static void chart_title(FILE *out, double w, const char *text, const char *name)
{
    fprintf(out, "<text class=\"title\" x=\"%.2f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
                 "font-weight=\"bold\">",
            px(w / 2));
    esc(out, text, 0);
    if (name) {
        fputs(": ", out);
        esc_mid(out, name, 2 * NAME_MAX);
    }
    fputs("</text>\n", out);
}

static void no_data(FILE *out, double w, double h, const char *what)
{
    fprintf(out, "<text class=\"nodata\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"13\" "
                 "fill=\"#777\">",
            px(w / 2), px(h / 2));
    esc(out, what, 0);
    fputs("</text>\n", out);
}

/* ===== chart 1: accuracy by round ===== */

static int legend_h(int rows)
{
    int h = M_TOP + rows * LEGEND_ROW + 40;
    return h > CHART_H ? h : CHART_H;
}

static int acc_round_height(int n_runs)
{
    return legend_h(n_runs + 4);
}

static void acc_round_chart(FILE *out, const struct run_analysis *runs, int n_runs, int w, int h)
{
    chart_title(out, w, "Accuracy by round (mean_acc with 95% CI, pass@N dashed, maj@N dotted)", NULL);
    double ymin = INFINITY, ymax = -INFINITY, rmin = INFINITY, rmax = -INFINITY;
    for (int i = 0; i < n_runs; i++)
        for (int t = 0; t < runs[i].n_rounds; t++) {
            const struct round_stats *s = &runs[i].stats[t];
            double v[5] = {s->mean_acc.mean, s->mean_acc.lo, s->mean_acc.hi, s->pass_n.mean, s->maj_n.mean};
            int any = 0;
            for (int j = 0; j < 5; j++)
                if (fin(v[j])) {
                    ymin = fmin(ymin, v[j]);
                    ymax = fmax(ymax, v[j]);
                    any = 1;
                }
            if (any) {
                rmin = fmin(rmin, s->round);
                rmax = fmax(rmax, s->round);
            }
        }
    if (!(ymax >= ymin)) {
        no_data(out, w, h, "no rounds with accuracy values");
        return;
    }
    struct axis ax = {.lo = rmin - 0.5, .hi = rmax + 0.5, .p0 = M_LEFT, .p1 = w - M_RIGHT, .step = 1};
    struct axis ay = {.p0 = h - M_BOTTOM, .p1 = M_TOP};
    ax_linear(&ay, 100 * ymin, 100 * ymax, Y_MIN_SPAN, 0, 100, 5);
    draw_frame(out, &ax, TICK_ROUND, "round (0 = initial population, t = after t aggregation rounds)", &ay, TICK_PCT,
               "accuracy (%)");

    double spread = n_runs > 1 ? fmin(0.3, 0.06 * (n_runs - 1)) : 0; /* CI bars side by side */
    for (int i = 0; i < n_runs; i++) {
        const struct run_analysis *a = &runs[i];
        const char *col = colour(i);
        double dx = n_runs > 1 ? -spread / 2 + spread * i / (n_runs - 1) : 0;
        char attrs[160];
        struct pen pen;
        fprintf(out, "<g class=\"series\" data-run=\"%d\">\n", i);
        static const char *const dash[3] = {"", "7 4", "2 3"};
        static const char *const cls[3] = {"mean", "pass", "maj"};
        for (int f = 2; f >= 0; f--) {
            snprintf(attrs, sizeof(attrs), "class=\"%s\" stroke=\"%s\" stroke-width=\"%s\"%s%s%s", cls[f], col,
                     f == 0 ? "2.2" : "1.4", dash[f][0] ? " stroke-dasharray=\"" : "", dash[f], dash[f][0] ? "\"" : "");
            pen_begin(&pen, out, attrs);
            for (int t = 0; t < a->n_rounds; t++) {
                const struct round_stats *s = &a->stats[t];
                double v = f == 0 ? s->mean_acc.mean : f == 1 ? s->pass_n.mean : s->maj_n.mean;
                if (fin(v))
                    pen_to(&pen, ax_px(&ax, s->round + dx), ax_px(&ay, 100 * v));
                else
                    pen_gap(&pen);
            }
            pen_end(&pen);
        }
        for (int t = 0; t < a->n_rounds; t++) {
            const struct round_stats *s = &a->stats[t];
            double x = ax_px(&ax, s->round + dx);
            if (fin(s->mean_acc.lo) && fin(s->mean_acc.hi)) {
                double ylo = ax_px(&ay, 100 * s->mean_acc.lo), yhi = ax_px(&ay, 100 * s->mean_acc.hi);
                fprintf(out,
                        "<path class=\"ci\" d=\"M%.2f %.2f L%.2f %.2f M%.2f %.2f L%.2f %.2f M%.2f %.2f L%.2f %.2f\" "
                        "stroke=\"%s\" stroke-width=\"1.2\"/>",
                        x, ylo, x, yhi, x - 4, ylo, x + 4, ylo, x - 4, yhi, x + 4, yhi, col);
            }
            if (fin(s->pass_n.mean))
                marker(out, "pm", 's', x, ax_px(&ay, 100 * s->pass_n.mean), 2.2, "white", col);
            if (fin(s->maj_n.mean))
                marker(out, "pm", 's', x, ax_px(&ay, 100 * s->maj_n.mean), 2.2, "white", col);
            if (fin(s->mean_acc.mean)) {
                char v[16], lo[16], hi[16];
                fmt_pct(v, sizeof(v), s->mean_acc.mean);
                fmt_pct(lo, sizeof(lo), s->mean_acc.lo);
                fmt_pct(hi, sizeof(hi), s->mean_acc.hi);
                fprintf(out, "<circle class=\"pt\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%s\"><title>", x,
                        ax_px(&ay, 100 * s->mean_acc.mean), col);
                esc(out, a->name, 0);
                fprintf(out, ", round %d: mean_acc %s%% [%s, %s]</title></circle>\n", s->round, v, lo, hi);
            }
        }
        fputs("</g>\n", out);
    }
    double lx = w - M_RIGHT + 20, ly = M_TOP + 8;
    fputs("<g class=\"legend\">\n", out);
    for (int i = 0; i < n_runs; i++, ly += LEGEND_ROW)
        legend_line(out, lx, ly, colour(i), "", 'o', runs[i].name, NULL);
    ly += LEGEND_ROW / 2;
    legend_line(out, lx, ly, BASE_COLOUR, "", 'o', "mean_acc (avg@N), 95% CI", NULL);
    legend_line(out, lx, ly + LEGEND_ROW, BASE_COLOUR, "7 4", 's', "pass@N", NULL);
    legend_line(out, lx, ly + 2 * LEGEND_ROW, BASE_COLOUR, "2 3", 's', "maj@N", NULL);
    fputs("</g>\n", out);
}

/* ===== chart 2: accuracy vs decode tokens ===== */

static int budget_usable(const struct budget_cmp *b)
{
    return b != NULL && b->base_n > 0 && fin(b->base_tokens_per_sample) && b->base_tokens_per_sample > 0;
}

static int acc_tokens_height(int n_runs, const struct budget_cmp *b)
{
    return legend_h(n_runs + (b ? 7 : 1));
}

static double bcurve(const double *c, int k)
{
    return c ? c[k] : NAN;
}

/* The data range of chart 2: tokens x >= 0 (xpos: smallest x > 0) and accuracies y. */
struct extent {
    double xmax, xpos, ymin, ymax;
};

static void extent_add(struct extent *e, double x, double y)
{
    if (!fin(x) || !fin(y) || x < 0)
        return;
    e->xmax = fmax(e->xmax, x);
    if (x > 0)
        e->xpos = fmin(e->xpos, x);
    e->ymin = fmin(e->ymin, y);
    e->ymax = fmax(e->ymax, y);
}

static void acc_tokens_chart(FILE *out, const struct run_analysis *runs, int n_runs, const struct budget_cmp *b,
                             int w, int h)
{
    if (b)
        chart_title(out, w, "Accuracy vs cumulative decode tokens per problem, baseline", b->base_name);
    else
        chart_title(out, w, "Accuracy vs cumulative decode tokens per problem", NULL);
    int bu = budget_usable(b);
    struct extent e = {-INFINITY, INFINITY, INFINITY, -INFINITY};
    for (int i = 0; i < n_runs; i++)
        for (int t = 0; t < runs[i].n_rounds; t++)
            extent_add(&e, runs[i].stats[t].cum_decode_per_group, runs[i].stats[t].mean_acc.mean);
    if (bu) {
        for (int k = 0; k < b->base_n; k++) {
            double x = (k + 1) * b->base_tokens_per_sample;
            extent_add(&e, x, bcurve(b->base_curve_pass1, k));
            extent_add(&e, x, bcurve(b->base_curve_maj, k));
            extent_add(&e, x, bcurve(b->base_curve_pass, k));
        }
    }
    if (b)
        for (int j = 0; j < b->n_points; j++)
            extent_add(&e, b->points[j].tokens, b->points[j].rsa.mean);
    double xmax = e.xmax, xpos = e.xpos, ymin = e.ymin, ymax = e.ymax;
    if (!(ymax >= ymin)) {
        no_data(out, w, h, "no token counts with accuracy values");
        return;
    }
    struct axis ax = {.p0 = M_LEFT, .p1 = w - M_RIGHT};
    struct axis ay = {.p0 = h - M_BOTTOM, .p1 = M_TOP};
    const char *xlabel = "cumulative decode tokens per problem";
    if (fin(xpos) && xmax / xpos > 10) {
        ax_logscale(&ax, xpos, xmax);
        xlabel = "cumulative decode tokens per problem (log scale)";
    } else {
        ax_linear(&ax, 0, xmax, xmax > 0 ? xmax * 0.02 : 1, 0, INFINITY, 6);
    }
    ax_linear(&ay, 100 * ymin, 100 * ymax, Y_MIN_SPAN, 0, 100, 5);
    draw_frame(out, &ax, TICK_TOKENS, xlabel, &ay, TICK_PCT, "accuracy (%)");

    char attrs[160];
    struct pen pen;
    if (bu) {
        static const char *const cls[3] = {"base-pass1", "base-maj", "base-pass"};
        static const char *const dash[3] = {"", "7 4", "2 3"};
        const double *curve[3] = {b->base_curve_pass1, b->base_curve_maj, b->base_curve_pass};
        fputs("<g class=\"baseline\">\n", out);
        for (int f = 0; f < 3; f++) {
            if (curve[f] == NULL)
                continue;
            snprintf(attrs, sizeof(attrs), "class=\"%s\" stroke=\"" BASE_COLOUR "\" stroke-width=\"1.6\"%s%s%s",
                     cls[f], dash[f][0] ? " stroke-dasharray=\"" : "", dash[f], dash[f][0] ? "\"" : "");
            pen_begin(&pen, out, attrs);
            for (int k = 0; k < b->base_n; k++) {
                double x = (k + 1) * b->base_tokens_per_sample, y = curve[f][k];
                if (ax_ok(&ax, x) && fin(y))
                    pen_to(&pen, ax_px(&ax, x), ax_px(&ay, 100 * y));
                else
                    pen_gap(&pen);
            }
            pen_end(&pen);
        }
        fputs("</g>\n", out);
    }
    for (int i = 0; i < n_runs; i++) {
        const struct run_analysis *a = &runs[i];
        const char *col = colour(i);
        fprintf(out, "<g class=\"tseries\" data-run=\"%d\">\n", i);
        snprintf(attrs, sizeof(attrs), "class=\"tline\" stroke=\"%s\" stroke-width=\"2.2\"", col);
        pen_begin(&pen, out, attrs);
        for (int t = 0; t < a->n_rounds; t++) {
            const struct round_stats *s = &a->stats[t];
            if (ax_ok(&ax, s->cum_decode_per_group) && fin(s->mean_acc.mean))
                pen_to(&pen, ax_px(&ax, s->cum_decode_per_group), ax_px(&ay, 100 * s->mean_acc.mean));
            else
                pen_gap(&pen);
        }
        pen_end(&pen);
        for (int t = 0; t < a->n_rounds; t++) {
            const struct round_stats *s = &a->stats[t];
            if (!ax_ok(&ax, s->cum_decode_per_group) || !fin(s->mean_acc.mean))
                continue;
            char v[16], tok[24];
            fmt_pct(v, sizeof(v), s->mean_acc.mean);
            fmt_si(tok, sizeof(tok), s->cum_decode_per_group);
            fprintf(out, "<circle class=\"tpt\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"%s\"><title>",
                    ax_px(&ax, s->cum_decode_per_group), ax_px(&ay, 100 * s->mean_acc.mean), col);
            esc(out, a->name, 0);
            fprintf(out, ", round %d: %s tokens, mean_acc %s%%</title></circle>\n", s->round, tok, v);
        }
        fputs("</g>\n", out);
    }
    if (b) {
        /* matched points: RSA (diamond) and the baseline at k (squares), joined by a guide */
        fputs("<g class=\"matches\">\n", out);
        for (int j = 0; j < b->n_points; j++) {
            const struct budget_point *q = &b->points[j];
            const char *stroke = q->capped ? "#C00000" : "#222222";
            const char *cls = q->capped ? "match capped" : "match";
            double bx = bu ? q->k * b->base_tokens_per_sample : NAN;
            if (ax_ok(&ax, q->tokens) && fin(q->rsa.mean)) {
                double x = ax_px(&ax, q->tokens);
                fprintf(out, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\" "
                             "stroke-dasharray=\"1 3\"/>",
                        x, px(ay.p0), x, px(ay.p1));
                marker(out, cls, 'd', x, ax_px(&ay, 100 * q->rsa.mean), 5, "#ffffff", stroke);
            }
            double bv[3] = {q->base_pass1, q->base_maj_k, q->base_pass_k};
            for (int f = 0; f < 3; f++)
                if (ax_ok(&ax, bx) && fin(bv[f]))
                    marker(out, cls, 's', ax_px(&ax, bx), ax_px(&ay, 100 * bv[f]), 3.5, "#ffffff", stroke);
            fputc('\n', out);
        }
        fputs("</g>\n", out);
    }
    double lx = w - M_RIGHT + 20, ly = M_TOP + 8;
    fputs("<g class=\"legend\">\n", out);
    for (int i = 0; i < n_runs; i++, ly += LEGEND_ROW)
        legend_line(out, lx, ly, colour(i), "", 'o', runs[i].name, NULL);
    if (b) {
        ly += LEGEND_ROW / 2;
        legend_line(out, lx, ly, BASE_COLOUR, "", 0, "baseline pass@1", NULL);
        legend_line(out, lx, ly + LEGEND_ROW, BASE_COLOUR, "7 4", 0, "baseline maj@k", NULL);
        legend_line(out, lx, ly + 2 * LEGEND_ROW, BASE_COLOUR, "2 3", 0, "baseline pass@k", NULL);
        ly += 3 * LEGEND_ROW;
        marker(out, "lg", 'd', lx + 12, ly, 5, "#ffffff", "#222222");
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">RSA at a matched budget</text>\n", px(lx + 30),
                px(ly + 4));
        ly += LEGEND_ROW;
        marker(out, "lg", 's', lx + 12, ly, 3.5, "#ffffff", "#222222");
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">baseline at matched k</text>\n", px(lx + 30),
                px(ly + 4));
        ly += LEGEND_ROW;
        marker(out, "lg", 's', lx + 12, ly, 3.5, "#ffffff", "#C00000");
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">capped (k = N of baseline)</text>\n",
                px(lx + 30), px(ly + 4));
    }
    fputs("</g>\n", out);
}

/* ===== chart 3: per-problem heat map ===== */

struct heat_layout {
    int cell_w, cell_h; /* pixels */
    int label_every;    /* label every n-th problem column */
    int label_h;        /* height of the rotated problem-id labels */
    int w, h;
};

static struct heat_layout heat_layout(const struct run_analysis *a)
{
    struct heat_layout L;
    int np = a->n_problems > 0 ? a->n_problems : 1, nr = a->n_rounds > 0 ? a->n_rounds : 1;
    int avail = CHART_W - M_LEFT - 40;
    L.cell_w = avail / np;
    if (L.cell_w > HEAT_MAX_CELL)
        L.cell_w = HEAT_MAX_CELL;
    if (L.cell_w < 3)
        L.cell_w = 3;
    L.cell_h = nr <= 12 ? 24 : (nr <= 60 ? 300 / nr : 5);
    if (L.cell_h < 5)
        L.cell_h = 5;
    L.label_every = L.cell_w >= 11 ? 1 : (11 + L.cell_w - 1) / L.cell_w;
    int longest = 1; /* characters of the longest problem id shown (bytes, bounded by ID_MAX) */
    for (int p = 0; p < a->n_problems && a->problem_ids; p++) {
        int len = a->problem_ids[p] ? (int)strnlen(a->problem_ids[p], ID_MAX + 1) : 6;
        longest = len > longest ? len : longest;
    }
    if (!a->problem_ids)
        longest = 6;
    L.label_h = 12 + 7 * (longest > ID_MAX ? ID_MAX + 1 : longest);
    long w = (long)M_LEFT + (long)np * L.cell_w + 40;
    L.w = w > CHART_W ? (int)(w > 1000000 ? 1000000 : w) : CHART_W;
    long h = (long)M_TOP + 20 + (long)nr * L.cell_h + L.label_h + 70;
    L.h = (int)(h > 1000000 ? 1000000 : h);
    return L;
}

/* heat_colour: a viridis-like sequential colour for v in [0, 1]. */
static void heat_colour(char out[8], double v)
{
    static const double stop[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!fin(v)) {
        snprintf(out, 8, "%s", NAN_COLOUR);
        return;
    }
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double pos = v * 4;
    int i = (int)pos;
    if (i > 3)
        i = 3;
    double f = pos - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stop[i][c] + f * (stop[i + 1][c] - stop[i][c]));
    snprintf(out, 8, "#%02x%02x%02x", rgb[0] & 0xff, rgb[1] & 0xff, rgb[2] & 0xff);
}

static void heat_chart(FILE *out, const struct run_analysis *a, int w, int h)
{
    struct heat_layout L = heat_layout(a);
    chart_title(out, w, "Per-problem mean_acc by round", a->name);
    if (a->n_problems <= 0 || a->n_rounds <= 0 || a->heat == NULL) {
        no_data(out, w, h, "no per-problem values");
        return;
    }
    double x0 = M_LEFT, y0 = M_TOP + 20;
    char fill[8], v[16];
    fputs("<g class=\"heat\">\n", out);
    for (int t = 0; t < a->n_rounds; t++) {
        double y = y0 + (double)t * L.cell_h;
        fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" font-size=\"11\">round %d</text>\n",
                px(x0 - 6), px(y + L.cell_h / 2.0 + 4), a->stats ? a->stats[t].round : t);
        for (int p = 0; p < a->n_problems; p++) {
            double val = a->heat[(size_t)t * (size_t)a->n_problems + (size_t)p];
            heat_colour(fill, val);
            fmt_pct(v, sizeof(v), val);
            fprintf(out,
                    "<rect class=\"cell\" x=\"%.2f\" y=\"%.2f\" width=\"%d\" height=\"%d\" fill=\"%s\" "
                    "stroke=\"#ffffff\" stroke-width=\"%s\"><title>",
                    px(x0 + (double)p * L.cell_w), px(y), L.cell_w, L.cell_h, fill, L.cell_w >= 6 ? "0.5" : "0");
            if (a->problem_ids && a->problem_ids[p])
                esc(out, a->problem_ids[p], 0);
            else
                fprintf(out, "problem %d", p);
            fprintf(out, ", round %d: %s%s</title></rect>\n", a->stats ? a->stats[t].round : t, v,
                    fin(val) ? "%" : " (no traces)");
        }
    }
    /* problem ids, rotated, under the columns */
    double yl = y0 + (double)a->n_rounds * L.cell_h + 6;
    int fs = L.cell_w >= 11 ? 11 : 10;
    for (int p = 0; p < a->n_problems; p += L.label_every) {
        double x = x0 + (p + 0.5) * L.cell_w + fs / 3.0;
        fprintf(out, "<text class=\"pid\" transform=\"translate(%.2f,%.2f) rotate(-90)\" text-anchor=\"end\" "
                     "font-size=\"%d\">",
                px(x), px(yl), fs);
        if (a->problem_ids && a->problem_ids[p])
            esc(out, a->problem_ids[p], ID_MAX);
        else
            fprintf(out, "%d", p);
        fputs("</text>\n", out);
    }
    /* colour legend */
    double ly = yl + L.label_h + 10;
    fprintf(out, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">mean_acc</text>\n", px(x0 - 6),
            px(ly + 12));
    for (int i = 0; i <= 10; i++) {
        heat_colour(fill, i / 10.0);
        fprintf(out, "<rect class=\"lg\" x=\"%.2f\" y=\"%.2f\" width=\"24\" height=\"16\" fill=\"%s\"/>",
                px(x0 + i * 24), px(ly), fill);
    }
    fprintf(out,
            "\n<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">0%%</text>"
            "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">50%%</text>"
            "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\">100%%</text>\n",
            px(x0 + 12), px(ly + 30), px(x0 + 5 * 24 + 12), px(ly + 30), px(x0 + 10 * 24 + 12), px(ly + 30));
    fprintf(out,
            "<rect class=\"lg\" x=\"%.2f\" y=\"%.2f\" width=\"24\" height=\"16\" fill=\"" NAN_COLOUR "\"/>"
            "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\">no traces</text>\n",
            px(x0 + 11 * 24 + 20), px(ly), px(x0 + 12 * 24 + 26), px(ly + 12));
    fputs("</g>\n", out);
}

/* ===== chart list ===== */

enum chart_kind { CHART_ROUND, CHART_TOKENS, CHART_HEAT };

struct chart {
    enum chart_kind kind;
    int run; /* CHART_HEAT: which run */
    int w, h;
};

/* charts_count: how many charts: accuracy by round, accuracy vs tokens, one heat map per run. */
static int charts_count(int n_runs)
{
    return 2 + n_runs;
}

static struct chart chart_at(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, int i)
{
    struct chart c = {.kind = CHART_ROUND, .run = 0, .w = CHART_W, .h = 0};
    if (i == 0) {
        c.h = acc_round_height(n_runs);
    } else if (i == 1) {
        c.kind = CHART_TOKENS;
        c.h = acc_tokens_height(n_runs, b);
    } else {
        struct heat_layout L = heat_layout(&runs[i - 2]);
        c.kind = CHART_HEAT;
        c.run = i - 2;
        c.w = L.w;
        c.h = L.h;
    }
    return c;
}

static void chart_draw(FILE *out, const struct run_analysis *runs, int n_runs, const struct budget_cmp *b,
                       const struct chart *c)
{
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", c->w, c->h);
    switch (c->kind) {
    case CHART_ROUND: acc_round_chart(out, runs, n_runs, c->w, c->h); break;
    case CHART_TOKENS: acc_tokens_chart(out, runs, n_runs, b, c->w, c->h); break;
    case CHART_HEAT: heat_chart(out, &runs[c->run], c->w, c->h); break;
    }
}

/* ===== input checks ===== */

static enum rsa_err check_input(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, FILE *out,
                                char *err, size_t errlen)
{
    if (out == NULL || runs == NULL || n_runs < 1 || n_runs > 4096) {
        util_errf(err, errlen, "plot: need an output and 1..4096 runs (got %d)", n_runs);
        return RSA_ERR_USAGE;
    }
    for (int i = 0; i < n_runs; i++) {
        const struct run_analysis *a = &runs[i];
        if (a->n_rounds < 0 || a->n_problems < 0 || (a->n_rounds > 0 && a->stats == NULL) ||
            (long long)a->n_rounds * a->n_problems > 100000000LL) {
            util_errf(err, errlen, "plot: run %d has inconsistent sizes (%d rounds, %d problems)", i, a->n_rounds,
                      a->n_problems);
            return RSA_ERR_USAGE;
        }
    }
    if (b && (b->n_points < 0 || (b->n_points > 0 && b->points == NULL) || b->base_n < 0 || b->base_n > 10000000)) {
        util_errf(err, errlen, "plot: the budget comparison has inconsistent sizes");
        return RSA_ERR_USAGE;
    }
    return RSA_OK;
}

static enum rsa_err finish(FILE *out, char *err, size_t errlen)
{
    if (fflush(out) != 0 || ferror(out)) {
        util_errf(err, errlen, "plot: write failed");
        return RSA_ERR_IO;
    }
    return RSA_OK;
}

static void names_list(FILE *out, const struct run_analysis *runs, int n_runs)
{
    for (int i = 0; i < n_runs; i++) {
        if (i)
            fputs(", ", out);
        esc(out, runs[i].name, 0);
    }
}

/* ===== SVG ===== */

enum rsa_err plot_svg(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, FILE *out,
                      char *err, size_t errlen)
{
    enum rsa_err rc = check_input(runs, n_runs, b, out, err, errlen);
    if (rc != RSA_OK)
        return rc;
    int n = charts_count(n_runs), w = 0;
    long h = 0;
    for (int i = 0; i < n; i++) {
        struct chart c = chart_at(runs, n_runs, b, i);
        w = c.w > w ? c.w : w;
        h += c.h;
    }
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%ld\" "
            "viewBox=\"0 0 %d %ld\" font-family=\"sans-serif\">\n<title>rsa: ",
            w, h, w, h);
    names_list(out, runs, n_runs);
    fputs("</title>\n", out);
    long y = 0;
    for (int i = 0; i < n; i++) {
        struct chart c = chart_at(runs, n_runs, b, i);
        fprintf(out, "<g class=\"chart\" transform=\"translate(0,%ld)\">\n", y);
        chart_draw(out, runs, n_runs, b, &c);
        fputs("</g>\n", out);
        y += c.h;
    }
    fputs("</svg>\n", out);
    return finish(out, err, errlen);
}

/* ===== HTML ===== */

static void html_ci(FILE *out, struct ci c)
{
    char m[16], lo[16], hi[16];
    if (!fin(c.mean)) {
        fputs("<td class=\"na\">n/a</td>", out);
        return;
    }
    fmt_pct(m, sizeof(m), c.mean);
    if (fin(c.lo) && fin(c.hi)) {
        fmt_pct(lo, sizeof(lo), c.lo);
        fmt_pct(hi, sizeof(hi), c.hi);
        fprintf(out, "<td>%s <span class=\"ci\">[%s, %s]</span></td>", m, lo, hi);
    } else {
        fprintf(out, "<td>%s</td>", m);
    }
}

static void html_pct(FILE *out, double v)
{
    char m[16];
    fmt_pct(m, sizeof(m), v);
    fprintf(out, fin(v) ? "<td>%s</td>" : "<td class=\"na\">%s</td>", m);
}

/* html_count: a token count rounded to an integer, "n/a" when not finite. */
static void html_count(FILE *out, double v)
{
    if (fin(v))
        fprintf(out, "<td>%.0f</td>", v);
    else
        fputs("<td class=\"na\">n/a</td>", out);
}

/* html_diff: a difference in percentage points with its CI and the bootstrap p, in one cell. */
static void html_diff(FILE *out, struct ci d, double p)
{
    if (!fin(d.mean)) {
        fputs("<td class=\"na\">n/a</td>", out);
        return;
    }
    fprintf(out, "<td class=\"%s\">%+.1f", d.mean > 0 ? "pos" : d.mean < 0 ? "neg" : "", 100 * d.mean);
    if (fin(d.lo) && fin(d.hi))
        fprintf(out, "<br><span class=\"ci\">[%+.1f, %+.1f]</span>", 100 * d.lo, 100 * d.hi);
    if (fin(p))
        fprintf(out, "<br><span class=\"ci\">p=%.4f</span>", p);
    fputs("</td>", out);
}

static void html_settings(FILE *out, const struct run_analysis *runs, int n_runs)
{
    fputs("<h2>Settings</h2>\n<div class=\"wide\"><table>\n<tr><th>run</th><th>status</th><th>problems</th><th>population N</th>"
          "<th>subset C</th><th>rounds T</th><th>tail_tokens &#964;</th><th>max_tokens &#946;</th><th>repeats</th>"
          "<th>seed</th><th>grader</th><th>tail method</th></tr>\n",
          out);
    for (int i = 0; i < n_runs; i++) {
        const struct run_analysis *a = &runs[i];
        fprintf(out, "<tr><td class=\"l\"><span class=\"sw\" style=\"background:%s\"></span>", colour(i));
        esc(out, a->name, 0);
        fputs("</td><td class=\"l\">", out);
        esc(out, a->status, 0);
        fprintf(out, "</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>"
                     "<td>%" PRId64 "</td><td class=\"l\">",
                a->n_problems, a->population, a->subset, a->rounds, a->tail_tokens, a->max_tokens, a->repeats,
                a->seed);
        esc(out, a->grader, 0);
        fputs("</td><td class=\"l\">", out);
        esc(out, a->tail_method, 0);
        fputs("</td></tr>\n", out);
    }
    fputs("</table></div>\n", out);
}

static void html_metrics(FILE *out, const struct run_analysis *a)
{
    fputs("<h2>Metrics: ", out);
    esc(out, a->name, 0);
    fputs("</h2>\n", out);
    if (a->n_rounds <= 0) {
        fputs("<p class=\"na\">No rounds with traces.</p>\n", out);
        return;
    }
    fputs("<div class=\"wide\"><table class=\"metrics\">\n<tr><th>round</th><th>traces</th><th>graded</th><th>mean_acc % [95% CI]</th>"
          "<th>pass@N % [95% CI]</th><th>maj@N % [95% CI]</th><th>cum. decode tokens / problem</th>"
          "<th>decode tokens (round)</th><th>length median [q25, q75]</th><th>finish=length</th></tr>\n",
          out);
    for (int t = 0; t < a->n_rounds; t++) {
        const struct round_stats *s = &a->stats[t];
        fprintf(out, "<tr><td>%d</td><td>%d</td><td>%d</td>", s->round, s->traces, s->graded);
        html_ci(out, s->mean_acc);
        html_ci(out, s->pass_n);
        html_ci(out, s->maj_n);
        html_count(out, s->cum_decode_per_group);
        fprintf(out, "<td>%" PRId64 "</td>", s->decode_tokens);
        if (fin(s->len_median)) {
            fprintf(out, "<td>%.0f", s->len_median);
            if (fin(s->len_q25) && fin(s->len_q75))
                fprintf(out, " <span class=\"ci\">[%.0f, %.0f]</span>", s->len_q25, s->len_q75);
            fputs("</td>", out);
        } else {
            fputs("<td class=\"na\">n/a</td>", out);
        }
        fprintf(out, "<td>%d</td></tr>\n", s->finish_length);
    }
    fputs("</table></div>\n", out);
}

static void html_budget(FILE *out, const struct budget_cmp *b)
{
    fputs("<h2>Budget-matched comparison: ", out);
    esc(out, b->rsa_name, 0);
    fputs(" vs baseline ", out);
    esc(out, b->base_name, 0);
    fprintf(out, "</h2>\n<p>%d common problems; baseline N = %d samples per problem", b->n_common, b->base_n);
    if (fin(b->base_tokens_per_sample))
        fprintf(out, ", %.1f decode tokens per sample", b->base_tokens_per_sample);
    fputs(". For each RSA round the baseline is read at k = round(tokens / tokens per sample), clamped to 1..N "
          "(capped). Differences are RSA &#8722; baseline in percentage points with paired bootstrap 95% CIs over "
          "problems; p = fraction of resamples with a difference &#8804; 0.</p>\n",
          out);
    if (b->n_points <= 0) {
        fputs("<p class=\"na\">No matched rounds.</p>\n", out);
        return;
    }
    fputs("<div class=\"wide\"><table class=\"budget\">\n<tr><th>round</th><th>problems</th><th>tokens / problem</th>"
          "<th>k (tokens / d)</th><th>capped</th>"
          "<th>RSA mean_acc % [95% CI]</th><th>base pass@1 %</th><th>base maj@k %</th><th>base pass@k %</th>"
          "<th>&#916; pass@1 (pp) [95% CI] p</th><th>&#916; maj@k (pp) [95% CI] p</th>"
          "<th>&#916; pass@k (pp) [95% CI] p</th></tr>\n",
          out);
    for (int j = 0; j < b->n_points; j++) {
        const struct budget_point *q = &b->points[j];
        fprintf(out, "<tr><td>%d</td><td>%d</td>", q->round, q->n_pairs);
        html_count(out, q->tokens);
        fprintf(out, "<td>%d", q->k);
        if (fin(q->raw_k))
            fprintf(out, " <span class=\"ci\">(%.2f)</span>", q->raw_k);
        fprintf(out, "</td><td>%s</td>", q->capped ? "yes" : "no");
        html_ci(out, q->rsa);
        html_pct(out, q->base_pass1);
        html_pct(out, q->base_maj_k);
        html_pct(out, q->base_pass_k);
        html_diff(out, q->diff_pass1, q->p_le0_pass1);
        html_diff(out, q->diff_maj_k, q->p_le0_maj_k);
        html_diff(out, q->diff_pass_k, q->p_le0_pass_k);
        fputs("</tr>\n", out);
    }
    fputs("</table></div>\n", out);
}

enum rsa_err plot_html(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, FILE *out,
                       char *err, size_t errlen)
{
    enum rsa_err rc = check_input(runs, n_runs, b, out, err, errlen);
    if (rc != RSA_OK)
        return rc;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>rsa report: ",
          out);
    names_list(out, runs, n_runs);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\n"
          "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}\n"
          "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}\n"
          "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}\n"
          "td{white-space:nowrap}th{background:#f2f2f2;font-weight:600;vertical-align:bottom}td.l{text-align:left}\n"
          ".wide{overflow-x:auto}\n"
          ".ci{color:#777;font-size:.9em}.na{color:#999}.pos{color:#006d2c}.neg{color:#b30000}\n"
          ".sw{display:inline-block;width:.8em;height:.8em;margin-right:.4em;vertical-align:middle}\n"
          ".charts svg{display:block;margin:1em 0;max-width:100%;height:auto;border:1px solid #eee}\n"
          "</style>\n</head>\n<body>\n<h1>RSA report: ",
          out);
    names_list(out, runs, n_runs);
    fprintf(out,
            "</h1>\n<p>Accuracies in percent. mean_acc is avg@N (the expected accuracy of one population member); "
            "pass@N: any of the N correct; maj@N: majority vote of the N. 95%% CIs are bootstrap intervals over "
            "problems (B = %d, seed %u). Tokens per problem are per (problem, repeat).</p>\n",
            ANALYSIS_BOOT_B, (unsigned)ANALYSIS_BOOT_SEED);
    html_settings(out, runs, n_runs);
    for (int i = 0; i < n_runs; i++)
        html_metrics(out, &runs[i]);
    if (b)
        html_budget(out, b);
    fputs("<h2>Charts</h2>\n<div class=\"charts\">\n", out);
    int n = charts_count(n_runs);
    for (int i = 0; i < n; i++) {
        struct chart c = chart_at(runs, n_runs, b, i);
        fprintf(out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"sans-serif\" role=\"img\">\n",
                c.w, c.h, c.w, c.h);
        chart_draw(out, runs, n_runs, b, &c);
        fputs("</svg>\n", out);
    }
    fputs("</div>\n</body>\n</html>\n", out);
    return finish(out, err, errlen);
}
