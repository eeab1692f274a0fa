/*
 * fuzz_config.c: config_load on arbitrary INI bytes (written to a temp file, since
 * config_load reads a path), and the same bytes as one --set argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsa/config.h"

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
        snprintf(dir, sizeof(dir), "/tmp/fuzz_config_XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(path, sizeof(path), "%s/fuzz.ini", dir);
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);

    struct rsa_config cfg;
    char err[512];
    if (config_load(path, NULL, 0, &cfg, err, sizeof(err)) == RSA_OK) {
        free(config_format(&cfg, 0));
        free(config_format(&cfg, 1));
    }
    config_free(&cfg);

    /* the bytes as a --set argument (up to the first NUL) */
    char *set = malloc(size + 1);
    if (set == NULL)
        return 0;
    memcpy(set, data, size);
    set[size] = '\0';
    const char *sets[1] = {set};
    if (config_load(NULL, sets, 1, &cfg, err, sizeof(err)) == RSA_OK)
        free(config_format(&cfg, 0));
    config_free(&cfg);
    free(set);
    return 0;
}
