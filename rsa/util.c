/* util.c: see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BUF_DEFAULT_MAX ((size_t)1 << 30)

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : BUF_DEFAULT_MAX;
}

enum rsa_err buf_append(struct buf *b, const void *data, size_t n)
{
    if (b->max == 0)
        b->max = BUF_DEFAULT_MAX;
    if (n > b->max - b->len) {
        buf_free(b);
        return RSA_ERR_NOMEM;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            buf_free(b);
            return RSA_ERR_NOMEM;
        }
        b->data = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RSA_OK;
}

enum rsa_err buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum rsa_err buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return RSA_ERR_PARSE;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return RSA_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    enum rsa_err e = buf_append(b, big, (size_t)n);
    free(big);
    return e;
}

char *buf_take(struct buf *b)
{
    char *s = b->data;
    size_t max = b->max;
    if (s == NULL)
        s = calloc(1, 1);
    memset(b, 0, sizeof(*b));
    b->max = max;
    return s;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

enum rsa_err util_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        return RSA_ERR_IO;
    }
    struct buf b;
    buf_init(&b, 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) != RSA_OK) {
            fclose(f);
            util_errf(err, errlen, "%s: out of memory", path);
            return RSA_ERR_NOMEM;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        util_errf(err, errlen, "%s: read error", path);
        return RSA_ERR_IO;
    }
    if (len != NULL)
        *len = b.len;
    *out = buf_take(&b);
    return *out ? RSA_OK : RSA_ERR_NOMEM;
}

enum rsa_err util_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        out[0] = '\0';
        return RSA_ERR_UNSUPPORTED;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return RSA_OK;
}

double util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t util_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *util_strdup(const char *s)
{
    return s ? util_strndup(s, strlen(s)) : NULL;
}

char *util_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void util_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

uint64_t util_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t util_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return util_mix64(h);
}

char *util_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return util_strdup(".");
    if (slash == path)
        return util_strdup("/");
    return util_strndup(path, (size_t)(slash - path));
}

char *util_resolve(const char *base, const char *p)
{
    if (p[0] == '/' || base == NULL || base[0] == '\0')
        return util_strdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", base, p);
    return out;
}

int util_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
