/*
 * fuzz_dataset.c: dataset_parse on arbitrary JSONL bytes; on success, filter by the
 * first and last ids (and an unknown one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dataset ds;
    char err[512];
    if (dataset_parse("fuzz.jsonl", (const char *)data, size, &ds, err, sizeof(err)) != RSA_OK)
        return 0;
    if (ds.n == 0 || ds.items == NULL)
        abort(); /* success means at least one problem */
    for (size_t i = 0; i < ds.n; i++)
        if (ds.items[i].id == NULL || ds.items[i].text == NULL || ds.items[i].answer == NULL ||
            ds.items[i].id[0] == '\0')
            abort();
    size_t n = strlen(ds.items[0].id) + strlen(ds.items[ds.n - 1].id) + 2;
    char *ids = malloc(n);
    if (ids != NULL) {
        strcpy(ids, ds.items[ds.n - 1].id);
        strcat(ids, ",");
        strcat(ids, ds.items[0].id);
        /* ids containing ',' or spaces cannot be named: an error is fine, a crash is not */
        dataset_filter(&ds, ids, err, sizeof(err));
        free(ids);
    }
    dataset_filter(&ds, "\x01no-such-id", err, sizeof(err));
    dataset_free(&ds);
    return 0;
}
