/*
 * err.h: the project's one error enum.
 *
 * Library code returns these codes and writes detail into a caller-owned
 * buffer (char *err, size_t errlen); only main() prints and picks an exit code.
 * Append only: never renumber, never reuse a value.
 */
#ifndef RSA_ERR_H
#define RSA_ERR_H

#include <stddef.h>

enum rsa_err {
    RSA_OK = 0,
    RSA_ERR_NOMEM,       /* 1: allocation failed */
    RSA_ERR_IO,          /* 2: a file could not be read or written */
    RSA_ERR_PARSE,       /* 3: malformed outside data (JSON, JSONL, INI, SSE) */
    RSA_ERR_CONFIG,      /* 4: a config key is unknown, mistyped or out of range */
    RSA_ERR_USAGE,       /* 5: bad command-line usage */
    RSA_ERR_HTTP,        /* 6: transport failure (connect, reset, timeout) */
    RSA_ERR_HTTP_STATUS, /* 7: the server answered with an error status */
    RSA_ERR_PROTOCOL,    /* 8: the server's answer broke the protocol */
    RSA_ERR_DB,          /* 9: SQLite failed */
    RSA_ERR_CONFLICT,    /* 10: a run of that name exists with another config */
    RSA_ERR_UNSUPPORTED, /* 11: a feature that this build or server lacks */
    RSA_ERR_NOT_FOUND,   /* 12: a named thing (run, file, key) does not exist */
    RSA_ERR_INTERRUPTED, /* 13: stopped by a signal or a shutdown request */
    RSA_ERR_BUDGET,      /* 14: a memory budget (engine cache, sequence slots) is exhausted */
    RSA_ERR_LAST         /* never use! */
};

/* rsa_err_str: a static, human-readable name for a code; never NULL. */
const char *rsa_err_str(enum rsa_err e);

/* rsa_err_exit_code: the CLI exit code for a code: 0 ok, 2 usage or bad input, 1 otherwise. */
int rsa_err_exit_code(enum rsa_err e);

#endif
