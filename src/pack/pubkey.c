/*
 * `sqlbundle pubkey KEYREF -o NAME.pub`: the public half of a private key
 * file or of a key on a token (pkcs11: URI), in the .pub format of keygen
 * (PEM SubjectPublicKeyInfo, what "openssl pkey -pubout" prints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"
#include "cmd.h"
#include "keys.h"
#include "opts.h"

static void
pubkey_usage(FILE *fp)
{
	fputs("Usage: sqlbundle pubkey KEYREF -o NAME.pub\n"
	    "\n"
	    "Write the public half of KEYREF, a private key file or a PKCS#11 "
	    "URI\n"
	    "(pkcs11:token=T;object=O?module-path=M&pin-source=F), as a .pub "
	    "file.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output FILE   the .pub to write (never overwritten)\n"
	    "  -h, --help          show this help and exit\n", fp);
}

int
sb_cmd_pubkey(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_privkey *key = NULL;
	const char *out = NULL;
	char b64[SB_SPKI_B64_LEN + 1], *ref = NULL, *path = NULL, *pem = NULL;
	int c, ret = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			pubkey_usage(stdout);
			return 0;
		default:
			return sb_cli_opt_error("pubkey", c, argv, err);
		}
	}
	if (argc - optind != 1 || out == NULL)
		return sb_err_set(err, SB_EUSAGE, "pubkey: KEYREF and -o "
		    "NAME.pub are required");
	ref = sb_ctx_keyref(ctx, argv[optind]);
	path = sb_ctx_path(ctx, out);
	if (sb_privkey_load(&key, ref, err) == -1)
		goto out;
	sb_pubkey_spki_b64(sb_privkey_public(key), b64);
	pem = sb_printf("-----BEGIN PUBLIC KEY-----\n%s\n"
	    "-----END PUBLIC KEY-----\n", b64);
	if (sb_create_durable(path, pem, strlen(pem), 0644, err) == -1)
		goto out;
	printf("public key %s\n  key id    %s\n", path, sb_privkey_id(key));
	ret = 0;
out:
	sb_privkey_free(key);
	free(pem);
	free(path);
	free(ref);
	return ret;
}
