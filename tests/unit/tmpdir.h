/*
 * The temporary folder of a test program: tmpdir_make in cmocka's setup,
 * tmpdir_remove (with everything in it) in the teardown.
 */
#ifndef SQLBUNDLE_TEST_TMPDIR_H
#define SQLBUNDLE_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#include "sqlbundle/fs.h"

static char tmpdir[64];

/* A new folder /tmp/sb-test-NAME-XXXXXX in tmpdir; -1 if it failed. */
static inline int
tmpdir_make(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sb-test-%s-XXXXXX", name);
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static inline void
tmpdir_remove(void)
{
	char *cmd = sb_printf("rm -rf '%s'", tmpdir);

	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
}

#endif
