# Keys and trust: several signatures on one bundle, signed trust roots with
# a threshold, rotation by signed message, the trust folder's modes.
# Modelled on the TUF conformance suite: each case is refused by both
# programs with its own message.

# A project and keys a..f (hq machine); PUBS holds the public halves.
setup_keys() {
	copy_example "$T_DIR/proj"
	for k in a b c d e f; do
		"$SB" -C "$T_DIR/proj" keygen "$k" >/dev/null
	done
	K=$T_DIR/proj/keys
}

# kid NAME: the key id of keys/NAME.pub, with stock tools.
kid() {
	openssl pkey -pubin -in "$K/$1.pub" -outform DER | tail -c 32 |
	    sha256sum | cut -c1-16
}

# bundle OUT KEY...: pack the example project signed by KEYs (a b ...).
bundle() {
	local out=$1 args=()
	shift
	for k in "$@"; do
		args+=(--key "keys/$k.key")
	done
	"$SB" -C "$T_DIR/proj" pack "${args[@]}" -o "$T_DIR/$out" >/dev/null
}

# root OUT VERSION THRESHOLD "KEYS" SIGNERS...: a root of KEYS signed by
# SIGNERS.
root() {
	local out=$1 version=$2 threshold=$3 keys=() k
	for k in $4; do
		keys+=("$K/$k.pub")
	done
	shift 4
	"$SB" trust new -o "$T_DIR/$out" --threshold "$threshold" \
	    --version "$version" "${keys[@]}" >/dev/null
	for k in "$@"; do
		"$SB" trust sign "$T_DIR/$out" --key "$K/$k.key" >/dev/null
	done
}

# A store trust folder provisioned with a 2-of-3 root of a, b, c.
store_2of3() {
	root r1 1 2 "a b c" a b
	mkdir "$T_DIR/store"
	expect_rc 0 "$SBA" trust update "$T_DIR/r1" --trust "$T_DIR/store"
}

# both_refuse BUNDLE TEXT: refused by sqlbundle and by sqlbundle-apply.
both_refuse() {
	expect_err 1 "$2" "$SB" verify "$1" --trust "$T_DIR/store"
	expect_err 1 "$2" "$SBA" verify "$1" --trust "$T_DIR/store"
}

both_accept() {
	expect_rc 0 "$SB" verify "$1" --trust "$T_DIR/store"
	expect_rc 0 "$SBA" verify "$1" --trust "$T_DIR/store"
}

# sigmember BUNDLE OUT NAME SRC: a copy of BUNDLE with member NAME added
# right after MANIFEST.sig, holding the bytes of member SRC.
sigmember() {
	zstd -q -d -c "$1" >"$T_DIR/plain.tar"
	/usr/bin/python3 - "$T_DIR/plain.tar" "$T_DIR/edit.tar" "$3" "$4" <<'EOF'
import io, sys, tarfile
src, dst, name, copy = sys.argv[1:5]
with tarfile.open(src, "r:") as t:
    members = [(m, t.extractfile(m).read()) for m in t.getmembers()]
data = dict((m.name, d) for m, d in members)[copy]
ti = tarfile.TarInfo(name)
ti.size, ti.mode, ti.mtime = len(data), 0o644, members[0][0].mtime
members.insert(2, (ti, data))
with tarfile.open(dst, "w", format=tarfile.USTAR_FORMAT) as t:
    for m, d in members:
        t.addfile(m, io.BytesIO(d))
EOF
	zstd -q -f "$T_DIR/edit.tar" -o "$2"
}

test_pack_several_keys_and_sign_elsewhere() {
	setup_keys
	bundle ab.tar.zst a b
	id=$(tar -xOf ab.tar.zst MANIFEST | sha256sum | cut -c1-64)
	[ "$(tar -tf ab.tar.zst | sed -n 2,3p | tr '\n' ' ')" = \
	    "MANIFEST.sig MANIFEST.sig.$(kid b) " ] || fail "signature members"
	tar -xOf ab.tar.zst MANIFEST | grep -qx "Key-Id: $(kid a)"
	# Another machine holds only c's private key.
	mkdir -p other/keys
	cp ab.tar.zst other/
	cp "$K/c.key" other/keys/
	expect_rc 0 "$SB" -C other sign ab.tar.zst --key keys/c.key
	assert_out "signed by key $(kid c)"
	assert_out "signatures 3"
	assert_eq "$(tar -xOf other/ab.tar.zst MANIFEST | sha256sum | cut -c1-64)" \
	    "$id" "bundle id after sign"
	# Each key signs once.
	expect_err 1 "is already signed by key $(kid a)" \
	    "$SB" sign other/ab.tar.zst --key "$K/a.key"
	expect_err 1 "is already signed by key $(kid c)" \
	    "$SB" sign other/ab.tar.zst --key "$K/c.key"
	# Both programs list every signature and its key id.
	mkdir pubs
	cp "$K/a.pub" "$K/b.pub" "$K/c.pub" pubs/
	expect_rc 0 "$SB" verify other/ab.tar.zst --trust pubs
	# MANIFEST.sig first, the others in key-id order.
	{
		echo "  trust     no root: any one of 3 keys (the .pub files in pubs)"
		echo "  signed by key $(kid a) (pubs/a.pub)"
		printf '%s b\n%s c\n' "$(kid b)" "$(kid c)" | sort |
		    while read -r id k; do
			echo "  signed by key $id (pubs/$k.pub)"
		done
	} >want
	sed -n 3,6p "$T_DIR/out" | diff -u want -
	expect_rc 0 "$SBA" verify other/ab.tar.zst --trust pubs --json
	/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["threshold"] == 1 and d["root_version"] is None, d
assert [(s["key_id"], s["status"]) for s in d["signatures"]] == \
    [(sys.argv[2], "good")] + sorted([(sys.argv[3], "good"), (sys.argv[4], "good")]), d
assert d["bundle_id"] == sys.argv[5], d
' "$T_DIR/out" "$(kid a)" "$(kid b)" "$(kid c)" "$id"
	# The stock-tool recipe checks each signature.
	audit other/ab.tar.zst "$K/a.pub" "$K/b.pub" "$K/c.pub" ||
		fail "recipe refused a bundle with three signatures"
	grep -qx "3 of the keys in keys signed MANIFEST" "$T_DIR/audit.out"
	audit other/ab.tar.zst "$K/c.pub" "$K/d.pub" ||
		fail "recipe refused a bundle signed by one key of two"
	grep -qx "$(kid d) (keys/d.pub): did not sign" "$T_DIR/audit.out"
	# A signature member that does not verify stops it.
	sigmember ab.tar.zst bad.tar.zst "MANIFEST.sig.$(kid d)" MANIFEST.sig
	! audit bad.tar.zst "$K/a.pub" "$K/d.pub" ||
		fail "recipe passed a bad second signature"
	grep -q "Signature Verification Failure" "$T_DIR/audit.out"
	expect_err 1 "bad.tar.zst: bad signature" \
	    "$SB" verify bad.tar.zst --trust "$K/d.pub"
}

test_root_threshold() {
	setup_keys
	store_2of3
	assert_out "root version 1 in force (was no root), 2 of 3 keys"
	[ -f store/roots/1.root ] || fail "no roots/1.root"
	cmp store/root r1
	bundle a.tar.zst a
	both_refuse a.tar.zst "a.tar.zst: bundle signed by 1 trusted key, 2 needed"
	# A second officer signs on another machine: now accepted.
	mkdir -p other/keys
	cp a.tar.zst other/
	cp "$K/b.key" other/keys/
	"$SB" -C other sign a.tar.zst --key keys/b.key >/dev/null
	both_accept other/a.tar.zst
	grep -qx "trust: root version 1 ($T_DIR/store/root): 2 of 3 keys, expires .*" \
	    "$T_DIR/out" || fail "policy line: $(cat "$T_DIR/out")"
	grep -qx "signed by: $(kid b) ($T_DIR/store/root)" "$T_DIR/out"
	# 2 of 3 at pack time too.
	bundle bc.tar.zst b c
	both_accept bc.tar.zst
	# The root file itself is a --trust too.
	expect_rc 0 "$SB" verify bc.tar.zst --trust r1
	expect_err 1 "signed by 1 trusted key, 2 needed" \
	    "$SB" verify a.tar.zst --trust r1
}

test_threshold_not_met_by_root() {
	setup_keys
	root r1 1 2 "a b c" a
	mkdir store
	expect_err 1 "root \"$T_DIR/r1\": version 1 signed by 1 of its own keys, 2 needed" \
	    "$SBA" trust update "$T_DIR/r1" --trust "$T_DIR/store"
	[ ! -e store/root ] || fail "a refused root was installed"
	expect_rc 0 "$SB" trust show r1
	assert_out "signed to its threshold: no"
}

test_one_key_signed_twice_counts_once() {
	setup_keys
	store_2of3
	bundle a.tar.zst a
	sigmember a.tar.zst aa.tar.zst "MANIFEST.sig.$(kid a)" MANIFEST.sig
	both_refuse aa.tar.zst "aa.tar.zst: bundle signed by 1 trusted key, 2 needed"
	grep -qF "DETAIL: 2 signatures in all: 0 by keys outside the root, 1 by a key that already counted" \
	    "$T_DIR/err" || fail "detail: $(cat "$T_DIR/err")"
	expect_rc 1 "$SB" verify aa.tar.zst --trust store --json
	# A root whose one signature is repeated.
	root r2 1 2 "a b c" a
	sed -n '/^Signature: /p' r2 >>r2
	[ "$(grep -c '^Signature: ' r2)" -eq 2 ] || fail "no repeated line"
	mkdir store2
	expect_err 1 "version 1 signed by 1 of its own keys, 2 needed" \
	    "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store2"
	expect_rc 0 "$SB" trust show r2 --json
	/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert [s["status"] for s in d["signatures"]] == ["good", "repeat"], d
assert d["self_signed"] is False and d["threshold"] == 2, d
' "$T_DIR/out"
}

test_signature_outside_root() {
	setup_keys
	store_2of3
	bundle ad.tar.zst a d
	both_refuse ad.tar.zst "ad.tar.zst: bundle signed by 1 trusted key, 2 needed"
	grep -qF "1 by keys outside the root" "$T_DIR/err"
	# A .pub folder that has d accepts it, and lists c as not counted.
	mkdir pubs
	cp "$K/d.pub" pubs/
	bundle dc.tar.zst d c
	expect_rc 0 "$SBA" verify dc.tar.zst --trust pubs
	grep -qx "signed by: $(kid c) (not a trusted key: not counted)" "$T_DIR/out"
	grep -qx "trust: no root: any one of 1 key (the .pub files in pubs)" "$T_DIR/out"
}

test_rotation_signed_only_by_new_keys() {
	setup_keys
	store_2of3
	root r2 2 2 "d e f" d e
	expect_err 1 "root \"$T_DIR/r2\": version 2 signed by 0 of the keys in force, 2 needed" \
	    "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store"
	cmp store/root r1
	[ ! -e store/roots/2.root ] || fail "refused root kept"
	# Inside a bundle: refused the same way, before its signatures count.
	"$SB" -C proj pack --key keys/d.key --key keys/e.key --root ../r2 \
	    -o "$T_DIR/de.tar.zst" >/dev/null
	both_refuse de.tar.zst "version 2 signed by 0 of the keys in force, 2 needed"
}

test_rotation_signed_only_by_old_keys() {
	setup_keys
	store_2of3
	root r2 2 2 "d e f" a b
	expect_err 1 "root \"$T_DIR/r2\": version 2 signed by 0 of its own keys, 2 needed" \
	    "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store"
	cmp store/root r1
	# Signed by both thresholds: accepted.
	"$SB" trust sign r2 --key "$K/d.key" >/dev/null
	"$SB" trust sign r2 --key "$K/f.key" >/dev/null
	expect_rc 0 "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store"
	cmp store/root r2
	cmp store/roots/1.root r1
	cmp store/roots/2.root r2
}

test_rollback_and_gaps_refused() {
	setup_keys
	store_2of3
	root r2 2 2 "a b d" a b d
	root r3 3 2 "a b d" a b
	expect_err 1 "version 3 does not follow the root in force (version 1)" \
	    "$SBA" trust update "$T_DIR/r3" --trust "$T_DIR/store"
	# Several in one call, in order.
	expect_rc 0 "$SBA" trust update "$T_DIR/r2" "$T_DIR/r3" --trust "$T_DIR/store" --json
	/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["event"] == "trust" and d["previous_version"] == 1, d
assert d["version"] == 3 and d["threshold"] == 2 and d["key_count"] == 3, d
' "$T_DIR/out"
	expect_err 1 "version 1 is not newer than the root in force (version 3); refusing a rollback" \
	    "$SBA" trust update "$T_DIR/r1" --trust "$T_DIR/store"
	expect_err 1 "version 3 is not newer than the root in force (version 3)" \
	    "$SBA" trust update "$T_DIR/r3" --trust "$T_DIR/store"
	cmp store/root r3
	ls store/roots >got
	printf '1.root\n2.root\n3.root\n' | diff -u - got
}

test_root_expired() {
	setup_keys
	"$SB" trust new -o r1 --threshold 1 --expires 2020-01-01 "$K/a.pub" >/dev/null
	"$SB" trust sign r1 --key "$K/a.key" >/dev/null
	mkdir store
	expect_err 1 "root \"$T_DIR/r1\" (version 1) expired at 2020-01-01T00:00:00Z" \
	    "$SBA" trust update "$T_DIR/r1" --trust "$T_DIR/store"
	[ ! -e store/root ] || fail "expired root installed"
	expect_rc 0 "$SB" trust show r1
	assert_out "expires    2020-01-01T00:00:00Z (expired)"
	# One already in force that has expired refuses every bundle.
	cp r1 store/root
	bundle a.tar.zst a
	both_refuse a.tar.zst "a.tar.zst: trust root version 1 ($T_DIR/store/root) expired at 2020-01-01T00:00:00Z"
	# A newer root, signed by the expired one's key, lifts the freeze.
	root r2 2 1 "a b" a
	expect_rc 0 "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store"
	both_accept a.tar.zst
}

# The closing story: 2-of-3, c is stolen, a bundle carries the root that
# drops it, and c's bundles no longer pass at the store.
test_rotation_in_bundle_revokes_dropped_key() {
	setup_keys
	store_2of3
	new_db
	bundle bc.tar.zst b c
	both_accept bc.tar.zst
	root r2 2 2 "a b d" a b d
	"$SB" -C proj pack --key keys/a.key --key keys/d.key --root ../r2 \
	    -o "$T_DIR/rot.tar.zst" >/dev/null
	[ "$(tar -tf rot.tar.zst | sed -n 3,4p | tr '\n' ' ')" = \
	    "MANIFEST.sig.$(kid d) ROOT.2 " ] || fail "members: $(tar -tf rot.tar.zst | head -4)"
	# verify applies it in memory only.
	expect_rc 0 "$SBA" verify rot.tar.zst --trust "$T_DIR/store" --json
	/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["root_version"] == 2 and d["threshold"] == 2, d
' "$T_DIR/out"
	cmp store/root r1
	expect_rc 0 "$SBA" upgrade rot.tar.zst --trust "$T_DIR/store"
	cmp store/root r2
	cmp store/roots/2.root r2
	# b+c was enough under version 1; c is revoked now.
	both_refuse bc.tar.zst "bc.tar.zst: bundle signed by 1 trusted key, 2 needed"
	expect_rc 1 "$SBA" upgrade bc.tar.zst --trust "$T_DIR/store"
	expect_rc 0 "$SBA" verify rot.tar.zst --trust "$T_DIR/store"
	grep -qx "signed by: $(kid d) ($T_DIR/store/root)" "$T_DIR/out"
	# A root member must be named for its version.
	sigmember rot.tar.zst misnamed.tar.zst ROOT.5 ROOT.2
	both_refuse misnamed.tar.zst "misnamed.tar.zst: ROOT.5 holds root version 2"
	# --root must follow: a gap is refused at pack time.
	root r4 4 2 "a b d" a b
	expect_err 2 "is version 4, expected 3" "$SB" -C proj pack \
	    --key keys/a.key --root ../r2 --root ../r4 -o "$T_DIR/x.tar.zst"
	root r3u 3 2 "a b d" a
	expect_err 1 "version 3 signed by 1 of its own keys, 2 needed" \
	    "$SB" -C proj pack --key keys/a.key --root ../r3u -o "$T_DIR/x.tar.zst"
}

test_trust_folder_modes() {
	setup_keys
	store_2of3
	bundle ab.tar.zst a b
	chmod o+w store
	both_refuse ab.tar.zst "trust \"$T_DIR/store\" is writable by others (mode 0757)"
	chmod o-w,g+w store
	both_refuse ab.tar.zst "trust \"$T_DIR/store\" is writable by its group (mode 0775)"
	chmod g-w store
	chmod g+w store/root
	both_refuse ab.tar.zst "trust \"$T_DIR/store/root\" is writable by its group"
	chmod g-w store/root
	both_accept ab.tar.zst
	# A symbolic link, as the root or as a .pub, is refused.
	mv store/root store/root.real
	ln -s root.real store/root
	both_refuse ab.tar.zst "trust \"$T_DIR/store/root\" is a symbolic link"
	mkdir pubs
	cp "$K/a.pub" pubs/
	ln -s "$K/b.pub" pubs/b.pub
	expect_err 1 "trust \"$T_DIR/pubs/b.pub\" is a symbolic link" \
	    "$SB" verify ab.tar.zst --trust "$T_DIR/pubs"
	rm pubs/b.pub
	chmod 666 pubs/a.pub
	expect_err 1 "trust \"$T_DIR/pubs/a.pub\" is writable by others (mode 0666)" \
	    "$SBA" verify ab.tar.zst --trust "$T_DIR/pubs"
	chmod 644 pubs/a.pub
	expect_rc 0 "$SBA" verify ab.tar.zst --trust "$T_DIR/pubs"
	[ "$(id -u)" -eq 0 ] || skip "chown needs root"
	chown nobody pubs/a.pub
	expect_err 1 "trust \"$T_DIR/pubs/a.pub\" is owned by uid $(id -u nobody), neither root nor this user" \
	    "$SBA" verify ab.tar.zst --trust "$T_DIR/pubs"
}

# TUF's "threshold raised, then lowered": the lower threshold must be
# signed for by the raised one.
test_threshold_raised_then_lowered() {
	setup_keys
	store_2of3
	root r2 2 3 "a b c" a b c
	expect_rc 0 "$SBA" trust update "$T_DIR/r2" --trust "$T_DIR/store"
	bundle ab.tar.zst a b
	both_refuse ab.tar.zst "ab.tar.zst: bundle signed by 2 trusted keys, 3 needed"
	root r3 3 1 "a b c" a b
	expect_err 1 "version 3 signed by 2 of the keys in force, 3 needed" \
	    "$SBA" trust update "$T_DIR/r3" --trust "$T_DIR/store"
	"$SB" trust sign r3 --key "$K/c.key" >/dev/null
	expect_rc 0 "$SBA" trust update "$T_DIR/r3" --trust "$T_DIR/store"
	bundle a.tar.zst a
	both_accept a.tar.zst
	both_accept ab.tar.zst
}
