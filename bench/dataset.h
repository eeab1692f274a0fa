/*
 * dataset.h: evaluation problems from JSONL.
 *
 * One JSON object per line with `problem` (string) and `answer` (string or
 * integer), identified by `id` (string or integer) or, for MathArena dumps,
 * `problem_idx`. Blank lines are skipped. A bad line is an error naming file:line.
 */
#ifndef RSA_DATASET_H
#define RSA_DATASET_H

#include <stddef.h>

#include "rsa/err.h"

struct problem {
    char *id;       /* unique within the dataset */
    char *text;     /* problem statement */
    char *answer;   /* gold answer as text */
};

struct dataset {
    struct problem *items;
    size_t n;
    char sha256[65];  /* hash of the file's bytes */
};

/* dataset_load: read path; on error *ds is empty and err names file:line. */
enum rsa_err dataset_load(const char *path, struct dataset *ds, char *err, size_t errlen);

/* dataset_parse: the same from a buffer (name is used in messages). */
enum rsa_err dataset_parse(const char *name, const char *data, size_t len, struct dataset *ds, char *err,
                           size_t errlen);

/* dataset_filter: keep only the ids in a comma-separated list, in the list's order.
   An id not in the dataset is an error naming it. "" keeps everything. */
enum rsa_err dataset_filter(struct dataset *ds, const char *ids, char *err, size_t errlen);

void dataset_free(struct dataset *ds);

#endif
