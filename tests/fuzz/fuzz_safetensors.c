/*
 * fuzz_safetensors.c: st_parse_header on arbitrary bytes (the first 8 bytes pick data_len, the
 * rest is the header JSON), and the whole input as a .safetensors file through st_open_file,
 * touching every tensor's bytes so a pointer outside the mapping faults under ASan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/safetensors.h"

static char dir[64];
static char path[96];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/fuzz_safetensors_XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(path, sizeof(path), "%s/fuzz.safetensors", dir);
        atexit(cleanup);
    }
    char err[512];

    /* 1. the parser alone: data_len from the first 8 bytes (small values are the interesting ones) */
    if (size >= 8) {
        uint64_t dl = 0;
        for (int i = 7; i >= 0; i--)
            dl = (dl << 8) | data[i];
        if (data[7] < 0x80)
            dl %= 1u << 16;
        struct st_tensor *t = NULL;
        size_t n = 0;
        char *meta = NULL;
        /* a copy of exactly the header bytes, so ASan sees reads past the end */
        size_t hl = size - 8;
        char *h = malloc(hl ? hl : 1);
        if (h == NULL)
            return 0;
        memcpy(h, data + 8, hl);
        if (st_parse_header(h, hl, dl, "fuzz", &t, &n, &meta, err, sizeof(err)) == RSA_OK) {
            uint64_t prev_end = 0;
            for (size_t i = 0; i < n; i++) {
                if (t[i].offset + t[i].nbytes > dl || t[i].data != NULL || t[i].ndim > ST_MAX_DIMS)
                    abort();
                if (t[i].nbytes > 0 && t[i].offset < prev_end)
                    abort();
                if (t[i].nbytes > 0)
                    prev_end = t[i].offset + t[i].nbytes;
            }
        } else if (t != NULL || n != 0 || meta != NULL) {
            abort();
        }
        st_tensors_free(t, n);
        free(meta);
        free(h);
    }

    /* 2. the same bytes as a file */
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();
    struct st_set *s = NULL;
    if (st_open_file(path, &s, err, sizeof(err)) == RSA_OK) {
        volatile unsigned sum = 0;
        for (size_t i = 0; i < st_count(s); i++) {
            const struct st_tensor *t = st_at(s, i);
            if (st_find(s, t->name) != t)
                abort();
            const unsigned char *p = t->data;
            for (uint64_t k = 0; k < t->nbytes; k++)
                sum += p[k];
        }
        (void)st_metadata(s);
        (void)sum;
    } else if (s != NULL) {
        abort();
    }
    st_close(s);
    return 0;
}
