/*
 * testutil.h: a per-binary scratch directory for the unit tests (created in the group
 * setup, removed with everything in it in the group teardown).
 */
#ifndef RSA_TESTUTIL_H
#define RSA_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir[256];

static inline int testutil_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* testutil_tmpdir_make: mkdtemp /tmp/rsa_test_<name>_XXXXXX into tmpdir; 0 on success. */
static inline int testutil_tmpdir_make(const char *name)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/rsa_test_%s_XXXXXX", name);
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* testutil_tmpdir_remove: remove tmpdir and everything below it; 0 on success. */
static inline int testutil_tmpdir_remove(void)
{
    return nftw(tmpdir, testutil_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
