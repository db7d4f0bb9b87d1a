/* Error reports: every fallible function fills a caller's struct sb_err. */
#ifndef SQLBUNDLE_ERR_H
#define SQLBUNDLE_ERR_H

#include <stdarg.h>

/*
 * Error codes double as exit statuses (documented in the man pages):
 * main() returns err.code unchanged.
 */
enum sb_code {
	SB_OK = 0,
	SB_EINVALID = 1,	/* verification or validation failed */
	SB_EUSAGE = 2,		/* bad command line */
	SB_EDB = 3,		/* connection or statement failed */
	SB_EIO = 4,		/* file system or system call failed */
	SB_ELOCKED = 5,		/* another applier holds the database */
	SB_EREFUSED = 6,	/* database state does not fit the bundle */
	SB_EDRIFT = 7		/* the schema differs from the expected one */
};

struct sb_err {
	int	code;
	char	msg[1024];
	char	detail[1024];
	char	hint[512];
	char	sqlstate[6];
};

#define SB_ERR_INIT { 0, "", "", "", "" }

/* Set code and message; clears detail, hint and sqlstate. Returns -1. */
int	sb_err_set(struct sb_err *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Like sb_err_set, appending ": strerror(errno)". Returns -1. */
int	sb_err_sys(struct sb_err *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Fill the detail or hint of an error already set. */
void	sb_err_detail(struct sb_err *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	sb_err_hint(struct sb_err *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prefix the message with context ("revision \"x\": ..."). Returns -1. */
int	sb_err_prefix(struct sb_err *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	sb_err_clear(struct sb_err *err);

/* Print "prog: msg" plus DETAIL/HINT lines to stderr. */
void	sb_err_print(const char *prog, const struct sb_err *err);

#endif
