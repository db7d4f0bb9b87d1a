# sqlbundle's command line: help, version, usage errors, -C, keygen.

# The Try line every usage error ends with.
try_line() {
	echo "Try \"sqlbundle${1:+ $1} --help\" for more information."
}

# stderr must be exactly the given lines.
assert_err_exact() {
	printf '%s\n' "$@" > "$T_DIR/want"
	diff -u "$T_DIR/want" "$T_DIR/err" || fail "stderr differs"
}

test_version() {
	expect_rc 0 "$SB" --version
	grep -qxE 'sqlbundle [0-9]+\.[0-9]+\.[0-9]+' "$T_DIR/out" ||
	    fail "version line: $(cat "$T_DIR/out")"
	[ "$(wc -l < "$T_DIR/out")" -eq 1 ] || fail "one line expected"
	cp "$T_DIR/out" v1
	expect_rc 0 "$SB" -V
	cmp v1 "$T_DIR/out"
	[ ! -s "$T_DIR/err" ] || fail "stderr not empty"
}

test_help_lists_every_command() {
	expect_rc 0 "$SB" --help
	for c in new check history render keygen pack verify inspect; do
		grep -qE "^  $c +[a-z]" "$T_DIR/out" || fail "no $c in --help"
	done
	assert_out "Usage: sqlbundle [-C DIR] COMMAND"
	[ ! -s "$T_DIR/err" ] || fail "help went to stderr"
	cp "$T_DIR/out" h1
	expect_rc 0 "$SB" -h
	cmp h1 "$T_DIR/out"
	expect_rc 0 "$SB" help
	cmp h1 "$T_DIR/out"
}

# "help CMD" and "CMD --help" print the same usage, on stdout, exit 0.
test_command_help() {
	for c in keygen pack verify inspect new check history render; do
		expect_rc 0 "$SB" help "$c"
		[ -s "$T_DIR/out" ] || fail "help $c printed nothing"
		[ ! -s "$T_DIR/err" ] || fail "help $c wrote to stderr"
		cp "$T_DIR/out" "help-$c"
		expect_rc 0 "$SB" "$c" --help
		cmp "help-$c" "$T_DIR/out" || fail "help $c != $c --help"
	done
	grep -q '^Usage: sqlbundle pack --key KEYFILE' help-pack
	grep -q '^Usage: sqlbundle keygen NAME' help-keygen
	grep -q '^Usage: sqlbundle verify BUNDLE' help-verify
	grep -q '^Usage: sqlbundle inspect BUNDLE' help-inspect
}

test_no_command() {
	expect_rc 2 "$SB"
	assert_err_exact "sqlbundle: no command given" "$(try_line)"
	[ ! -s "$T_DIR/out" ] || fail "stdout not empty"
	expect_rc 2 "$SB" -C .
	assert_err_exact "sqlbundle: no command given" "$(try_line)"
}

test_unknown_command() {
	expect_rc 2 "$SB" frobnicate
	assert_err_exact 'sqlbundle: unknown command "frobnicate"' "$(try_line)"
	[ ! -s "$T_DIR/out" ] || fail "stdout not empty"
	expect_rc 2 "$SB" help frobnicate
	assert_err_exact 'sqlbundle: unknown command "frobnicate"' "$(try_line)"
	# Case matters; prefixes are not commands.
	expect_rc 2 "$SB" PACK
	expect_rc 2 "$SB" pac
}

test_bad_global_options() {
	expect_rc 2 "$SB" --bogus
	assert_err_exact 'sqlbundle: unknown option "--bogus"' "$(try_line)"
	expect_rc 2 "$SB" -x pack
	assert_err_exact 'sqlbundle: unknown option "-x"' "$(try_line)"
	expect_rc 2 "$SB" -C
	assert_err_exact 'sqlbundle: option "-C" needs a value' "$(try_line)"
	expect_rc 2 "$SB" --version=2
	assert_err_exact 'sqlbundle: unknown option "--version=2"' "$(try_line)"
}

test_bad_command_options() {
	expect_rc 2 "$SB" pack --bogus
	assert_err_exact 'sqlbundle: pack: unknown option "--bogus"' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" pack --key
	assert_err_exact 'sqlbundle: pack: option "--key" needs a value' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" pack
	assert_err_exact 'sqlbundle: pack: --key FILE is required' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" pack --key k --compress xz
	assert_err_exact 'sqlbundle: pack: unknown compression "xz" (zstd or gzip)' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" pack --key k --level 20
	assert_err_exact 'sqlbundle: pack: --level 20 is out of range for zstd (1-19)' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" pack --key k --level 0
	expect_rc 2 "$SB" pack --key k --level 3x
	expect_rc 2 "$SB" pack --key k extra
	assert_err_exact 'sqlbundle: pack: unexpected argument "extra"' \
	    "$(try_line pack)"
	expect_rc 2 "$SB" keygen
	assert_err_exact 'sqlbundle: keygen: missing key NAME' \
	    "$(try_line keygen)"
	expect_rc 2 "$SB" keygen a b
	expect_rc 2 "$SB" keygen -q a
	assert_err_exact 'sqlbundle: keygen: unknown option "-q"' \
	    "$(try_line keygen)"
	expect_rc 2 "$SB" verify
	assert_err_exact 'sqlbundle: verify: missing BUNDLE' "$(try_line verify)"
	expect_rc 2 "$SB" inspect b --json
	assert_err_exact 'sqlbundle: inspect: unknown option "--json"' \
	    "$(try_line inspect)"
	expect_rc 2 "$SB" verify b --trust
	assert_err_exact 'sqlbundle: verify: option "--trust" needs a value' \
	    "$(try_line verify)"
}

# The key id is what stock openssl derives from the .pub file.
keyid_of() {
	openssl pkey -pubin -in "$1" -outform DER | tail -c 32 | sha256sum |
	    cut -c1-16
}

test_keygen_files_and_id() {
	expect_rc 0 "$SB" keygen hq
	[ -f keys/hq.key ] && [ -f keys/hq.pub ] || fail "key files missing"
	assert_eq "$(stat -c %a keys/hq.key)" 600 "mode of hq.key"
	assert_eq "$(stat -c %a keys/hq.pub)" 644 "mode of hq.pub"
	assert_eq "$(head -n 1 keys/hq.key)" "-----BEGIN PRIVATE KEY-----"
	# The .pub is exactly what `openssl pkey -pubout` prints.
	openssl pkey -in keys/hq.key -pubout > expected.pub
	cmp expected.pub keys/hq.pub
	openssl pkey -in keys/hq.key -noout -text | grep -q '^ED25519 Private-Key'
	id=$(keyid_of keys/hq.pub)
	assert_eq "$(grep '^key id:' "$T_DIR/out" | awk '{ print $3 }')" "$id"
	assert_out "private key: keys/hq.key"
	assert_out "public key:  keys/hq.pub"
	# Two keys differ.
	expect_rc 0 "$SB" keygen hq2
	[ "$(keyid_of keys/hq2.pub)" != "$id" ] || fail "same key twice"
}

test_keygen_refuses_overwrite() {
	expect_rc 0 "$SB" keygen hq
	cp keys/hq.key saved.key
	cp keys/hq.pub saved.pub
	expect_err 1 'sqlbundle: "keys/hq.key" already exists; refusing to overwrite it' \
	    "$SB" keygen hq
	cmp saved.key keys/hq.key
	cmp saved.pub keys/hq.pub
	# Only the .pub left: still refused, no new .key written.
	rm keys/hq.key
	expect_err 1 'sqlbundle: "keys/hq.pub" already exists; refusing to overwrite it' \
	    "$SB" keygen hq
	[ ! -e keys/hq.key ] || fail "a .key appeared"
	cmp saved.pub keys/hq.pub
	# A dangling symlink in the way is not followed.
	ln -s /tmp/sqlbundle-should-not-exist keys/ln.key
	expect_err 1 'already exists' "$SB" keygen ln
	[ ! -e /tmp/sqlbundle-should-not-exist ] || fail "followed the link"
}

test_keygen_bad_names() {
	for n in '' 'a/b' '../x' '.hidden' 'a b' 'x;y'; do
		expect_rc 2 "$SB" keygen "$n"
		grep -qF "sqlbundle: invalid key name \"$n\"" "$T_DIR/err" ||
		    fail "no message for '$n'"
	done
	[ ! -e keys ] || [ -z "$(ls -A keys)" ] || fail "files were written"
}

# -C DIR: the project folder, and relative paths are taken from it.
test_dash_C() {
	mkdir proj
	expect_rc 0 "$SB" -C proj keygen hq
	[ -f proj/keys/hq.key ] || fail "key not under -C DIR"
	[ ! -e keys ] || fail "keys/ made in the current folder"
	assert_out "private key: proj/keys/hq.key"
	expect_err 1 'sqlbundle: "nowhere/sqlbundle.conf" not found: not a sqlbundle project' \
	    "$SB" -C nowhere pack --key keys/hq.key
}

# Both programs check standard output before exiting, the same way: a
# result that could not be written is an I/O error (4), said on stderr.
test_stdout_write_error() {
	local prog
	for prog in "$SB" "$SBA"; do
		expect_err 4 "$(basename "$prog"): could not write to standard output: No space left on device" \
		    sh -c '"$1" --help >/dev/full' sh "$prog"
		expect_err 4 "could not write to standard output" sh -c '"$1" --version >/dev/full' sh "$prog"
	done
	copy_example p
	expect_err 4 "sqlbundle: could not write to standard output" sh -c '"$1" -C p history >/dev/full' sh "$SB"
}
