# The chunked-seed window: a signed gzip bundle rewritten in place, one
# row in the middle of a large CSV seed changed, after the first chunks
# of a chunked load have committed. The changed row must never be
# committed; with the original put back, a rerun ends where an
# uninterrupted run ends.
#
# The applier is held still while the file is rewritten, by a trigger
# that waits for an advisory lock the test holds (on row GATE_ID, a few
# chunks in): no timing, and the rewrite lands while the applier has read
# only the start of the file.

WINDOW_ROWS=${WINDOW_ROWS:-1200000}
WINDOW_CHUNK=256K
GATE_KEY=4242
GATE_ID=40000

# Project p: a1 (schema app), b2 (table app.t, its gate trigger, the
# seed of WINDOW_ROWS rows); packed with gzip into original.tar.gz.
window_project() {
	mkdir -p p/revisions p/seeds/b2 p/keys
	echo "project = window" > p/sqlbundle.conf
	printf -- '-- revision: a1\n-- message: schema\n\n-- +upgrade\nCREATE SCHEMA app;\n\n-- +downgrade\nDROP SCHEMA app CASCADE;\n' \
	    > p/revisions/a1_schema.sql
	cat > p/revisions/b2_rows.sql <<EOF
-- revision: b2
-- down_revision: a1
-- message: rows, loaded in chunks

-- +upgrade
CREATE TABLE app.t (id int PRIMARY KEY, name text NOT NULL);
CREATE FUNCTION app.gate() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM pg_advisory_xact_lock_shared($GATE_KEY);
    RETURN NEW;
END \$\$;
CREATE TRIGGER gate BEFORE INSERT ON app.t FOR EACH ROW
    WHEN (NEW.id = $GATE_ID) EXECUTE FUNCTION app.gate();

-- +downgrade
DROP TABLE app.t;
DROP FUNCTION app.gate();
EOF
	awk -v n="$WINDOW_ROWS" 'BEGIN { print "id,name"; for (i = 1; i <= n; i++) printf "%d,row %d\n", i, i }' \
	    > p/seeds/b2/app.t.csv
	"$SB" -C p keygen hq > /dev/null
	"$SB" -C p pack --key keys/hq.key --compress gzip -o "$PWD/packed.tar.gz" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/p/keys/hq.pub
	# The same signed tar, and a copy with one row changed in the
	# middle (same length), each through gzip -n: their compressed bytes
	# agree up to near the change, so a rewrite in place changes only
	# what the applier has not read yet.
	gzip -dc packed.tar.gz > original.tar
	/usr/bin/python3 - original.tar changed.tar "$((WINDOW_ROWS / 2))" <<'EOF'
import sys
src, dst, mid = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
old = ("\n%s,row %s\n" % (mid, mid)).encode()
assert data.count(old) == 1, "row %s not found once" % mid
open(dst, "wb").write(data.replace(old, old.replace(b"row", b"ROW")))
EOF
	gzip -n -6 -c original.tar > original.tar.gz
	gzip -n -6 -c changed.tar > changed.tar.gz
	local same size
	same=$(cmp original.tar.gz changed.tar.gz | awk '{ sub(",", "", $5); print $5 }')
	size=$(stat -c %s original.tar.gz)
	[ "$same" -gt $((size / 3)) ] ||
	    fail "the gzip files differ from byte $same of $size: too early for the test"
	rm original.tar changed.tar packed.tar.gz
}

test_rewritten_in_place_while_loading() {
	window_project
	# The reference: an uninterrupted run.
	new_db window_ref
	expect_rc 0 "$SBA" verify original.tar.gz
	expect_rc 0 "$SBA" --chunk-size "$WINDOW_CHUNK" upgrade original.tar.gz
	table_digest > ref.tables
	assert_eq "$(q 'SELECT count(*) FROM app.t')" "$WINDOW_ROWS"

	new_db window
	cp original.tar.gz bundle.tar.gz
	local inode pid rc=0
	inode=$(stat -c %i bundle.tar.gz)
	hold_advisory "$GATE_KEY"
	"$SBA" --chunk-size "$WINDOW_CHUNK" upgrade bundle.tar.gz > run.out 2> run.err 3>&- &
	pid=$!
	# Chunks committed, and the applier held at the gate row.
	wait_for '[ "$(q "SELECT count(*) FROM sqlbundle.progress WHERE seed_offset > 0" 2> /dev/null)" = 1 ] &&
	    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event = '"'advisory'"'")" = 1 ]'
	cat changed.tar.gz > bundle.tar.gz
	assert_eq "$(stat -c %i bundle.tar.gz)" "$inode" "rewritten in place"
	release_session
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ] || { cat run.err; fail "upgrade exited $rc, expected 1"; }
	grep -q '^sqlbundle-apply: revision "b2": seeds/0002_b2/app.t.csv: bytes [0-9]* to [0-9]* changed since the bundle was verified$' run.err ||
	    fail "no clear error: $(cat run.err)"
	grep -q '^HINT: put the signed bundle back and run the same command again$' run.err ||
	    fail "no hint: $(cat run.err)"
	# Nothing unsigned in the database: the changed row was never
	# committed; the chunks before it were.
	assert_eq "$(q "SELECT count(*) FROM app.t WHERE name <> 'row ' || id")" 0 "changed rows"
	local kept
	kept=$(q 'SELECT count(*) FROM app.t')
	[ "$kept" -ge "$GATE_ID" ] && [ "$kept" -lt $((WINDOW_ROWS / 2)) ] ||
	    fail "$kept rows committed, expected the chunks before row $((WINDOW_ROWS / 2))"
	assert_eq "$(q 'SELECT max(id) FROM app.t')" "$kept" "committed rows are a prefix"
	echo "window: $kept of $WINDOW_ROWS rows committed before the changed chunk" |
	    tee -a "$T_DIR/../window.txt"

	# The original put back: the rerun resumes and ends as the reference.
	cat original.tar.gz > bundle.tar.gz
	expect_rc 0 "$SBA" --chunk-size "$WINDOW_CHUNK" upgrade bundle.tar.gz
	grep -q '^resuming upgrade b2: seed file 1 of 1 (seeds/0002_b2/app.t.csv), byte [1-9]' err ||
	    fail "no resume line: $(cat err)"
	table_digest > got.tables
	diff ref.tables got.tables || fail "table contents differ from an uninterrupted run"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b2
}
