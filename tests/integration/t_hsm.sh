# Keys on a token: a SoftHSM 2 token in this test's folder, an Ed25519 key
# made on it with pkcs11-tool, bundles and roots signed through PKCS#11
# (C_Sign, CKM_EDDSA); the applier and stock openssl verify them.

SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so

# A token "sb" (user PIN 1234) holding the Ed25519 key "hq", id 01; sets
# URI (PIN from a file) and the project in ./proj.
token() {
	command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null &&
	    [ -f "$SOFTHSM_MODULE" ] ||
		fail "softhsm2 or opensc missing (scripts/deps.sh hsm installs them)"
	mkdir -p tokens
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$T_DIR" >softhsm2.conf
	export SOFTHSM2_CONF=$T_DIR/softhsm2.conf
	# Sanitized builds: SoftHSM's own leak is suppressed by its frames,
	# which the slow unwinder finds through libcrypto.
	export LSAN_OPTIONS=suppressions=$SB_ROOT/tests/integration/softhsm.supp
	export ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0
	softhsm2-util --init-token --free --label sb --pin 1234 --so-pin 5678 >/dev/null
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label sb --login --pin 1234 \
	    --keypairgen --key-type EC:edwards25519 --label hq --id 01 >/dev/null 2>&1 ||
		fail "pkcs11-tool could not make an Ed25519 key"
	printf '1234\n' >pin
	chmod 600 pin
	URI="pkcs11:token=sb;object=hq?module-path=$SOFTHSM_MODULE&pin-source=file:$T_DIR/pin"
	copy_example "$T_DIR/proj"
}

test_pack_on_token_verifies_with_applier_and_openssl() {
	token
	expect_rc 0 "$SB" pubkey "$URI" -o hq.pub
	local kid
	kid=$(openssl pkey -pubin -in hq.pub -outform DER | tail -c 32 |
	    sha256sum | cut -c1-16)
	assert_out "key id    $kid"
	# The same key by id and with the PIN in the URI.
	expect_rc 0 "$SB" pubkey \
	    "pkcs11:token=sb;id=%01;type=private?module-path=$SOFTHSM_MODULE&pin-value=1234" \
	    -o hq2.pub
	cmp hq.pub hq2.pub
	expect_rc 0 "$SB" -C proj pack --key "$URI" -o "$T_DIR/h.tar.zst"
	expect_rc 0 "$SBA" verify h.tar.zst --trust hq.pub
	grep -qx "signed by: $kid (hq.pub)" "$T_DIR/out"
	# Stock openssl on the token's signature.
	tar -xOf h.tar.zst MANIFEST >MANIFEST
	tar -xOf h.tar.zst MANIFEST.sig >MANIFEST.sig
	openssl pkeyutl -verify -pubin -inkey hq.pub -rawin -in MANIFEST \
	    -sigfile MANIFEST.sig >ossl.out
	grep -q "Signature Verified Successfully" ossl.out
	audit h.tar.zst hq.pub || fail "recipe refused the token's bundle"
	# The token signs a bundle packed elsewhere, and roots too.
	"$SB" -C proj keygen a >/dev/null
	"$SB" -C proj pack --key keys/a.key -o "$T_DIR/a.tar.zst" >/dev/null
	expect_rc 0 "$SB" sign a.tar.zst --key "$URI"
	assert_out "signed by key $kid"
	"$SB" trust new -o r1 --threshold 2 hq.pub proj/keys/a.pub >/dev/null
	expect_rc 0 "$SB" trust sign r1 --key "$URI"
	"$SB" trust sign r1 --key proj/keys/a.key >/dev/null
	mkdir store
	expect_rc 0 "$SBA" trust update "$T_DIR/r1" --trust "$T_DIR/store"
	expect_rc 0 "$SBA" verify a.tar.zst --trust "$T_DIR/store"
	expect_err 1 "signed by 1 trusted key, 2 needed" \
	    "$SBA" verify h.tar.zst --trust "$T_DIR/store"
}

test_token_errors() {
	token
	local m=$SOFTHSM_MODULE
	expect_err 1 "pkcs11:token=sb;object=hq: C_Login failed" \
	    "$SB" pubkey "pkcs11:token=sb;object=hq?module-path=$m&pin-value=9999" -o x.pub
	grep -qx "DETAIL: the PIN is wrong" "$T_DIR/err"
	! grep -q 9999 "$T_DIR/err" || fail "the PIN was printed"
	expect_err 1 "pkcs11:token=sb;object=nope: no Ed25519 private key matches" \
	    "$SB" pubkey "pkcs11:token=sb;object=nope?module-path=$m&pin-value=1234" -o x.pub
	expect_err 1 "no Ed25519 private key matches" \
	    "$SB" pubkey "pkcs11:token=sb;object=hq?module-path=$m" -o x.pub
	grep -q "DETAIL: no PIN given" "$T_DIR/err"
	expect_err 1 'pkcs11:token=zz;object=hq: no token labelled "zz"' \
	    "$SB" pubkey "pkcs11:token=zz;object=hq?module-path=$m&pin-value=1234" -o x.pub
	expect_err 2 "pkcs11 URI: no module-path" \
	    "$SB" pubkey "pkcs11:token=sb;object=hq" -o x.pub
	expect_err 2 'pkcs11 URI: unsupported attribute "serial"' \
	    "$SB" pubkey "pkcs11:serial=1;object=hq?module-path=$m" -o x.pub
	expect_err 1 "could not load PKCS#11 module \"$T_DIR/none.so\"" \
	    "$SB" pubkey "pkcs11:object=hq?module-path=$T_DIR/none.so" -o x.pub
	[ ! -e x.pub ] || fail "a .pub was written"
	expect_err 1 "could not load PKCS#11 module" "$SB" -C proj pack \
	    --key "pkcs11:object=hq?module-path=$T_DIR/none.so" -o "$T_DIR/x.tar.zst"
	[ ! -e x.tar.zst ] || fail "a bundle was written"
}
