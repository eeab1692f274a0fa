/*
 * fuzz_http_body.c: libFuzzer target for the HTTP backend's 2xx body parsers
 * (http_parse_response: the JSON completion and the SSE stream paths a real
 * request runs). The first byte picks the API (bit 0: completions) and streaming
 * (bit 1); the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>

#include "rsa/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum http_api api = (data[0] & 1) ? HTTP_API_COMPLETIONS : HTTP_API_CHAT;
    int stream = (data[0] >> 1) & 1;
    struct backend_completion c;
    char err[512];
    if (http_parse_response(api, stream, "<think>", "</think>", (const char *)data + 1, size - 1,
                            &c, err, sizeof(err)) == RSA_OK)
        backend_completion_free(&c);
    return 0;
}
