/* err.c: strings and exit codes for enum rsa_err. */
#include "err.h"

const char *rsa_err_str(enum rsa_err e)
{
    switch (e) {
    case RSA_OK: return "ok";
    case RSA_ERR_NOMEM: return "out of memory";
    case RSA_ERR_IO: return "i/o error";
    case RSA_ERR_PARSE: return "parse error";
    case RSA_ERR_CONFIG: return "config error";
    case RSA_ERR_USAGE: return "usage error";
    case RSA_ERR_HTTP: return "http transport error";
    case RSA_ERR_HTTP_STATUS: return "http error status";
    case RSA_ERR_PROTOCOL: return "protocol error";
    case RSA_ERR_DB: return "database error";
    case RSA_ERR_CONFLICT: return "conflict";
    case RSA_ERR_UNSUPPORTED: return "unsupported";
    case RSA_ERR_NOT_FOUND: return "not found";
    case RSA_ERR_INTERRUPTED: return "interrupted";
    case RSA_ERR_BUDGET: return "budget exhausted";
    case RSA_ERR_LAST: break;
    }
    return "unknown error";
}

int rsa_err_exit_code(enum rsa_err e)
{
    switch (e) {
    case RSA_OK:
        return 0;
    case RSA_ERR_PARSE:
    case RSA_ERR_CONFIG:
    case RSA_ERR_USAGE:
    case RSA_ERR_CONFLICT:
    case RSA_ERR_NOT_FOUND:
    case RSA_ERR_UNSUPPORTED:
        return 2;
    default:
        return 1;
    }
}
