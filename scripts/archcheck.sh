#!/bin/sh
# Architecture check, run by `make check`: the layout docs/DESIGN.md
# describes is the layout built. Fails (exit 1) naming each violation.
#  - each third-party header is included only by its seam files;
#  - src/common and include/sqlbundle include nothing of src/pack or
#    src/apply, and neither program includes the other's headers;
#  - bin/sqlbundle-apply links no signing code, bin/sqlbundle no libpq.
# Usage: scripts/archcheck.sh [BINDIR]
set -u
cd "$(dirname "$0")/.."
bindir=${1:-bin}
bad=0

violation() {
	echo "archcheck: $*" >&2
	bad=1
}

# seam PATTERN FILE...: only FILEs (under src/ and include/) may include
# a header matching PATTERN (an extended regex on the #include line).
seam() {
	pattern=$1
	shift
	grep -EHn "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" \
	    src/*/*.c src/*/*.h include/sqlbundle/*.h | while IFS=: read -r file line _; do
		allowed=no
		for ok in "$@"; do
			[ "$file" = "$ok" ] && allowed=yes
		done
		[ $allowed = yes ] || echo "$file:$line"
	done
}

check_seam() {
	what=$1
	shift
	hits=$(seam "$@")
	[ -z "$hits" ] || violation "$what included outside its seam: $(echo $hits)"
}

check_seam "archive.h" 'archive(_entry)?\.h' src/common/archive.c src/pack/writer.c
check_seam "openssl/*" 'openssl/' src/common/crypto.c src/pack/keys.c
check_seam "libpq-fe.h" 'libpq-fe\.h|libpq/' src/apply/db.c
check_seam "pkcs11.h" 'p11-kit/|pkcs11\.h|dlfcn\.h' src/pack/pkcs11.c src/pack/keys.c
check_seam "cmocka.h" 'cmocka\.h'

# Quoted includes of src/common and its headers: sqlbundle/* or a
# header beside the file in src/common.
for f in src/common/*.c src/common/*.h include/sqlbundle/*.h; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
	while read -r h; do
		case $h in
		sqlbundle/*) [ -f "include/$h" ] || echo "$f: $h" ;;
		*/*) echo "$f: $h" ;;
		*) [ -f "src/common/$h" ] || echo "$f: $h" ;;
		esac
	done
done >.archcheck.$$ 2>&1
[ -s .archcheck.$$ ] && violation "src/common includes outside src/common and include/sqlbundle: $(tr '\n' ' ' <.archcheck.$$)"
rm -f .archcheck.$$

# Neither program reaches into the other.
hits=$(grep -EHn '#[[:space:]]*include[[:space:]]*"(\.\./)?apply/' src/pack/*.[ch])
[ -z "$hits" ] || violation "src/pack includes src/apply: $hits"
hits=$(grep -EHn '#[[:space:]]*include[[:space:]]*"(\.\./)?pack/' src/apply/*.[ch])
[ -z "$hits" ] || violation "src/apply includes src/pack: $hits"

# The applier cannot sign: no private-key or signing symbol, ours or
# OpenSSL's, defined or imported.
signing='sb_p11_|dlopen|EVP_DigestSign|EVP_PKEY_sign|EVP_PKEY_keygen|EVP_PKEY_CTX_new_id|PEM_read_bio_PrivateKey|PEM_write_bio_PrivateKey|EVP_PKEY_new_raw_private_key|sb_privkey_|sb_keygen'
if [ ! -x "$bindir/sqlbundle-apply" ] || [ ! -x "$bindir/sqlbundle" ]; then
	violation "no programs in $bindir (build first)"
else
	syms=$(nm "$bindir/sqlbundle-apply" 2>/dev/null; nm -D "$bindir/sqlbundle-apply" 2>/dev/null)
	[ -n "$syms" ] || violation "nm found no symbols in $bindir/sqlbundle-apply"
	hits=$(echo "$syms" | awk '{ print $NF }' | grep -E "^($signing)" | sort -u)
	[ -z "$hits" ] || violation "$bindir/sqlbundle-apply links signing code: $(echo $hits)"
	hits=$( (nm "$bindir/sqlbundle" 2>/dev/null; nm -D "$bindir/sqlbundle" 2>/dev/null) |
	    awk '{ print $NF }' | grep -E '^PQ' | sort -u)
	[ -z "$hits" ] || violation "$bindir/sqlbundle links libpq: $(echo $hits)"
fi

[ $bad -eq 0 ] && echo "archcheck: ok"
exit $bad
