/* dataset.c: see dataset.h. */
#include "dataset.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/util.h"

#define DATASET_MAX_LINE ((size_t)64 << 20)

/* scalar_text: a JSON string or integer as malloc'd text; NULL when neither. */
static char *scalar_text(const cJSON *v)
{
    if (cJSON_IsString(v))
        return util_strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
            return NULL;
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        return util_strdup(tmp);
    }
    return NULL;
}

static enum rsa_err add_problem(struct dataset *ds, size_t *cap, struct problem p)
{
    if (ds->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct problem *np = realloc(ds->items, nc * sizeof(*np));
        if (np == NULL)
            return RSA_ERR_NOMEM;
        ds->items = np;
        *cap = nc;
    }
    ds->items[ds->n++] = p;
    return RSA_OK;
}

static void problem_free(struct problem *p)
{
    free(p->id);
    free(p->text);
    free(p->answer);
}

static enum rsa_err parse_line(const char *name, size_t lineno, const char *line, size_t n, struct problem *p,
                               char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, n, &end, 0);
    if (o != NULL && end != line + n) {
        /* one value per line: anything after it (a second object) is an error, not ignored */
        cJSON_Delete(o);
        o = NULL;
    }
    if (o == NULL) {
        util_errf(err, errlen, "%s:%zu: not valid JSON", name, lineno);
        return RSA_ERR_PARSE;
    }
    enum rsa_err rc = RSA_ERR_PARSE;
    if (!cJSON_IsObject(o)) {
        util_errf(err, errlen, "%s:%zu: expected a JSON object", name, lineno);
        goto out;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (id == NULL)
        id = cJSON_GetObjectItemCaseSensitive(o, "problem_idx");
    const cJSON *prob = cJSON_GetObjectItemCaseSensitive(o, "problem");
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(o, "answer");
    if (id == NULL) {
        util_errf(err, errlen, "%s:%zu: missing key \"id\" (or \"problem_idx\")", name, lineno);
        goto out;
    }
    if (!cJSON_IsString(prob)) {
        util_errf(err, errlen, "%s:%zu: key \"problem\" %s", name, lineno, prob ? "must be a string" : "is missing");
        goto out;
    }
    if (ans == NULL) {
        util_errf(err, errlen, "%s:%zu: missing key \"answer\"", name, lineno);
        goto out;
    }
    p->id = scalar_text(id);
    p->answer = scalar_text(ans);
    p->text = util_strdup(prob->valuestring);
    if (p->id == NULL || p->answer == NULL || p->text == NULL) {
        util_errf(err, errlen, "%s:%zu: \"%s\" must be a string or an integer", name, lineno,
                  p->id == NULL ? "id" : "answer");
        problem_free(p);
        goto out;
    }
    if (p->id[0] == '\0') {
        util_errf(err, errlen, "%s:%zu: empty id", name, lineno);
        problem_free(p);
        goto out;
    }
    rc = RSA_OK;
out:
    cJSON_Delete(o);
    return rc;
}

enum rsa_err dataset_parse(const char *name, const char *data, size_t len, struct dataset *ds, char *err,
                           size_t errlen)
{
    memset(ds, 0, sizeof(*ds));
    size_t cap = 0, lineno = 0;
    enum rsa_err rc = util_sha256_hex(data, len, ds->sha256);
    if (rc != RSA_OK)
        return rc;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        const char *q = p;
        p = nl ? nl + 1 : end;
        size_t k = n;
        while (k > 0 && (q[k - 1] == '\r' || q[k - 1] == ' ' || q[k - 1] == '\t'))
            k--;
        size_t s = 0;
        while (s < k && (q[s] == ' ' || q[s] == '\t'))
            s++;
        if (s == k)
            continue;
        if (k > DATASET_MAX_LINE) {
            util_errf(err, errlen, "%s:%zu: line longer than %zu bytes", name, lineno, DATASET_MAX_LINE);
            rc = RSA_ERR_PARSE;
            goto fail;
        }
        struct problem pr;
        rc = parse_line(name, lineno, q + s, k - s, &pr, err, errlen);
        if (rc != RSA_OK)
            goto fail;
        for (size_t i = 0; i < ds->n; i++) {
            if (strcmp(ds->items[i].id, pr.id) == 0) {
                util_errf(err, errlen, "%s:%zu: duplicate id \"%s\"", name, lineno, pr.id);
                problem_free(&pr);
                rc = RSA_ERR_PARSE;
                goto fail;
            }
        }
        rc = add_problem(ds, &cap, pr);
        if (rc != RSA_OK) {
            problem_free(&pr);
            goto fail;
        }
    }
    if (ds->n == 0) {
        util_errf(err, errlen, "%s: no problems", name);
        rc = RSA_ERR_PARSE;
        goto fail;
    }
    return RSA_OK;
fail:
    dataset_free(ds);
    return rc;
}

enum rsa_err dataset_load(const char *path, struct dataset *ds, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    memset(ds, 0, sizeof(*ds));
    enum rsa_err rc = util_read_file(path, &data, &len, err, errlen);
    if (rc != RSA_OK)
        return rc;
    rc = dataset_parse(path, data, len, ds, err, errlen);
    free(data);
    return rc;
}

enum rsa_err dataset_filter(struct dataset *ds, const char *ids, char *err, size_t errlen)
{
    if (ids == NULL || ids[0] == '\0')
        return RSA_OK;
    struct problem *kept = calloc(ds->n, sizeof(*kept));
    char *used = calloc(ds->n, 1);
    if (kept == NULL || used == NULL) {
        free(kept);
        free(used);
        return RSA_ERR_NOMEM;
    }
    size_t nk = 0;
    enum rsa_err rc = RSA_OK;
    const char *p = ids;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0) {
            size_t i;
            for (i = 0; i < ds->n; i++)
                if (strlen(ds->items[i].id) == n && strncmp(ds->items[i].id, p, n) == 0)
                    break;
            if (i == ds->n) {
                util_errf(err, errlen, "run.problems: id \"%.*s\" is not in the dataset", (int)n, p);
                rc = RSA_ERR_CONFIG;
                break;
            }
            if (!used[i]) {
                used[i] = 1;
                kept[nk++] = ds->items[i];
            }
        }
        p = e;
    }
    if (rc != RSA_OK || nk == 0) {
        if (rc == RSA_OK) {
            util_errf(err, errlen, "run.problems: no ids given");
            rc = RSA_ERR_CONFIG;
        }
        free(kept);
        free(used);
        return rc;
    }
    for (size_t i = 0; i < ds->n; i++)
        if (!used[i])
            problem_free(&ds->items[i]);
    free(ds->items);
    free(used);
    ds->items = kept;
    ds->n = nk;
    return RSA_OK;
}

void dataset_free(struct dataset *ds)
{
    if (ds == NULL)
        return;
    for (size_t i = 0; i < ds->n; i++)
        problem_free(&ds->items[i]);
    free(ds->items);
    memset(ds, 0, sizeof(*ds));
}
