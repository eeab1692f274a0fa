/*
 * plot.h: SVG charts and the self-contained HTML report, written directly from C
 * (no library). Charts: accuracy vs round with 95% CI bars (one series per run);
 * accuracy vs cumulative decode tokens per problem, with the baseline's pass@1, maj@k
 * and pass@k curves when a budget comparison is given; per-problem heat map of
 * correctness (mean_acc) by round, one map per run. Output is deterministic and escapes all text.
 *
 * Accuracies are drawn in percent. Non-finite values are skipped (never printed); tokens
 * use a log x axis when they span more than a decade (values <= 0 are then left out);
 * problems on the heat map keep the analysis's order. Both functions return RSA_ERR_USAGE
 * for inconsistent input (n_runs < 1, negative sizes, stats or points NULL with a nonzero count) and
 * RSA_ERR_IO when writing to out fails; they never close out.
 */
#ifndef RSA_PLOT_H
#define RSA_PLOT_H

#include <stdio.h>

#include "analysis.h"
#include "err.h"

/* plot_svg: one standalone SVG document (the charts stacked vertically) for runs[n_runs]
   (n_runs >= 1) and optionally a budget comparison b. */
enum rsa_err plot_svg(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, FILE *out,
                      char *err, size_t errlen);

/* plot_html: one self-contained HTML file (no external resources): title, run settings,
   metric tables, the budget table when b != NULL, and the charts as inline SVG. */
enum rsa_err plot_html(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b, FILE *out,
                       char *err, size_t errlen);

#endif
