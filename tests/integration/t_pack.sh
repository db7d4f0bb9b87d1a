# sqlbundle pack, verify and inspect: bundle layout, reproducibility,
# refusals, atomic output, and checks with stock tools only.

# A small project in $1 (default .): a1 -> b2 (irreversible) -> c3, seed
# data for a1 and c3, and a key hq.
tiny_project() {
	local d=${1:-.}
	mkdir -p "$d/revisions" "$d/seeds/a1" "$d/seeds/c3"
	echo "project = tiny" > "$d/sqlbundle.conf"
	cat > "$d/revisions/a1_first.sql" <<'EOF'
-- revision: a1
-- message: first table

-- +upgrade
CREATE TABLE t (id int PRIMARY KEY, name text);

-- +downgrade
DROP TABLE t;
EOF
	cat > "$d/revisions/b2_second.sql" <<'EOF'
-- revision: b2
-- down_revision: a1
-- message: add a column, for good

-- +upgrade
ALTER TABLE t ADD COLUMN note text;
EOF
	cat > "$d/revisions/c3_third.sql" <<'EOF'
-- revision: c3
-- down_revision: b2
-- message: more rows
-- transactional: false

-- +upgrade
CREATE INDEX CONCURRENTLY IF NOT EXISTS t_name ON t (name);

-- +downgrade
DROP INDEX CONCURRENTLY IF EXISTS t_name;
EOF
	printf 'id,name\n1,one\n' > "$d/seeds/a1/public.t.csv"
	printf 'id,name\n2,two\n3,three\n' > "$d/seeds/c3/01-public.t.csv"
	printf "UPDATE t SET note = 'seeded';\n" > "$d/seeds/c3/02-fix.sql"
	"$SB" -C "$d" keygen hq > /dev/null
}

# No bundle and no temporary file left in bundles/ (or $1).
assert_no_output() {
	local dir=${1:-bundles}
	if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
		ls -la "$dir"
		fail "$dir is not empty"
	fi
}

test_pack_entries_in_order() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key
	B=bundles/tiny-base-c3.tar.zst
	[ -f "$B" ] || fail "no $B"
	assert_out "bundle $B"
	cat > want <<'EOF'
MANIFEST
MANIFEST.sig
upgrade/0001_a1.sql
upgrade/0002_b2.sql
upgrade/0003_c3.sql
downgrade/0001_a1.sql
downgrade/0003_c3.sql
seeds/0001_a1/public.t.csv
seeds/0003_c3/01-public.t.csv
seeds/0003_c3/02-fix.sql
EOF
	tar -tf "$B" > got
	diff -u want got
	# Plain ustar, fixed owner, mode and mtime (SOURCE_DATE_EPOCH).
	tar -tvf "$B" --full-time | awk '$1 != "-rw-r--r--" || $2 != "0/0" ||
	    $4 != "2023-11-14" || $5 != "22:13:20" { print; bad = 1 }
	    END { exit bad }'
	zstd -dc "$B" > plain.tar
	[ "$(dd if=plain.tar bs=1 skip=257 count=6 2>/dev/null | od -An -c |
	    tr -d ' ')" = 'ustar\0' ] || fail "not ustar"
	[ "$(dd if=plain.tar bs=1 skip=265 count=64 2>/dev/null | tr -d '\0')" = "" ] ||
	    fail "uname/gname not empty"
	# Entries hold the exact bytes of the sources.
	printf 'CREATE TABLE t (id int PRIMARY KEY, name text);\n\n' > up1
	tar -xOf "$B" upgrade/0001_a1.sql | cmp - up1
	printf 'DROP TABLE t;\n' > down1
	tar -xOf "$B" downgrade/0001_a1.sql | cmp - down1
	tar -xOf "$B" seeds/0003_c3/01-public.t.csv | cmp - seeds/c3/01-public.t.csv
	tar -xOf "$B" seeds/0003_c3/02-fix.sql | cmp - seeds/c3/02-fix.sql
	# One compression layer, no long mode.
	zstd -lv "$B" 2>&1 | grep -q 'Zstandard Frames: 1'
}

test_pack_manifest_header() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key
	B=bundles/tiny-base-c3.tar.zst
	tar -xOf "$B" MANIFEST > MANIFEST
	id=$(openssl pkey -pubin -in keys/hq.pub -outform DER | tail -c 32 |
	    sha256sum | cut -c1-16)
	size=$(cat revisions/*.sql seeds/*/* | wc -c)
	# Sizes of the script entries, not of whole files: add them up.
	size=$(tar -tvf "$B" | awk 'NR > 2 { s += $3 } END { print s }')
	cat > want <<EOF
Format: sqlbundle-1
Project: tiny
Created: 2023-11-14T22:13:20Z
From: base
To: c3
Key-Id: $id
Entries: 8
Unpacked-Size: $size
EOF
	head -n 8 MANIFEST | diff -u want -
	grep -q '^Revision: 0001 a1 parents=- transactional=true file=a1_first.sql ' MANIFEST
	grep -q '^Revision: 0002 b2 parents=a1 transactional=true file=b2_second.sql .* downgrade=- message=add a column, for good$' MANIFEST
	grep -q '^Revision: 0003 c3 parents=b2 transactional=false ' MANIFEST
	# The bundle id is the SHA-256 of MANIFEST.
	assert_out "id        $(sha256sum MANIFEST | cut -c1-64)"
	assert_out "size      $(stat -c %s "$B") bytes"
	[ "$(tar -xOf "$B" MANIFEST.sig | wc -c)" -eq 64 ] || fail "sig size"
}

test_pack_openssl_and_audit() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key
	audit "$PWD/bundles/tiny-base-c3.tar.zst" "$PWD/keys/hq.pub"
	# A gzip bundle passes the same recipe.
	expect_rc 0 "$SB" pack --key keys/hq.key --compress gzip
	audit "$PWD/bundles/tiny-base-c3.tar.gz" "$PWD/keys/hq.pub"
	# Another key does not verify the signature.
	"$SB" keygen other > /dev/null
	if audit "$PWD/bundles/tiny-base-c3.tar.zst" "$PWD/keys/other.pub"; then
		fail "verified under the wrong key"
	fi
	# A changed byte in a script: the recipe and verify both refuse.
	zstd -qdc bundles/tiny-base-c3.tar.zst > plain.tar
	/usr/bin/python3 -c '
import sys
b = open("plain.tar", "rb").read()
i = b.index(b"CREATE TABLE t")
open("plain.tar", "wb").write(b[:i] + b"create" + b[i + 6:])
'
	zstd -q plain.tar -o tampered.tar.zst
	if audit "$PWD/tampered.tar.zst" "$PWD/keys/hq.pub"; then
		fail "the recipe accepted a tampered bundle"
	fi
	expect_err 1 'upgrade/0001_a1.sql' "$SB" verify tampered.tar.zst \
	    --trust keys/hq.pub
}

test_pack_reproducible() {
	tiny_project
	for c in zstd gzip; do
		expect_rc 0 "$SB" pack --key keys/hq.key --compress $c -o one.$c
		# Until the clock has moved on: the same bytes at another time.
		t=$(date +%s)
		wait_for '[ "$(date +%s)" != "$t" ]'
		expect_rc 0 "$SB" pack --key keys/hq.key --compress $c -o two.$c
		cmp one.$c two.$c || fail "$c bundles differ"
		SOURCE_DATE_EPOCH=1700000001 expect_rc 0 "$SB" pack \
		    --key keys/hq.key --compress $c -o three.$c
		if cmp -s one.$c three.$c; then
			fail "SOURCE_DATE_EPOCH ignored ($c)"
		fi
	done
	# gzip: no time in the header (bytes 4-7), no file name flag.
	assert_eq "$(od -An -tx1 -j3 -N5 one.gzip | tr -d ' ')" 0000000000
	gzip -t one.gzip
	# Without SOURCE_DATE_EPOCH nor git history: a fixed time, not the clock.
	env -u SOURCE_DATE_EPOCH "$SB" pack --key keys/hq.key -o now.zstd > out
	tar -xOf now.zstd MANIFEST | grep -q "^Created: 1970-01-01T00:00:00Z"
	grep -qx '  created   1970-01-01T00:00:00Z (fixed: 1970-01-01, no git history of revisions/ or seeds/)' out
}

test_pack_level_and_names() {
	tiny_project
	rm -rf bundles
	expect_rc 0 "$SB" pack --key keys/hq.key --compress gzip --level 9
	[ -f bundles/tiny-base-c3.tar.gz ] || fail "bundles/ not created"
	mkdir outdir
	expect_rc 0 "$SB" pack --key keys/hq.key --level 19 -o outdir/x.tzst
	tar -tf outdir/x.tzst | head -n 1 | grep -qx MANIFEST
	# -C DIR: paths relative to the project.
	mkdir elsewhere
	cd elsewhere
	expect_rc 0 "$SB" -C .. pack --key keys/hq.key --to a1
	assert_out "bundle ../bundles/tiny-base-a1.tar.zst"
	[ -f ../bundles/tiny-base-a1.tar.zst ]
	[ -z "$(ls -A .)" ] || fail "wrote into the current folder"
}

test_pack_subsets() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key --from a1 --to b2
	B=bundles/tiny-a1-b2.tar.zst
	printf 'MANIFEST\nMANIFEST.sig\nupgrade/0001_b2.sql\n' > want
	tar -tf "$B" | diff -u want -
	tar -xOf "$B" MANIFEST | grep -qx 'From: a1'
	tar -xOf "$B" MANIFEST | grep -qx 'To: b2'
	tar -xOf "$B" MANIFEST | grep -qx 'Entries: 1'

	expect_rc 0 "$SB" pack --key keys/hq.key --to a1
	printf 'MANIFEST\nMANIFEST.sig\nupgrade/0001_a1.sql\ndowngrade/0001_a1.sql\nseeds/0001_a1/public.t.csv\n' > want
	tar -tf bundles/tiny-base-a1.tar.zst | diff -u want -

	expect_rc 0 "$SB" pack --key keys/hq.key --from b2 --to head
	printf 'MANIFEST\nMANIFEST.sig\nupgrade/0001_c3.sql\ndowngrade/0001_c3.sql\nseeds/0001_c3/01-public.t.csv\nseeds/0001_c3/02-fix.sql\n' > want
	tar -tf bundles/tiny-b2-c3.tar.zst | diff -u want -
	expect_rc 0 "$SB" pack --key keys/hq.key --from base --to c3
	[ -f bundles/tiny-base-c3.tar.zst ]

	ls bundles > before
	expect_err 1 'revision "b2" is not after "c3"' "$SB" pack --key keys/hq.key --from c3 --to b2
	expect_err 1 'unknown revision "zz" (--from)' "$SB" pack --key keys/hq.key --from zz
	ls bundles | diff before -
}

test_pack_example_project() {
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key
	B=$(ls proj/bundles/*.tar.zst)
	[ "$(echo "$B" | wc -l)" -eq 1 ] || fail "one bundle expected"
	case $B in
	proj/bundles/arcoirispos-base-*.tar.zst) ;;
	*) fail "bundle name $B" ;;
	esac
	tar -xOf "$B" MANIFEST > MANIFEST
	# The chain of the spec, in apply order.
	grep '^Revision: ' MANIFEST | awk '{ print $3 }' | head -n 4 > ids
	printf '000000000001\n37a02ec8662a\n853113448960\n2864583ca021\n' > want
	diff -u want ids
	# Entry order: MANIFEST, MANIFEST.sig, then exactly the manifest's list.
	sed '1,/^$/d' MANIFEST | cut -c67- > listed
	tar -tf "$B" > got
	head -n 2 got | tr '\n' ' ' | grep -qx 'MANIFEST MANIFEST.sig '
	tail -n +3 got | diff -u listed -
	audit "$PWD/$B" "$PWD/proj/keys/hq.pub"
	(cd proj/revisions && sha256sum -c --quiet CHECKSUMS)
}

test_pack_refuses_edited_revision() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key
	cat > want <<EOF
$(sha256sum revisions/a1_first.sql | cut -c1-64)  a1_first.sql
$(sha256sum revisions/b2_second.sql | cut -c1-64)  b2_second.sql
$(sha256sum revisions/c3_third.sql | cut -c1-64)  c3_third.sql
EOF
	diff -u want revisions/CHECKSUMS
	rm bundles/*
	echo "-- one more comment" >> revisions/b2_second.sql
	expect_err 1 'sqlbundle: revision file "revisions/b2_second.sql" was edited after it was packed' \
	    "$SB" pack --key keys/hq.key
	grep -q '^HINT: landed revisions never change' "$T_DIR/err"
	assert_no_output
	# A removed landed revision is refused too.
	rm revisions/b2_second.sql
	sed -i 's/^-- down_revision: b2/-- down_revision: a1/' revisions/c3_third.sql
	expect_err 1 'revision file "revisions/b2_second.sql" was packed' \
	    "$SB" pack --key keys/hq.key
}

# Only what was packed is frozen: later revisions may still change.
test_pack_records_only_packed() {
	tiny_project
	expect_rc 0 "$SB" pack --key keys/hq.key --to a1
	assert_eq "$(cut -c67- revisions/CHECKSUMS)" a1_first.sql
	echo "-- still a draft" >> revisions/c3_third.sql
	expect_rc 0 "$SB" pack --key keys/hq.key
	assert_eq "$(cut -c67- revisions/CHECKSUMS | tr '\n' ' ')" \
	    "a1_first.sql b2_second.sql c3_third.sql "
}

test_pack_refuses_open_key() {
	tiny_project
	chmod 644 keys/hq.key
	expect_err 1 'sqlbundle: private key "keys/hq.key" is accessible by other users (mode 0644); chmod 600 it' \
	    "$SB" pack --key keys/hq.key
	assert_no_output
	chmod 640 keys/hq.key
	expect_err 1 '(mode 0640); chmod 600 it' "$SB" pack --key keys/hq.key
	chmod 600 keys/hq.key
	expect_rc 0 "$SB" pack --key keys/hq.key
}

test_pack_refuses_symlinked_key() {
	tiny_project
	ln -s hq.key keys/link.key
	expect_err 1 'sqlbundle: private key "keys/link.key" is a symbolic link' \
	    "$SB" pack --key keys/link.key
	assert_no_output
	expect_err 1 'is not a regular file' "$SB" pack --key keys
	expect_err 4 'could not open private key "keys/none.key"' \
	    "$SB" pack --key keys/none.key
}

test_pack_refuses_encrypted_key() {
	tiny_project
	openssl genpkey -algorithm ed25519 -aes256 -pass pass:x -out keys/enc.key
	chmod 600 keys/enc.key
	# Never prompts: stdin is a terminal-less pipe that would hang a prompt.
	expect_err 1 'sqlbundle: private key "keys/enc.key" is encrypted; sqlbundle never asks for a password' \
	    timeout 120 "$SB" pack --key keys/enc.key < /dev/null
	assert_no_output
}

test_pack_refuses_other_key_types() {
	tiny_project
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/rsa.key 2>/dev/null
	chmod 600 keys/rsa.key
	expect_err 1 'sqlbundle: private key "keys/rsa.key" is not an Ed25519 key (it is RSA)' \
	    "$SB" pack --key keys/rsa.key
	cp keys/hq.pub keys/pub.key
	chmod 600 keys/pub.key
	expect_err 1 'sqlbundle: "keys/pub.key" is a public key; --key takes the private key (NAME.key) it belongs to' "$SB" pack --key keys/pub.key
	assert_no_output
}

test_pack_failed_write_leaves_nothing() {
	tiny_project
	{ echo id; head -c 300000 /dev/urandom | od -An -tx1; } > seeds/c3/03-public.big.csv
	# A 64 KiB file-size limit: the write fails (EFBIG, not SIGXFSZ).
	rc=0
	(ulimit -f 64; "$SB" pack --key keys/hq.key) > out 2> err || rc=$?
	assert_eq "$rc" 4 "exit status"
	grep -qE '^sqlbundle: could not write "bundles/tiny-base-c3.tar.zst.tmp.[0-9]+"( \(.*\))?: File too large$' err ||
	    fail "message: $(cat err)"
	assert_no_output
	[ ! -e revisions/CHECKSUMS ] || fail "CHECKSUMS written for a failed pack"
	# Target folder missing: nothing created anywhere.
	expect_err 4 'could not create "nowhere/x.tar.zst.tmp.' \
	    "$SB" pack --key keys/hq.key -o nowhere/x.tar.zst
	[ ! -e nowhere ] || fail "folder created"
}

test_pack_interrupted_leaves_nothing() {
	tiny_project
	{ echo id; head -c 48000000 /dev/urandom; } > seeds/c3/03-public.big.csv
	for sig in INT TERM; do
		"$SB" pack --key keys/hq.key --level 19 > out 2> err &
		pid=$!
		# Wait until the temporary file exists, then interrupt.
		wait_for 'ls bundles/*.tmp.* > /dev/null 2>&1 || ! kill -0 $pid 2> /dev/null'
		kill -$sig $pid 2> /dev/null || fail "pack ended before SIG$sig"
		rc=0
		wait $pid || rc=$?
		[ $rc -gt 128 ] || fail "pack exited $rc after SIG$sig"
		assert_no_output
	done
	[ ! -e revisions/CHECKSUMS ] || fail "CHECKSUMS written"
}

test_pack_memory_flat() {
	tiny_project
	{ echo id; head -c 200000000 /dev/zero; } > seeds/c3/03-public.big.csv
	/usr/bin/time -f '%M' -o rss "$SB" pack --key keys/hq.key > /dev/null
	# Max RSS in KiB: far below the 200 MB seed.
	[ "$(cat rss)" -lt 65536 ] || fail "max RSS $(cat rss) KiB"
	tar -tvf bundles/tiny-base-c3.tar.zst | grep -q ' 200000003 .*seeds/0003_c3/03-public.big.csv$'
}

test_verify_and_inspect() {
	tiny_project
	"$SB" pack --key keys/hq.key > /dev/null
	B=bundles/tiny-base-c3.tar.zst
	id=$(tar -xOf "$B" MANIFEST | sha256sum | cut -c1-64)
	kid=$(openssl pkey -pubin -in keys/hq.pub -outform DER | tail -c 32 |
	    sha256sum | cut -c1-16)
	expect_rc 0 "$SB" verify "$B" --trust keys/hq.pub
	cat > want <<EOF
bundle OK: $B
  id        $id
  trust     no root: the one key keys/hq.pub
  signed by key $kid (keys/hq.pub)
  project   tiny
  from      base
  to        c3
  revisions 3
  entries   8
EOF
	diff -u want "$T_DIR/out"
	expect_rc 0 "$SB" verify "$B" --trust keys --json
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["event"] == "verify" and d["bundle_id"] == sys.argv[2] and d["key_id"] == sys.argv[3], d
assert d["revision_count"] == 3 and d["entry_count"] == 8 and d["to"] == "c3", d
' "$T_DIR/out" "$id" "$kid"
	"$SB" keygen other > /dev/null
	expect_err 1 "bundle signed by untrusted key $kid" \
	    "$SB" verify "$B" --trust keys/other.pub
	expect_rc 1 "$SB" verify "$B" --trust keys/other.pub --json
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["event"] == "error" and "untrusted key" in d["message"] and d["code"] == 1, d
' "$T_DIR/out"
	# Default trust folder from the environment.
	SQLBUNDLE_TRUST=$PWD/keys expect_rc 0 "$SB" verify "$B"

	expect_rc 0 "$SB" inspect "$B"
	head -n 1 "$T_DIR/out" | grep -q '^UNVERIFIED: '
	assert_out "id:     $id"
	# The manifest as signed follows the header block.
	sed '1,/^$/d' "$T_DIR/out" > shown
	tar -xOf "$B" MANIFEST | cmp - shown
	expect_rc 0 "$SB" inspect "$B" --trust keys/hq.pub
	head -n 1 "$T_DIR/out" | grep -qx "verified: signed by key $kid (keys/hq.pub), every entry matches"
	if grep -q UNVERIFIED "$T_DIR/out"; then fail "marked unverified"; fi
	expect_err 1 "untrusted key" "$SB" inspect "$B" --trust keys/other.pub
}

# inspect reads only MANIFEST and MANIFEST.sig: a payload cut off is
# still shown (unverified), and verify refuses it.
test_inspect_truncated_unverified() {
	tiny_project
	{ echo id; head -c 200000 /dev/urandom; } > seeds/c3/03-public.big.csv
	"$SB" pack --key keys/hq.key --compress gzip > /dev/null
	B=bundles/tiny-base-c3.tar.gz
	head -c $(( $(stat -c %s $B) / 2 )) $B > cut.tar.gz
	expect_rc 0 "$SB" inspect cut.tar.gz
	head -n 1 "$T_DIR/out" | grep -q '^UNVERIFIED: '
	assert_out "Project: tiny"
	expect_rc 1 "$SB" verify cut.tar.gz --trust keys/hq.pub
}

# A seed file that changes between hashing and writing aborts the pack.
test_pack_seed_changed_while_packing() {
	tiny_project
	{ echo id; head -c 8000000 /dev/urandom; } > seeds/c3/03-public.big.csv
	echo "SELECT 1;" > seeds/c3/04-late.sql
	"$SB" pack --key keys/hq.key --level 19 > out.txt 2> err.txt &
	pid=$!
	# Hashing is over once the temporary file exists; the pack is
	# stopped while the late file changes (8 MB at level 19 come first).
	wait_for 'ls bundles/*.tmp.* > /dev/null 2>&1 || ! kill -0 $pid 2> /dev/null'
	kill -STOP $pid 2> /dev/null || fail "pack ended before the change"
	echo "SELECT 2;" >> seeds/c3/04-late.sql
	kill -CONT $pid
	rc=0
	wait $pid || rc=$?
	assert_eq "$rc" 4 "exit status"
	grep -qx 'sqlbundle: seed file "seeds/c3/04-late.sql" changed while it was being packed' err.txt ||
	    fail "message: $(cat err.txt)"
	assert_no_output
	[ ! -e revisions/CHECKSUMS ] || fail "CHECKSUMS written"
}
