/*
 * fuzz_sse.c: libFuzzer target for the SSE assembler (rsa/sse.c). Input layout:
 *   byte 0      flags: bits 0-2 stop after that many events (0 = never), bit 6 a
 *               16-byte line cap (overflow path), bit 7 keep feeding after an error
 *   bytes 1-4   piece sizes, used in turn (0 = an empty feed)
 *   the rest    the byte stream
 * The callback checks what sse.h promises (NUL-terminated data of the stated
 * length, a NUL-terminated event name) and counts events.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/sse.h"

struct fuzz_events {
    size_t n;
    size_t stop_at; /* stop when n reaches it (0 = never) */
};

static int on_event(void *user, const char *event, const char *data, size_t len)
{
    struct fuzz_events *ev = user;
    if (event == NULL || data == NULL || data[len] != '\0')
        abort();
    (void)strlen(event);
    ev->n++;
    return ev->stop_at > 0 && ev->n == ev->stop_at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *pieces = data + 1;
    struct fuzz_events ev = {0, flags & 7};
    size_t max_line = (flags & 0x40) ? 16 : 4096;
    int keep_going = (flags & 0x80) != 0;
    data += 5;
    size -= 5;

    struct sse_parser p;
    sse_init(&p, max_line, on_event, &ev);
    size_t off = 0;
    enum rsa_err e = RSA_OK;
    int failed = 0;
    for (size_t i = 0; off < size; i++) {
        size_t n = pieces[i % 4];
        if (n > size - off)
            n = size - off;
        if (n == 0 && i % 4 == 3 && pieces[0] == 0 && pieces[1] == 0 && pieces[2] == 0)
            n = size - off; /* all sizes 0: one piece, so the loop ends */
        e = sse_feed(&p, (const char *)data + off, n);
        off += n;
        if (e != RSA_OK) {
            failed = 1;
            if (!keep_going)
                break;
        }
    }
    if (!failed || keep_going)
        (void)sse_finish(&p);
    sse_free(&p);
    return 0;
}
