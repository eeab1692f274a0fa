/*
 * grade.h: minimal answer checking (grader "boxed", version 1).
 *
 * Extraction takes the content of the last \boxed{...} or \fbox{...} with brace
 * matching (also `\boxed 5`). Comparison normalises both sides (spaces, $, \left
 * \right, \dfrac/\tfrac, \text{}, thin spaces, a trailing period, degrees) and then
 * compares integers by value and everything else as strings. Symbolic equivalence
 * (fractions vs decimals, radicals) is the job of a later, fuller grader.
 */
#ifndef RSA_GRADE_H
#define RSA_GRADE_H

#include <stddef.h>

#define GRADE_NAME "boxed"
#define GRADE_VERSION "1"

/* grade_extract: malloc'd answer or NULL when none. after: when non-NULL, only text after
   the last occurrence of this marker is searched (NULL result when the marker is absent).
   strict = 0: with no box, fall back to the last integer in the text. */
char *grade_extract(const char *text, const char *after, int strict);

/* grade_normalize: malloc'd canonical form used for comparison and majority voting. */
char *grade_normalize(const char *answer);

/* grade_equal: 1 when the two answers are equal after normalisation. NULL-safe (0). */
int grade_equal(const char *answer, const char *gold);

#endif
