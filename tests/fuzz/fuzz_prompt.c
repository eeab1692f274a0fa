/*
 * fuzz_prompt.c: prompt_template_parse on arbitrary text, then render it with two
 * candidates (one truncated). A NUL byte in the input splits it: the text before is
 * the template, the text after is the first candidate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t tlen = strlen(text);
    const char *cand0 = tlen < size ? text + tlen + 1 : " {candidate} {{/candidates}} tail one\n";

    struct prompt_template t;
    char err[512];
    if (prompt_template_parse("fuzz.txt", text, &t, err, sizeof(err)) == RSA_OK) {
        struct prompt_candidate c[2] = {{cand0, 1}, {"{{#truncated}} tail two {i}", 0}};
        char *out = NULL;
        if (prompt_render(&t, "the {problem}", "the {initial_prompt}", c, 2, &out) == RSA_OK) {
            if (out == NULL)
                abort();
            free(out);
        }
        out = NULL;
        if (prompt_render(&t, "p", NULL, NULL, 0, &out) == RSA_OK)
            free(out);
        prompt_template_free(&t);
    }
    free(text);
    return 0;
}
