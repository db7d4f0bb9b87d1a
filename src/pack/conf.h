/* sqlbundle.conf: project settings, "key = value" lines, # comments. */
#ifndef SQLBUNDLE_PACK_CONF_H
#define SQLBUNDLE_PACK_CONF_H

#include "sqlbundle/err.h"
#include "sqlbundle/fingerprint.h"

struct sb_conf {
	char	*project;	/* [A-Za-z0-9._-]{1,64} */
	/*
	 * fingerprint-exclude: what the chain does not own, left out of
	 * every fingerprint (patterns as fingerprint.h describes; the key
	 * may repeat, each value a list separated by spaces or commas).
	 */
	struct sb_fp_excl exclude;
};

#define SB_CONF_INIT { NULL, SB_FP_EXCL_INIT }

/* Load <dir>/sqlbundle.conf; an unknown key names file and line. */
int	sb_conf_load(struct sb_conf *conf, const char *dir, struct sb_err *err);
void	sb_conf_release(struct sb_conf *conf);

#endif
