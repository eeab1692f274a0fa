/*
 * report.h: writing analyses (analysis.h) as text, JSON, CSV, SVG or HTML, and the
 * trace export. Text/JSON/CSV are written here; SVG and HTML are delegated to plot.h.
 * One run gives a run report; several runs give a side-by-side comparison; a budget
 * comparison (optional) adds the budget-matched section.
 */
#ifndef RSA_REPORT_H
#define RSA_REPORT_H

#include <stdio.h>

#include "analysis.h"
#include "err.h"
#include "store/store.h"

enum report_format { REPORT_TEXT = 0, REPORT_JSON = 1, REPORT_CSV = 2, REPORT_SVG = 3, REPORT_HTML = 4 };

/* report_parse_format: "text"|"json"|"csv"|"svg"|"html" -> *f; 0 on success, -1 unknown. */
int report_parse_format(const char *s, enum report_format *f);

/* report_render: write runs[n_runs] (n_runs >= 1) and, when b != NULL, the budget-matched
   comparison, in fmt. Deterministic: the same analyses give the same bytes. */
enum rsa_err report_render(const struct run_analysis *runs, int n_runs, const struct budget_cmp *b,
                           enum report_format fmt, FILE *out, char *err, size_t errlen);

/* report_write: analysis_run(name) (NULL = newest run) then report_render of that one run. */
enum rsa_err report_write(struct store *s, const char *name, enum report_format fmt, FILE *out, char *err,
                          size_t errlen);

/* report_export: one JSON object per trace (JSONL), fields as in docs/architecture.md. */
enum rsa_err report_export(struct store *s, const char *name, FILE *out, char *err, size_t errlen);

#endif
