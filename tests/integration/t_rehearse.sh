# sqlbundle test: the rehearsal on a throwaway server or a scratch
# database, the FINGERPRINTS it records, what check and pack make of them.

assert_err() {
	grep -qF -- "$1" "$T_DIR/err" || { cat "$T_DIR/err"; fail "stderr lacks \"$1\""; }
}

# A revision on top of the example's head: add_rev DIR ID SLUG UP [DOWN].
add_rev() {
	{
		printf -- '-- revision: %s\n-- down_revision: 2864583ca021\n' "$2"
		printf -- '-- message: %s\n\n-- +upgrade\n%s\n' "$3" "$4"
		[ -z "${5:-}" ] || printf -- '\n-- +downgrade\n%s\n' "$5"
	} >"$1/revisions/$2_$3.sql"
}

# The manifest's SHA-256 of ENTRY in BUNDLE.
manifest_sha() {
	tar -xOf "$1" MANIFEST | sed '1,/^$/d' | awk -v e="$2" '$2 == e { print $1 }'
}

test_example_on_a_throwaway_server() {
	copy_example p
	# Nothing of the server or the run is left in TMPDIR afterwards (a
	# short folder: the server's socket is in it).
	local tmp
	tmp=$(mktemp -d /tmp/sb-rehearse.XXXXXX)
	if [ "$(id -u)" -eq 0 ]; then
		# As root the server runs as postgres, which must reach TMPDIR.
		expect_err 4 "the postgres user, which runs the throwaway server, cannot reach \"$tmp\"" \
		    env TMPDIR="$tmp" "$SB" -C p test
		[ -z "$(ls -A "$tmp")" ] || fail "left in TMPDIR: $(ls -A "$tmp")"
	fi
	chmod 755 "$tmp"
	expect_rc 0 env TMPDIR="$tmp" "$SB" -C p test
	cat out err
	[ -z "$(ls -A "$tmp")" ] || fail "left in TMPDIR: $(ls -A "$tmp")"
	rmdir "$tmp"
	assert_out "rehearsed 4 revisions in "
	assert_out ": up 4, down 4, up again 4"
	assert_out "  largest step: "
	assert_out "  fingerprints of 4 revisions written to revisions/FINGERPRINTS (commit it)"
	[ ! -s err ] || fail "stderr: $(cat err)"
	head -n 1 p/revisions/FINGERPRINTS | grep -qx 'Format: sqlbundle-fingerprints-1' ||
		fail "FINGERPRINTS: $(head -n 3 p/revisions/FINGERPRINTS)"
	grep -qx 'Revisions: 5' p/revisions/FINGERPRINTS
	for id in base 000000000001 37a02ec8662a 853113448960 2864583ca021; do
		grep -q "^Revision: $id " p/revisions/FINGERPRINTS || fail "no record of $id"
	done
	# A rehearsal lands nothing: CHECKSUMS is untouched.
	cmp p/revisions/CHECKSUMS "$SB_ROOT/revisions/CHECKSUMS"
	expect_rc 0 "$SB" -C p check
	assert_out "schema fingerprints of 4 of the 4 revisions (revisions/FINGERPRINTS)"
	[ ! -s err ] || fail "check warned: $(cat err)"

	# The bundle carries the file as its first entry, listed in MANIFEST.
	"$SB" -C p keygen hq >/dev/null
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o b.tar.zst
	assert_out "  schema    fingerprints included (FINGERPRINTS)"
	assert_eq "$(tar -tf p/b.tar.zst | sed -n 3p)" FINGERPRINTS
	assert_eq "$(manifest_sha p/b.tar.zst FINGERPRINTS)" \
	    "$(sha256sum < p/revisions/FINGERPRINTS | cut -d' ' -f1)"
	cmp <(tar -xOf p/b.tar.zst FINGERPRINTS) p/revisions/FINGERPRINTS
	audit p/b.tar.zst p/keys/hq.pub >/dev/null || fail "the auditor's recipe failed"

	new_db
	expect_rc 0 "$SBA" upgrade p/b.tar.zst --trust p/keys/hq.pub
	expect_rc 0 "$SBA" drift p/b.tar.zst --trust p/keys/hq.pub
}

# A chain of 300 revisions, seeds and transactional: false ones included,
# rehearsed on a throwaway server; then packed, applied and checked.
test_generated_chain_of_300() {
	"$SB_ROOT/tests/integration/gen_chain.sh" chain 300 64
	local t0 t1
	t0=$(date +%s.%N)
	expect_rc 0 "$SB" -C chain test
	t1=$(date +%s.%N)
	cat out
	assert_out "rehearsed 300 revisions in "
	assert_out ": up 300, down 300, up again 300"
	echo "300 revisions: sqlbundle test $(secs "$t0" "$t1") s ($(sed -n 's/^  //; 2,3p' out | tr '\n' ';'))" |
	    tee -a "$T_DIR/../timings.txt"
	grep -qx 'Revisions: 301' chain/revisions/FINGERPRINTS
	expect_rc 0 "$SB" -C chain check
	assert_out "schema fingerprints of 300 of the 300 revisions"
	"$SB" -C chain keygen hq >/dev/null
	expect_rc 0 "$SB" -C chain pack --key keys/hq.key -o b.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade chain/b.tar.zst --trust chain/keys/hq.pub
	expect_rc 0 "$SBA" drift chain/b.tar.zst --trust chain/keys/hq.pub
}

test_typo_is_named_with_file_line_and_sqlstate() {
	copy_example p
	add_rev p c0ffee000001 typo 'CREATE TABLE public.ok (id int);
ALTR TABLE public.ok ADD COLUMN x int;' 'DROP TABLE public.ok;'
	new_db
	expect_rc 3 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	cat err
	assert_eq "$(sed -n 1p err)" 'sqlbundle: revision "c0ffee000001" (revisions/c0ffee000001_typo.sql:7): syntax error at or near "ALTR"'
	assert_err "SQLSTATE: 42601"
	[ ! -e p/revisions/FINGERPRINTS ] || fail "FINGERPRINTS written by a failed rehearsal"
	[ ! -s out ] || fail "a summary for a failed rehearsal: $(cat out)"
}

test_downgrade_that_does_not_restore_is_a_warning() {
	copy_example p
	# The downgrade forgets the column and a table of the till application,
	# which the chain does not own; IF NOT EXISTS lets the upgrade run again.
	add_rev p c0ffee000002 leaky 'ALTER TABLE core.store ADD COLUMN IF NOT EXISTS nickname text;
CREATE TABLE IF NOT EXISTS public.pos_app_cache (id int);
CREATE TABLE public.kept (id int);' 'DROP TABLE public.kept;'
	echo 'fingerprint-exclude = public.pos_app_*' >>p/sqlbundle.conf
	new_db
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	cat err
	assert_err "sqlbundle: warning: the downgrade of c0ffee000002 (c0ffee000002_leaky.sql) does not give back the schema its upgrade started from (1 object differs)"
	assert_err "  column core.store.nickname: not in the expected schema"
	# Reported once, not again at every downgrade below it.
	assert_eq "$(grep -c '^sqlbundle: warning: ' err)" 1
	assert_out "  1 warning (see above)"
	grep -q '^Revision: c0ffee000002 ' p/revisions/FINGERPRINTS
	grep -qx 'Exclude: public.pos_app_\*' p/revisions/FINGERPRINTS
	! grep -q pos_app_cache p/revisions/FINGERPRINTS || fail "an excluded table was recorded"
}

test_upgrade_again_that_differs_is_a_warning() {
	copy_example p
	# The downgrade adds instead of dropping; the upgrade then finds the table.
	add_rev p c0ffee000005 odd 'CREATE TABLE IF NOT EXISTS public.x (id int);' \
	    'ALTER TABLE public.x ADD COLUMN extra int;'
	new_db
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	cat err
	assert_err "sqlbundle: warning: the downgrade of c0ffee000005 (c0ffee000005_odd.sql) does not give back the schema its upgrade started from (3 objects differ)"
	assert_err "sqlbundle: warning: upgrading again from base gives another schema than the first upgrade to c0ffee000005 (1 object differs)"
	assert_err "  column public.x.extra: not in the expected schema"
	assert_eq "$(grep -c '^sqlbundle: warning: ' err)" 2
}

test_failed_downgrade_is_named() {
	copy_example p
	add_rev p c0ffee000006 down_typo 'CREATE TABLE public.y (id int);' 'DRP TABLE public.y;'
	new_db
	expect_rc 3 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	assert_eq "$(sed -n 1p err)" 'sqlbundle: downgrading: revision "c0ffee000006" (revisions/c0ffee000006_down_typo.sql:9): syntax error at or near "DRP"'
	assert_err "SQLSTATE: 42601"
	[ ! -e p/revisions/FINGERPRINTS ] || fail "FINGERPRINTS written by a failed rehearsal"
}

test_check_names_revisions_without_fingerprint() {
	copy_example p
	expect_rc 0 "$SB" -C p check
	assert_out 'no schema fingerprints recorded (revisions/FINGERPRINTS): run "sqlbundle test"'
	new_db
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	add_rev p c0ffee000003 later 'CREATE TABLE public.later (id int);' 'DROP TABLE public.later;'
	expect_rc 0 "$SB" -C p check
	assert_out "schema fingerprints of 4 of the 5 revisions (revisions/FINGERPRINTS)"
	assert_eq "$(cat err)" 'sqlbundle: warning: revision "c0ffee000003" (p/revisions/c0ffee000003_later.sql): no recorded schema fingerprint (run "sqlbundle test")'
	# pack says so too, and packs
	"$SB" -C p keygen hq >/dev/null
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o b.tar.zst
	assert_err "sqlbundle: warning: 1 of the 5 revisions have no recorded fingerprint"
}

test_pack_refuses_a_revision_changed_after_the_rehearsal() {
	copy_example p
	add_rev p c0ffee000004 edited 'CREATE TABLE public.e (id int);' 'DROP TABLE public.e;'
	new_db
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	add_rev p c0ffee000004 edited 'CREATE TABLE public.e (id bigint);' 'DROP TABLE public.e;'
	"$SB" -C p keygen hq >/dev/null
	expect_err 1 'revision "c0ffee000004" (p/revisions/c0ffee000004_edited.sql) changed after its fingerprint was recorded in p/revisions/FINGERPRINTS' \
	    "$SB" -C p pack --key keys/hq.key -o b.tar.zst
	assert_err 'HINT: run "sqlbundle test" again'
	[ ! -e p/b.tar.zst ] || fail "bundle written"
	expect_err 1 "changed after its fingerprint was recorded" "$SB" -C p check
	# The rehearsal itself ignores the stale file (its bundle carries
	# none: nothing to refuse) and records afresh.
	new_db "${T_NAME}_again"
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	[ ! -s err ] || fail "stderr: $(cat err)"
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o b.tar.zst
}

test_fingerprints_are_signed() {
	copy_example p
	new_db
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	"$SB" -C p keygen hq >/dev/null
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o b.tar.zst
	new_db "${T_NAME}_store"
	# One expected object fewer, under the same signature.
	tar -xOf p/b.tar.zst FINGERPRINTS | sed '$d' >fp.tampered
	/usr/bin/python3 - p/b.tar.zst fp.tampered tampered.tar <<'EOF'
import io, subprocess, sys, tarfile
src, repl, out = sys.argv[1:4]
raw = subprocess.run(["zstd", "-q", "-d", "-c", src], check=True,
                     stdout=subprocess.PIPE).stdout
with tarfile.open(fileobj=io.BytesIO(raw)) as t, \
        tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name == "FINGERPRINTS":
            data = open(repl, "rb").read()
            m.size = len(data)
        o.addfile(m, io.BytesIO(data))
EOF
	zstd -q tampered.tar -o tampered.tar.zst
	expect_err 1 "FINGERPRINTS" "$SBA" verify tampered.tar.zst --trust p/keys/hq.pub
	expect_err 1 "FINGERPRINTS" "$SBA" upgrade tampered.tar.zst --trust p/keys/hq.pub
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('core', 'acct')")" 0
	# A bundle packed without a rehearsal says so, and applies.
	rm p/revisions/FINGERPRINTS
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o plain.tar.zst
	assert_out "  schema    no fingerprints: drift cannot be checked"
	[ "$(tar -tf p/plain.tar.zst | grep -c FINGERPRINTS)" -eq 0 ]
	expect_rc 0 "$SBA" upgrade p/plain.tar.zst --trust p/keys/hq.pub
}

test_usage() {
	expect_err 2 'test: unexpected argument "x"' "$SB" test x
	expect_err 2 "test: --pgbin is for the throwaway server, not --scratch" \
	    "$SB" test --scratch dbname=x --pgbin /nonexistent
	copy_example p
	expect_err 2 'no PostgreSQL server programs (initdb, pg_ctl) in "/nonexistent"' \
	    "$SB" -C p test --pgbin /nonexistent
	expect_err 4 'could not run "/nonexistent" (exit status 127)' \
	    "$SB" -C p test --applier /nonexistent
	printf '#!/bin/sh\necho "sqlbundle-apply 0.0.1"\n' >old-apply
	chmod +x old-apply
	expect_err 4 "\"$T_DIR/old-apply\" is \"sqlbundle-apply 0.0.1\", not this sqlbundle's version" \
	    env SQLBUNDLE_APPLY="$T_DIR/old-apply" "$SB" -C p test
	expect_rc 0 "$SB" test --help
	assert_out "Usage: sqlbundle test"
}

# The applier's --fingerprints, which the rehearsal drives: the schema
# before the run and after each step, as a FINGERPRINTS file, the same
# bytes as the rehearsal's; after a failed step, those that committed.
test_applier_records_fingerprints() {
	copy_example p
	echo 'fingerprint-exclude = public.pos_app_*' >>p/sqlbundle.conf
	new_db "${T_NAME}_hq"
	expect_rc 0 "$SB" -C p test --scratch "dbname=$PGDATABASE"
	"$SB" -C p keygen hq >/dev/null
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o b.tar.zst
	new_db
	q 'CREATE TABLE public.pos_app_cache (id int)'
	expect_rc 0 "$SBA" --json upgrade p/b.tar.zst --trust p/keys/hq.pub \
	    --fingerprints up.fp --exclude 'public.pos_app_*'
	cmp up.fp p/revisions/FINGERPRINTS || fail "records differ from the rehearsal's"
	assert_eq "$(grep -c '"event":"fingerprint_recorded"' out)" 5
	grep -q '^{"event":"fingerprint_recorded","revision":"base","digest":"[0-9a-f]\{64\}","objects":[0-9]*,"seconds":[0-9.]*}$' out ||
		fail "no base record event: $(cat out)"
	# The head's record is what `fingerprint` prints.
	assert_eq "$(sed -n 's/^Revision: 2864583ca021 \([0-9a-f]*\) .*/\1/p' up.fp)" \
	    "$("$SBA" fingerprint --exclude 'public.pos_app_*' 2>/dev/null | sha256sum | cut -d' ' -f1)"

	# Down two: the head it started from, then each revision reached.
	expect_rc 0 "$SBA" -q downgrade p/b.tar.zst -2 --trust p/keys/hq.pub --fingerprints down.fp
	assert_eq "$(grep '^Revision: ' down.fp | cut -d' ' -f2 | tr '\n' ' ')" \
	    "2864583ca021 853113448960 37a02ec8662a "
	grep -qx 'Revisions: 3' down.fp
	! grep -q '^Exclude:' down.fp || fail "an exclusion not given"
	# An unrehearsed bundle records all the same, and a run with
	# nothing to do records where the database is.
	rm p/revisions/FINGERPRINTS
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o plain.tar.zst
	expect_rc 0 "$SBA" -q upgrade p/plain.tar.zst 37a02ec8662a --trust p/keys/hq.pub --fingerprints none.fp
	assert_eq "$(grep '^Revision: ' none.fp | cut -d' ' -f2)" 37a02ec8662a

	# A step that fails: the records before it are written.
	add_rev p c0ffee000007 broken 'CREATE TABLE public.z (id int);
SELECT 1/0;'
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o broken.tar.zst
	expect_rc 3 "$SBA" -q upgrade p/broken.tar.zst --trust p/keys/hq.pub --fingerprints broken.fp
	assert_eq "$(grep '^Revision: ' broken.fp | cut -d' ' -f2 | tr '\n' ' ')" \
	    "37a02ec8662a 853113448960 2864583ca021 "

	expect_err 2 "--fingerprints is for upgrade and downgrade, not status" \
	    "$SBA" status --fingerprints x.fp
	expect_err 2 'exclude pattern "a.b.c": expected "schema" or "schema.object"' "$SBA" upgrade p/b.tar.zst --trust p/keys/hq.pub \
	    --fingerprints x.fp --exclude 'a.b.c'
	[ ! -e x.fp ] || fail "records of a refused run"
}
