/*
 * safetensors.c: header parser and validator, read-only mmap loader (one file or a sharded set
 * named by model.safetensors.index.json), name lookup by hash, and a streaming writer whose
 * files the reference Python/Rust `safetensors` library reads.
 *
 * On-disk layout: u64 little-endian N, N bytes of JSON header (padded with spaces), data block.
 * Every header is checked completely before any pointer into the mapping is handed out.
 */
#include "engine/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rsa/util.h"

/* The reference implementation refuses headers above 100 MB (MAX_HEADER_SIZE). */
#define ST_MAX_HEADER 100000000ull
/* JSON numbers are doubles: integers above 2^53 are not exact. */
#define ST_MAX_JSON_INT 9007199254740992.0

static const struct {
    const char *name;
    size_t size;
} dtype_info[ST_DTYPE_COUNT] = {
    [ST_F32] = {"F32", 4},        [ST_F16] = {"F16", 2},          [ST_BF16] = {"BF16", 2},
    [ST_F64] = {"F64", 8},        [ST_I64] = {"I64", 8},          [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},        [ST_I8] = {"I8", 1},            [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},      [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
    [ST_U16] = {"U16", 2},        [ST_U32] = {"U32", 4},          [ST_U64] = {"U64", 8},
};

size_t st_dtype_size(enum st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtype_info[d].size : 0;
}

const char *st_dtype_name(enum st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtype_info[d].name : "?";
}

bool st_dtype_parse(const char *s, enum st_dtype *out)
{
    if (s == NULL)
        return false;
    for (int i = 0; i < ST_DTYPE_COUNT; i++) {
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (enum st_dtype)i;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ header parsing */

void st_tensors_free(struct st_tensor *t, size_t n)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

/* json_uint: a JSON number that is a non-negative integer <= 2^53 into *out. */
static bool json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d < 0 || d > ST_MAX_JSON_INT || floor(d) != d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static int cmp_offset(const void *a, const void *b)
{
    const struct st_tensor *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes)
        return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name_ptr(const void *a, const void *b)
{
    const struct st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* parse_entry: one "NAME": {dtype, shape, data_offsets} entry into *t (name already set). */
static enum rsa_err parse_entry(const cJSON *e, uint64_t data_len, const char *fname, struct st_tensor *t,
                                char *err, size_t errlen)
{
    const char *name = t->name;
    if (!cJSON_IsObject(e)) {
        util_errf(err, errlen, "%s: tensor '%s': header entry is not a JSON object", fname, name);
        return RSA_ERR_PARSE;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dt)) {
        util_errf(err, errlen, "%s: tensor '%s': \"dtype\" missing or not a string", fname, name);
        return RSA_ERR_PARSE;
    }
    if (!st_dtype_parse(dt->valuestring, &t->dtype)) {
        util_errf(err, errlen, "%s: tensor '%s': unknown dtype \"%.32s\"", fname, name, dt->valuestring);
        return RSA_ERR_PARSE;
    }
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape)) {
        util_errf(err, errlen, "%s: tensor '%s': \"shape\" missing or not an array", fname, name);
        return RSA_ERR_PARSE;
    }
    int nd = cJSON_GetArraySize(shape);
    if (nd > ST_MAX_DIMS) {
        util_errf(err, errlen, "%s: tensor '%s': %d dimensions (at most %d)", fname, name, nd, ST_MAX_DIMS);
        return RSA_ERR_PARSE;
    }
    t->ndim = nd;
    uint64_t count = 1;
    bool overflow = false;
    int k = 0;
    for (const cJSON *d = shape->child; d != NULL; d = d->next, k++) {
        uint64_t v;
        if (!json_uint(d, &v)) {
            util_errf(err, errlen, "%s: tensor '%s': shape[%d] is not a non-negative integer", fname, name, k);
            return RSA_ERR_PARSE;
        }
        t->shape[k] = (int64_t)v;
        if (__builtin_mul_overflow(count, v, &count))
            overflow = true;
    }
    if (overflow || __builtin_mul_overflow(count, (uint64_t)st_dtype_size(t->dtype), &t->nbytes)) {
        util_errf(err, errlen, "%s: tensor '%s': shape product overflows", fname, name);
        return RSA_ERR_PARSE;
    }
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &b) ||
        !json_uint(off->child->next, &en)) {
        util_errf(err, errlen, "%s: tensor '%s': \"data_offsets\" must be [begin, end] of non-negative integers",
                  fname, name);
        return RSA_ERR_PARSE;
    }
    if (b > en || en > data_len) {
        util_errf(err, errlen,
                  "%s: tensor '%s': data_offsets [%llu, %llu] outside the data block of %llu bytes", fname, name,
                  (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
        return RSA_ERR_PARSE;
    }
    if (en - b != t->nbytes) {
        util_errf(err, errlen, "%s: tensor '%s': data_offsets span %llu bytes but %s shape needs %llu", fname,
                  name, (unsigned long long)(en - b), st_dtype_name(t->dtype), (unsigned long long)t->nbytes);
        return RSA_ERR_PARSE;
    }
    t->offset = b;
    return RSA_OK;
}

/* parse_metadata: "__metadata__" must be an object of string values; *meta gets its JSON text. */
static enum rsa_err parse_metadata(const cJSON *m, const char *fname, char **meta, char *err, size_t errlen)
{
    if (!cJSON_IsObject(m)) {
        util_errf(err, errlen, "%s: tensor '__metadata__': not a JSON object", fname);
        return RSA_ERR_PARSE;
    }
    for (const cJSON *v = m->child; v != NULL; v = v->next) {
        if (!cJSON_IsString(v)) {
            util_errf(err, errlen, "%s: tensor '__metadata__': value of \"%.64s\" is not a string", fname,
                      v->string ? v->string : "");
            return RSA_ERR_PARSE;
        }
    }
    if (meta != NULL) {
        *meta = cJSON_PrintUnformatted(m);
        if (*meta == NULL) {
            util_errf(err, errlen, "%s: out of memory", fname);
            return RSA_ERR_NOMEM;
        }
    }
    return RSA_OK;
}

enum rsa_err st_parse_header(const char *json, size_t len, uint64_t data_len, const char *fname,
                             struct st_tensor **out, size_t *n, char **meta, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (meta != NULL)
        *meta = NULL;
    if (fname == NULL)
        fname = "(header)";
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (root == NULL) {
        util_errf(err, errlen, "%s: tensor '(header)': header is not valid JSON", fname);
        return RSA_ERR_PARSE;
    }
    /* only whitespace (the writer's space padding) may follow the JSON value */
    for (const char *p = end; p != NULL && p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            util_errf(err, errlen, "%s: tensor '(header)': trailing bytes after the header JSON", fname);
            return RSA_ERR_PARSE;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        util_errf(err, errlen, "%s: tensor '(header)': header is not a JSON object", fname);
        return RSA_ERR_PARSE;
    }
    enum rsa_err rc = RSA_OK;
    size_t cap = (size_t)cJSON_GetArraySize(root);
    struct st_tensor *t = calloc(cap ? cap : 1, sizeof(*t));
    struct st_tensor **byname = NULL;
    char *m = NULL;
    size_t cnt = 0;
    bool seen_meta = false;
    if (t == NULL) {
        rc = RSA_ERR_NOMEM;
        util_errf(err, errlen, "%s: out of memory", fname);
        goto done;
    }
    for (const cJSON *e = root->child; e != NULL; e = e->next) {
        const char *name = e->string ? e->string : "";
        if (strcmp(name, "__metadata__") == 0) {
            if (seen_meta) {
                rc = RSA_ERR_PARSE;
                util_errf(err, errlen, "%s: tensor '__metadata__': appears twice", fname);
                goto done;
            }
            seen_meta = true;
            if ((rc = parse_metadata(e, fname, meta != NULL ? &m : NULL, err, errlen)) != RSA_OK)
                goto done;
            continue;
        }
        struct st_tensor *ti = &t[cnt];
        ti->name = util_strdup(name);
        if (ti->name == NULL) {
            rc = RSA_ERR_NOMEM;
            util_errf(err, errlen, "%s: out of memory", fname);
            goto done;
        }
        cnt++;
        if ((rc = parse_entry(e, data_len, fname, ti, err, errlen)) != RSA_OK)
            goto done;
    }
    /* names unique: sort pointers by name, compare neighbours */
    if (cnt > 1) {
        byname = malloc(cnt * sizeof(*byname));
        if (byname == NULL) {
            rc = RSA_ERR_NOMEM;
            util_errf(err, errlen, "%s: out of memory", fname);
            goto done;
        }
        for (size_t i = 0; i < cnt; i++)
            byname[i] = &t[i];
        qsort(byname, cnt, sizeof(*byname), cmp_name_ptr);
        for (size_t i = 1; i < cnt; i++) {
            if (strcmp(byname[i - 1]->name, byname[i]->name) == 0) {
                rc = RSA_ERR_PARSE;
                util_errf(err, errlen, "%s: tensor '%s': name appears twice in the header", fname,
                          byname[i]->name);
                goto done;
            }
        }
    }
    /* no two non-empty tensors overlap */
    qsort(t, cnt, sizeof(*t), cmp_offset);
    uint64_t max_end = 0;
    const char *max_name = NULL;
    for (size_t i = 0; i < cnt; i++) {
        if (t[i].nbytes == 0)
            continue;
        if (max_name != NULL && t[i].offset < max_end) {
            rc = RSA_ERR_PARSE;
            util_errf(err, errlen, "%s: tensor '%s': data overlaps tensor '%s'", fname, t[i].name, max_name);
            goto done;
        }
        max_end = t[i].offset + t[i].nbytes;
        max_name = t[i].name;
    }
done:
    free(byname);
    cJSON_Delete(root);
    if (rc != RSA_OK) {
        st_tensors_free(t, cnt);
        free(m);
        return rc;
    }
    if (cnt == 0) {
        free(t);
        t = NULL;
    }
    *out = t;
    *n = cnt;
    if (meta != NULL)
        *meta = m;
    return RSA_OK;
}

/* ------------------------------------------------------------------ mapped sets */

struct st_file {
    char *path;
    char *base;        /* basename, what st_tensor.file points at */
    void *map;
    size_t size;
};

struct st_set {
    struct st_file *files;
    size_t nfiles;
    struct st_tensor *t;
    size_t n;
    size_t *slots;     /* hash table of index + 1 (0 = empty), nslots a power of two */
    size_t nslots;
    char *meta;
    uint64_t total;
};

size_t st_count(const struct st_set *s)
{
    return s ? s->n : 0;
}

struct st_tensor *st_at(const struct st_set *s, size_t i)
{
    return s != NULL && i < s->n ? &s->t[i] : NULL;
}

const char *st_metadata(const struct st_set *s)
{
    return s ? s->meta : NULL;
}

uint64_t st_total_bytes(const struct st_set *s)
{
    return s ? s->total : 0;
}

struct st_tensor *st_find(const struct st_set *s, const char *name)
{
    if (s == NULL || name == NULL || s->nslots == 0)
        return NULL;
    size_t mask = s->nslots - 1;
    for (size_t h = (size_t)util_hash_str(name) & mask;; h = (h + 1) & mask) {
        size_t v = s->slots[h];
        if (v == 0)
            return NULL;
        if (strcmp(s->t[v - 1].name, name) == 0)
            return &s->t[v - 1];
    }
}

void st_close(struct st_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i].map != NULL)
            munmap(s->files[i].map, s->files[i].size);
        free(s->files[i].path);
    }
    free(s->files);
    st_tensors_free(s->t, s->n);
    free(s->slots);
    free(s->meta);
    free(s);
}

/* build_index: fill the hash table and the byte total; a name seen twice is an error naming
 * both files. */
static enum rsa_err build_index(struct st_set *s, char *err, size_t errlen)
{
    size_t ns = 16;
    while (ns < 2 * s->n)
        ns *= 2;
    s->slots = calloc(ns, sizeof(*s->slots));
    if (s->slots == NULL) {
        util_errf(err, errlen, "out of memory indexing %zu tensors", s->n);
        return RSA_ERR_NOMEM;
    }
    s->nslots = ns;
    s->total = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t h = (size_t)util_hash_str(s->t[i].name) & (ns - 1);
        while (s->slots[h] != 0) {
            const struct st_tensor *o = &s->t[s->slots[h] - 1];
            if (strcmp(o->name, s->t[i].name) == 0) {
                util_errf(err, errlen, "tensor '%s' is in both %s and %s", s->t[i].name, o->file, s->t[i].file);
                return RSA_ERR_PARSE;
            }
            h = (h + 1) & (ns - 1);
        }
        s->slots[h] = i + 1;
        s->total += s->t[i].nbytes;
    }
    return RSA_OK;
}

/* map_file: open, map and validate one file into f; its tensors (absolute offsets, data and
 * file set) are returned in *t / *n, its metadata in *meta. */
static enum rsa_err map_file(const char *path, struct st_file *f, struct st_tensor **t, size_t *n, char **meta,
                             char *err, size_t errlen)
{
    *t = NULL;
    *n = 0;
    *meta = NULL;
    memset(f, 0, sizeof(*f));
    f->path = util_strdup(path);
    if (f->path == NULL) {
        util_errf(err, errlen, "%s: out of memory", path);
        return RSA_ERR_NOMEM;
    }
    const char *slash = strrchr(f->path, '/');
    f->base = slash ? (char *)slash + 1 : f->path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        return RSA_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return RSA_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        util_errf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return RSA_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8) {
        util_errf(err, errlen, "%s: tensor '(header)': truncated file (%llu bytes, no 8-byte header length)",
                  path, (unsigned long long)size);
        close(fd);
        return RSA_ERR_PARSE;
    }
    if (size > (uint64_t)SIZE_MAX) {
        util_errf(err, errlen, "%s: file too large to map", path);
        close(fd);
        return RSA_ERR_IO;
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        util_errf(err, errlen, "%s: mmap: %s", path, strerror(saved));
        return RSA_ERR_IO;
    }
    f->map = map;
    f->size = (size_t)size;
    const unsigned char *p = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen > size - 8) {
        util_errf(err, errlen, "%s: tensor '(header)': header length %llu goes beyond the file (%llu bytes)",
                  path, (unsigned long long)hlen, (unsigned long long)size);
        return RSA_ERR_PARSE;
    }
    if (hlen > ST_MAX_HEADER) {
        util_errf(err, errlen, "%s: tensor '(header)': header length %llu exceeds the 100 MB limit", path,
                  (unsigned long long)hlen);
        return RSA_ERR_PARSE;
    }
    uint64_t data_start = 8 + hlen;
    enum rsa_err rc = st_parse_header((const char *)p + 8, (size_t)hlen, size - data_start, path, t, n, meta,
                                      err, errlen);
    if (rc != RSA_OK)
        return rc;
    for (size_t i = 0; i < *n; i++) {
        (*t)[i].offset += data_start;
        (*t)[i].data = p + (*t)[i].offset;
        (*t)[i].file = f->base;
    }
    return RSA_OK;
}

static struct st_set *set_new(size_t nfiles)
{
    struct st_set *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->files = calloc(nfiles ? nfiles : 1, sizeof(*s->files));
    if (s->files == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

enum rsa_err st_open_file(const char *path, struct st_set **out, char *err, size_t errlen)
{
    *out = NULL;
    struct st_set *s = set_new(1);
    if (s == NULL) {
        util_errf(err, errlen, "%s: out of memory", path);
        return RSA_ERR_NOMEM;
    }
    s->nfiles = 1;
    enum rsa_err rc = map_file(path, &s->files[0], &s->t, &s->n, &s->meta, err, errlen);
    if (rc == RSA_OK)
        rc = build_index(s, err, errlen);
    if (rc != RSA_OK) {
        st_close(s);
        return rc;
    }
    *out = s;
    return RSA_OK;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* shard_name_ok: a plain file name: non-empty, no '/', not "." or "..". */
static bool shard_name_ok(const char *s)
{
    return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* open_index: the sharded set named by index (a model.safetensors.index.json in dir). */
static enum rsa_err open_index(const char *dir, const char *index, struct st_set **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    enum rsa_err rc = util_read_file(index, &text, &len, err, errlen);
    if (rc != RSA_OK)
        return rc;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const char **names = NULL;
    struct st_set *s = NULL;
    size_t nnames = 0;
    if (root == NULL || !cJSON_IsObject(root)) {
        util_errf(err, errlen, "%s: not a JSON object", index);
        rc = RSA_ERR_PARSE;
        goto done;
    }
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm)) {
        util_errf(err, errlen, "%s: \"weight_map\" missing or not an object", index);
        rc = RSA_ERR_PARSE;
        goto done;
    }
    size_t nent = (size_t)cJSON_GetArraySize(wm);
    if (nent == 0) {
        util_errf(err, errlen, "%s: \"weight_map\" is empty", index);
        rc = RSA_ERR_PARSE;
        goto done;
    }
    names = malloc(nent * sizeof(*names));
    if (names == NULL) {
        util_errf(err, errlen, "%s: out of memory", index);
        rc = RSA_ERR_NOMEM;
        goto done;
    }
    for (const cJSON *e = wm->child; e != NULL; e = e->next) {
        if (!cJSON_IsString(e) || !shard_name_ok(e->valuestring)) {
            util_errf(err, errlen, "%s: weight_map entry for tensor '%s' is not a plain shard file name", index,
                      e->string ? e->string : "");
            rc = RSA_ERR_PARSE;
            goto done;
        }
        names[nnames++] = e->valuestring;
    }
    /* distinct shard names, sorted: the set's stable file order */
    qsort(names, nnames, sizeof(*names), cmp_str_ptr);
    size_t nd = 0;
    for (size_t i = 0; i < nnames; i++)
        if (nd == 0 || strcmp(names[nd - 1], names[i]) != 0)
            names[nd++] = names[i];
    s = set_new(nd);
    if (s == NULL) {
        util_errf(err, errlen, "%s: out of memory", index);
        rc = RSA_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < nd; i++) {
        char *path = util_resolve(dir, names[i]);
        if (path == NULL) {
            util_errf(err, errlen, "%s: out of memory", index);
            rc = RSA_ERR_NOMEM;
            goto done;
        }
        struct st_tensor *t = NULL;
        size_t n = 0;
        char *meta = NULL;
        rc = map_file(path, &s->files[i], &t, &n, &meta, err, errlen);
        free(path);
        s->nfiles = i + 1;
        if (rc != RSA_OK)
            goto done;
        if (i == 0)
            s->meta = meta;
        else
            free(meta);
        if (n > 0) {
            struct st_tensor *all = realloc(s->t, (s->n + n) * sizeof(*all));
            if (all == NULL) {
                st_tensors_free(t, n);
                util_errf(err, errlen, "%s: out of memory", index);
                rc = RSA_ERR_NOMEM;
                goto done;
            }
            memcpy(all + s->n, t, n * sizeof(*t));
            free(t);
            s->t = all;
            s->n += n;
        }
    }
    if ((rc = build_index(s, err, errlen)) != RSA_OK)
        goto done;
    /* every tensor the map lists is in the shard it names */
    for (const cJSON *e = wm->child; e != NULL; e = e->next) {
        const char *tn = e->string ? e->string : "";
        const struct st_tensor *t = st_find(s, tn);
        if (t == NULL) {
            util_errf(err, errlen, "%s: tensor '%s' is listed for shard %s but that shard lacks it", index, tn,
                      e->valuestring);
            rc = RSA_ERR_PARSE;
            goto done;
        }
        if (strcmp(t->file, e->valuestring) != 0) {
            util_errf(err, errlen, "%s: tensor '%s' is listed for shard %s but is in %s", index, tn,
                      e->valuestring, t->file);
            rc = RSA_ERR_PARSE;
            goto done;
        }
    }
done:
    free(names);
    cJSON_Delete(root);
    if (rc != RSA_OK) {
        st_close(s);
        return rc;
    }
    *out = s;
    return RSA_OK;
}

enum rsa_err st_open_dir(const char *dir, struct st_set **out, char *err, size_t errlen)
{
    *out = NULL;
    char *index = util_resolve(dir, "model.safetensors.index.json");
    char *single = util_resolve(dir, "model.safetensors");
    enum rsa_err rc;
    struct stat st;
    if (index == NULL || single == NULL) {
        util_errf(err, errlen, "%s: out of memory", dir);
        rc = RSA_ERR_NOMEM;
    } else if (stat(index, &st) == 0) {
        rc = open_index(dir, index, out, err, errlen);
    } else if (stat(single, &st) == 0) {
        rc = st_open_file(single, out, err, errlen);
    } else {
        util_errf(err, errlen, "%s: neither model.safetensors.index.json nor model.safetensors exists", dir);
        rc = RSA_ERR_NOT_FOUND;
    }
    free(index);
    free(single);
    return rc;
}

/* ------------------------------------------------------------------ writer */

struct st_writer {
    char *path;
    int fd;
    uint64_t total;     /* data bytes the header declares */
    uint64_t written;
    bool failed;
};

/* utf8_ok: s is well-formed UTF-8 (serde_json in the reference reader insists). */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (n < 0 || (n == 1 && c < 0xc2) || (n == 3 && c > 0xf4))
            return false;
        uint32_t cp = n == 0 ? c : c & (0x3fu >> n);
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += n + 1;
    }
    return true;
}

/* json_str: append s as a JSON string literal. */
static enum rsa_err json_str(struct buf *b, const char *s)
{
    enum rsa_err rc = buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; rc == RSA_OK && *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            rc = buf_append(b, esc, 2);
        } else if (*p < 0x20) {
            rc = buf_printf(b, "\\u%04x", *p);
        } else {
            rc = buf_append(b, p, 1);
        }
    }
    if (rc == RSA_OK)
        rc = buf_puts(b, "\"");
    return rc;
}

static bool write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* writer_header: the header JSON (padded to a multiple of 8) into *out; USAGE errors for bad
 * tensor descriptions or metadata. */
static enum rsa_err writer_header(const char *path, const struct st_wtensor *t, size_t n, const char *metadata,
                                  struct buf *b, uint64_t *total, char *err, size_t errlen)
{
    enum rsa_err rc = buf_puts(b, "{");
    bool first = true;
    if (rc == RSA_OK && metadata != NULL) {
        cJSON *m = cJSON_Parse(metadata);
        bool ok = cJSON_IsObject(m);
        for (const cJSON *v = ok ? m->child : NULL; v != NULL; v = v->next)
            if (!cJSON_IsString(v) || !utf8_ok(v->string) || !utf8_ok(v->valuestring))
                ok = false;
        if (!ok) {
            cJSON_Delete(m);
            util_errf(err, errlen, "%s: metadata must be a JSON object of UTF-8 string values", path);
            return RSA_ERR_USAGE;
        }
        rc = buf_puts(b, "\"__metadata__\":{");
        for (const cJSON *v = m->child; rc == RSA_OK && v != NULL; v = v->next) {
            if (v != m->child)
                rc = buf_puts(b, ",");
            if (rc == RSA_OK)
                rc = json_str(b, v->string);
            if (rc == RSA_OK)
                rc = buf_puts(b, ":");
            if (rc == RSA_OK)
                rc = json_str(b, v->valuestring);
        }
        if (rc == RSA_OK)
            rc = buf_puts(b, "}");
        cJSON_Delete(m);
        first = false;
    }
    uint64_t off = 0;
    for (size_t i = 0; rc == RSA_OK && i < n; i++) {
        const char *name = t[i].name;
        if (name == NULL || name[0] == '\0' || strcmp(name, "__metadata__") == 0 || !utf8_ok(name)) {
            util_errf(err, errlen, "%s: tensor %zu: name missing, reserved or not UTF-8", path, i);
            return RSA_ERR_USAGE;
        }
        if ((unsigned)t[i].dtype >= ST_DTYPE_COUNT || t[i].ndim < 0 || t[i].ndim > ST_MAX_DIMS) {
            util_errf(err, errlen, "%s: tensor '%s': bad dtype or ndim", path, name);
            return RSA_ERR_USAGE;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(t[j].name, name) == 0) {
                util_errf(err, errlen, "%s: tensor '%s': name given twice", path, name);
                return RSA_ERR_USAGE;
            }
        }
        uint64_t nb = st_dtype_size(t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) {
            if (t[i].shape[d] < 0 || (double)t[i].shape[d] > ST_MAX_JSON_INT ||
                __builtin_mul_overflow(nb, (uint64_t)t[i].shape[d], &nb)) {
                util_errf(err, errlen, "%s: tensor '%s': bad shape", path, name);
                return RSA_ERR_USAGE;
            }
        }
        uint64_t end;
        if (__builtin_add_overflow(off, nb, &end) || (double)end > ST_MAX_JSON_INT) {
            util_errf(err, errlen, "%s: tensor '%s': data too large", path, name);
            return RSA_ERR_USAGE;
        }
        if (!first)
            rc = buf_puts(b, ",");
        first = false;
        if (rc == RSA_OK)
            rc = json_str(b, name);
        if (rc == RSA_OK)
            rc = buf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t[i].dtype));
        for (int d = 0; rc == RSA_OK && d < t[i].ndim; d++)
            rc = buf_printf(b, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        if (rc == RSA_OK)
            rc = buf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                            (unsigned long long)end);
        off = end;
    }
    if (rc == RSA_OK)
        rc = buf_puts(b, "}");
    while (rc == RSA_OK && b->len % 8 != 0)
        rc = buf_puts(b, " ");
    if (rc != RSA_OK) {
        util_errf(err, errlen, "%s: out of memory building the header", path);
        return RSA_ERR_NOMEM;
    }
    if (b->len > ST_MAX_HEADER) {
        util_errf(err, errlen, "%s: header of %zu bytes exceeds the 100 MB limit", path, b->len);
        return RSA_ERR_USAGE;
    }
    *total = off;
    return RSA_OK;
}

enum rsa_err st_writer_open(const char *path, const struct st_wtensor *t, size_t n, const char *metadata,
                            struct st_writer **out, char *err, size_t errlen)
{
    *out = NULL;
    struct buf b;
    buf_init(&b, ST_MAX_HEADER + 8);
    uint64_t total = 0;
    enum rsa_err rc = writer_header(path, t, n, metadata, &b, &total, err, errlen);
    if (rc != RSA_OK) {
        buf_free(&b);
        return rc;
    }
    struct st_writer *w = calloc(1, sizeof(*w));
    char *p = util_strdup(path);
    if (w == NULL || p == NULL) {
        free(w);
        free(p);
        buf_free(&b);
        util_errf(err, errlen, "%s: out of memory", path);
        return RSA_ERR_NOMEM;
    }
    w->path = p;
    w->total = total;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        buf_free(&b);
        free(w->path);
        free(w);
        return RSA_ERR_IO;
    }
    unsigned char prefix[8];
    uint64_t hl = b.len;
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)(hl >> (8 * i));
    bool ok = write_all(w->fd, prefix, 8) && write_all(w->fd, b.data, b.len);
    buf_free(&b);
    if (!ok) {
        util_errf(err, errlen, "%s: write: %s", path, strerror(errno));
        close(w->fd);
        unlink(w->path);
        free(w->path);
        free(w);
        return RSA_ERR_IO;
    }
    *out = w;
    return RSA_OK;
}

enum rsa_err st_writer_write(struct st_writer *w, const void *data, size_t nbytes, char *err, size_t errlen)
{
    if (w->failed) {
        util_errf(err, errlen, "%s: an earlier write failed", w->path);
        return RSA_ERR_IO;
    }
    if ((uint64_t)nbytes > w->total - w->written) {
        w->failed = true;
        util_errf(err, errlen, "%s: %zu more bytes would exceed the %llu data bytes the header declares", w->path,
                  nbytes, (unsigned long long)w->total);
        return RSA_ERR_USAGE;
    }
    if (!write_all(w->fd, data, nbytes)) {
        w->failed = true;
        util_errf(err, errlen, "%s: write: %s", w->path, strerror(errno));
        return RSA_ERR_IO;
    }
    w->written += nbytes;
    return RSA_OK;
}

enum rsa_err st_writer_close(struct st_writer *w, char *err, size_t errlen)
{
    if (w == NULL)
        return RSA_OK;
    enum rsa_err rc = RSA_OK;
    if (w->failed) {
        util_errf(err, errlen, "%s: incomplete after a failed write; removed", w->path);
        rc = RSA_ERR_IO;
    } else if (w->written != w->total) {
        util_errf(err, errlen, "%s: %llu of %llu declared data bytes written; removed", w->path,
                  (unsigned long long)w->written, (unsigned long long)w->total);
        rc = RSA_ERR_USAGE;
    }
    if (close(w->fd) != 0 && rc == RSA_OK) {
        util_errf(err, errlen, "%s: close: %s", w->path, strerror(errno));
        rc = RSA_ERR_IO;
    }
    if (rc != RSA_OK)
        unlink(w->path);
    free(w->path);
    free(w);
    return rc;
}
