# Everyday mistakes with keys and bundles: a private key staged in git,
# a public key given to sign with, a bundle overwritten by another, and
# packs whose bytes depend on the clock.

git_project() {
	copy_example proj
	git -C proj init -q
	git -C proj add -A
	GIT_COMMITTER_DATE='2026-03-04T05:06:07Z' git -C proj -c user.email=hq@example.com \
	    -c user.name=hq commit -q -m chain
}

test_keygen_ignores_private_keys() {
	git_project
	expect_rc 0 "$SB" -C proj keygen hq
	assert_out "git ignores: proj/keys/.gitignore (*.key)"
	grep -qx '\*\.key' proj/keys/.gitignore || fail "no *.key line: $(cat proj/keys/.gitignore)"
	git -C proj add -A
	assert_eq "$(git -C proj diff --cached --name-only -- keys | tr '\n' ' ')" "keys/.gitignore keys/hq.pub "
	# Already ignored: the file is left alone.
	cp proj/keys/.gitignore before
	expect_rc 0 "$SB" -C proj keygen second
	grep -q "git ignores" "$T_DIR/out" && fail "wrote .gitignore again"
	cmp before proj/keys/.gitignore
	# A project .gitignore that ignores keys is enough too.
	copy_example other
	echo 'keys/*.key' > other/.gitignore
	expect_rc 0 "$SB" -C other keygen hq
	[ ! -e other/keys/.gitignore ] || fail "keys/.gitignore written beside the project's"
}

test_public_key_as_key() {
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	expect_rc 1 "$SB" -C proj pack --key keys/hq.pub
	assert_eq "$(cat "$T_DIR/err")" 'sqlbundle: "proj/keys/hq.pub" is a public key; --key takes the private key (NAME.key) it belongs to'
}

test_pack_refuses_other_bundle() {
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key -o "$PWD/b.tar.zst"
	# The same bundle again: allowed (same id).
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key -o "$PWD/b.tar.zst"
	cp b.tar.zst kept
	expect_rc 1 "$SB" -C proj pack --key keys/hq.key --to 853113448960 -o "$PWD/b.tar.zst"
	grep -Eqx "sqlbundle: \"$PWD/b.tar.zst\" is another bundle \(id [0-9a-f]{12}; this one is [0-9a-f]{12}\); refusing to overwrite it" "$T_DIR/err" ||
	    fail "no refusal: $(cat "$T_DIR/err")"
	grep -qx 'HINT: pass --force to replace it, or -o to write elsewhere' "$T_DIR/err"
	cmp kept b.tar.zst || fail "the bundle was changed"
	echo 'not a bundle' > notes.tar.zst
	expect_err 1 "notes.tar.zst\" exists and is not a bundle; refusing to overwrite it" \
	    "$SB" -C proj pack --key keys/hq.key -o "$PWD/notes.tar.zst"
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key --to 853113448960 --force -o "$PWD/b.tar.zst"
	tar -xOf b.tar.zst MANIFEST | grep -qx 'To: 853113448960'
}

test_pack_reproducible_from_git() {
	git_project
	"$SB" -C proj keygen hq > /dev/null
	env -u SOURCE_DATE_EPOCH "$SB" -C proj pack --key keys/hq.key -o "$PWD/one.tar.zst" > one.out
	touch proj/revisions/*.sql
	env -u SOURCE_DATE_EPOCH "$SB" -C proj pack --key keys/hq.key -o "$PWD/two.tar.zst" > two.out
	cmp one.tar.zst two.tar.zst || fail "two packs of the same tree differ"
	tar -xOf one.tar.zst MANIFEST | grep -qx 'Created: 2026-03-04T05:06:07Z'
	grep -qx '  created   2026-03-04T05:06:07Z (the last git commit of revisions/ or seeds/)' one.out
}
