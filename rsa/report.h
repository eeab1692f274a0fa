/*
 * report.h: per-round metrics of a stored run, and the trace export.
 *
 * Accuracies are fractions in [0, 1]: for every (problem, repeat) and round,
 * mean_acc is the fraction of the N traces that are correct (avg@N, the RSA
 * "Pass@1"), pass_at_n is 1 when any is correct, maj_at_n scores the largest
 * cluster of equal normalised answers (traces with no answer do not vote; ties go
 * to the cluster formed first in slot order); each is averaged over problems and
 * repeats. decode_tokens and prefill_tokens are totals over the run for the round.
 */
#ifndef RSA_REPORT_H
#define RSA_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "store/store.h"

enum report_format { REPORT_TEXT = 0, REPORT_JSON = 1, REPORT_CSV = 2 };

struct round_metrics {
    int round;
    int groups;              /* (problem, repeat) pairs with traces in this round */
    int traces;
    int graded;              /* traces with a verdict */
    double mean_acc, pass_at_n, maj_at_n;
    int64_t decode_tokens;   /* sum of completion tokens */
    int64_t prefill_tokens;  /* sum of prompt tokens */
    int finish_stop, finish_length, finish_other;
    int no_answer;           /* traces with no extracted answer */
    int think_unclosed;      /* traces that never closed their reasoning */
};

/* report_metrics: compute metrics for every round of run_id; *out is malloc'd ([*n]). */
enum rsa_err report_metrics(struct store *s, int64_t run_id, int rounds, struct round_metrics **out, int *n,
                            char *err, size_t errlen);

/* report_write: print the report of run `name` (NULL = the newest run) in a format. */
enum rsa_err report_write(struct store *s, const char *name, enum report_format fmt, FILE *out, char *err,
                          size_t errlen);

/* report_export: one JSON object per trace (JSONL), fields as in docs/architecture.md. */
enum rsa_err report_export(struct store *s, const char *name, FILE *out, char *err, size_t errlen);

#endif
