/*
 * util.h: small helpers every module uses: a capped growable buffer, file
 * reading, hashing (SHA-256 via OpenSSL's libcrypto), time, and safe strings.
 */
#ifndef RSA_UTIL_H
#define RSA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A growable byte buffer, always NUL-terminated, with a hard cap (like curl's dynbuf).
   After a failed append the buffer is freed and stays empty; check every result. */
struct buf {
    char *data;   /* NUL-terminated; NULL while empty */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t max;   /* hard cap on len (0 = 1 GiB) */
};

void buf_init(struct buf *b, size_t max);
enum rsa_err buf_append(struct buf *b, const void *data, size_t n) __attribute__((warn_unused_result));
enum rsa_err buf_puts(struct buf *b, const char *s) __attribute__((warn_unused_result));
enum rsa_err buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), warn_unused_result));
/* buf_take: hand the string to the caller (never NULL: "" for an empty buffer) and reset b. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

/* util_read_file: read a whole file into a malloc'd NUL-terminated string. */
enum rsa_err util_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen);

/* util_sha256_hex: hex SHA-256 of data into out (65 bytes incl. NUL). */
enum rsa_err util_sha256_hex(const void *data, size_t n, char out[65]);

/* util_now_ms: monotonic milliseconds. util_wall_ms: wall-clock ms since the epoch. */
double util_now_ms(void);
int64_t util_wall_ms(void);

/* util_strdup: strdup that returns NULL only for a NULL argument or no memory. */
char *util_strdup(const char *s);
char *util_strndup(const char *s, size_t n);

/* util_errf: snprintf into a caller-owned error buffer (NULL-safe). */
void util_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* util_mix64: splitmix64 finaliser; a good 64-bit hash of x. */
uint64_t util_mix64(uint64_t x);

/* util_hash_str: 64-bit hash of a string (FNV-1a then mix64); stable across builds and machines. */
uint64_t util_hash_str(const char *s);

/* util_dirname: malloc'd directory part of path ("." when none). */
char *util_dirname(const char *path);

/* util_resolve: malloc'd path: p itself when absolute or base is NULL, else base/p. */
char *util_resolve(const char *base, const char *p);

/* util_file_exists: 1 when path names a readable regular file. */
int util_file_exists(const char *path);

#endif
