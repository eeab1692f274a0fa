/*
 * fuzz_grade.c: answer extraction (strict, non-strict, after a marker), normalisation
 * and comparison on arbitrary NUL-terminated text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsa/grade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    char *strict = grade_extract(text, NULL, 1);
    char *loose = grade_extract(text, NULL, 0);
    char *after = grade_extract(text, "</think>", 1);
    char *after_loose = grade_extract(text, "</think>", 0);
    /* a box found strictly is found the same way without strictness */
    if (strict != NULL && (loose == NULL || strcmp(strict, loose) != 0))
        abort();
    char *norm = grade_normalize(text);
    if (norm == NULL)
        abort();
    char *norm2 = grade_normalize(norm);
    if (norm2 == NULL)
        abort();
    /* equality is symmetric and reflexive for anything non-empty after normalisation */
    if (grade_equal(text, loose) != grade_equal(loose, text))
        abort();
    if (norm[0] != '\0' && !grade_equal(text, text))
        abort();
    if (strict != NULL)
        (void)grade_equal(strict, "1000");
    (void)grade_equal(after, after_loose);
    free(strict);
    free(loose);
    free(after);
    free(after_loose);
    free(norm);
    free(norm2);
    free(text);
    return 0;
}
