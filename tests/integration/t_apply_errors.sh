# sqlbundle-apply failures: a failing statement names its file, line and
# SQLSTATE and rolls its step back; a tampered bundle is refused before
# the database is touched; a bad seed row names its CSV entry and line.

# Pack the project in proj/ (key hq, made once) into $PWD/$1.
pack_proj() {
	[ -f proj/keys/hq.key ] || "$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/$1" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# A revision after the example's head whose INSERT fails at file line 13:
# the bad value sits three lines into the statement, after a line of
# two-byte characters (the server counts characters, not bytes).
failing_revision() {
	cat > proj/revisions/a7b8c9d0e1f2_fails.sql <<'EOF'
-- revision: a7b8c9d0e1f2
-- down_revision: 2864583ca021
-- message: a statement that fails
-- transactional: true

-- +upgrade
CREATE TABLE core.a7_partial (id int PRIMARY KEY, note text);

-- a comment between statements
INSERT INTO core.a7_partial (id, note)
    VALUES (1, 'ññññññññññññññññññññññññññññññññññññññññ'),
           (2, 'x'),
           ('oops', 'y');

-- +downgrade
DROP TABLE core.a7_partial;
EOF
}

test_failing_statement() {
	copy_example proj
	failing_revision
	pack_proj bad.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade bad.tar.zst 2864583ca021
	local hist
	hist=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")
	expect_err 3 'sqlbundle-apply: revision "a7b8c9d0e1f2" (revisions/a7b8c9d0e1f2_fails.sql:13): invalid input syntax for type integer: "oops"' \
	    "$SBA" upgrade bad.tar.zst
	grep -qx 'SQLSTATE: 22P02' err || fail "no SQLSTATE line: $(cat err)"
	[ ! -s out ] || fail "stdout on error: $(cat out)"
	# Rolled back: no table, same version, no completed step (the failed
	# attempt is a history row of its own), no progress.
	assert_eq "$(q "SELECT to_regclass('core.a7_partial') IS NULL")" t
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")" "$hist"
	assert_eq "$(q "SELECT revision || ' ' || sqlstate FROM sqlbundle.history WHERE outcome = 'failed'")" "a7b8c9d0e1f2 22P02"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	# The same again: the same answer.
	expect_err 3 '(revisions/a7b8c9d0e1f2_fails.sql:13)' "$SBA" upgrade bad.tar.zst

	# Fixed in a new bundle (the bad one never landed in the database).
	rm proj/revisions/CHECKSUMS
	sed -i "s/('oops', 'y')/(3, 'y')/" proj/revisions/a7b8c9d0e1f2_fails.sql
	pack_proj fixed.tar.zst
	expect_rc 0 "$SBA" upgrade fixed.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM core.a7_partial')" 3
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" a7b8c9d0e1f2
}

# Errors carry DETAIL and HINT from the server; a line at the start of a
# statement when the server gives no position.
test_error_detail_hint() {
	copy_example proj
	cat > proj/revisions/b1_raise.sql <<'EOF'
-- revision: b1
-- down_revision: 2864583ca021

-- +upgrade
CREATE TABLE core.b1 (id int);
DO $$
BEGIN
    RAISE EXCEPTION 'custom failure'
        USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0001';
END
$$;
EOF
	pack_proj raise.tar.zst
	new_db
	expect_err 3 'revision "b1" (revisions/b1_raise.sql:6): custom failure' \
	    "$SBA" upgrade raise.tar.zst
	grep -qx 'DETAIL: the detail' err || fail "no DETAIL: $(cat err)"
	grep -qx 'HINT: the hint' err || fail "no HINT: $(cat err)"
	grep -qx 'SQLSTATE: P0001' err || fail "no SQLSTATE: $(cat err)"
	# The steps before it committed; the failing one did not.
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	assert_eq "$(q "SELECT to_regclass('core.b1') IS NULL")" t
	# --json: an error event with the same fields.
	expect_rc 3 "$SBA" --json upgrade raise.tar.zst
	tail -n 1 out | /usr/bin/python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
assert e["event"] == "error" and e["code"] == 3, e
assert e["sqlstate"] == "P0001" and e["detail"] == "the detail" and e["hint"] == "the hint", e
assert e["message"].startswith("revision \"b1\" (revisions/b1_raise.sql:6): custom failure"), e'
}

# A transactional: false revision failing half-way resumes after the
# statements that completed; a fixed script starts again from the first.
test_nontransactional_failure() {
	copy_example proj
	cat > proj/revisions/c1_concurrent.sql <<'EOF'
-- revision: c1
-- down_revision: 2864583ca021
-- transactional: false

-- +upgrade
CREATE TABLE IF NOT EXISTS core.c1_log (n int);
INSERT INTO core.c1_log VALUES (1);
CREATE INDEX CONCURRENTLY IF NOT EXISTS c1_log_n ON core.c1_log (n);
SELECT 1 / (SELECT count(*) - 1 FROM core.c1_log);
INSERT INTO core.c1_log VALUES (2);

-- +downgrade
DROP TABLE core.c1_log;
EOF
	pack_proj c1.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade c1.tar.zst 2864583ca021
	expect_err 3 'revision "c1" (revisions/c1_concurrent.sql:9): division by zero' \
	    "$SBA" upgrade c1.tar.zst
	assert_eq "$(q "SELECT statements_done || ' ' || direction FROM sqlbundle.progress WHERE revision = 'c1'")" "3 upgrade"
	assert_eq "$(q 'SELECT count(*) FROM core.c1_log')" 1
	expect_rc 0 "$SBA" status
	assert_out "interrupted: upgrade of c1"
	# A rerun starts at statement 4: the first INSERT does not run again.
	expect_rc 3 "$SBA" upgrade c1.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM core.c1_log')" 1
	# Another command cannot start while c1 is half-done.
	expect_err 6 'the upgrade of revision "c1" was interrupted and must finish first' \
	    "$SBA" downgrade c1.tar.zst -1
	# Fixed: the new script runs from its first statement (idempotent).
	rm proj/revisions/CHECKSUMS
	sed -i 's|^SELECT 1 / .*|SELECT 1;|' proj/revisions/c1_concurrent.sql
	pack_proj c1fixed.tar.zst
	expect_rc 0 "$SBA" upgrade c1fixed.tar.zst
	grep -q 'it starts again from its first statement' err || fail "no restart note: $(cat err)"
	assert_eq "$(q "SELECT string_agg(n::text, ',' ORDER BY n) FROM core.c1_log")" "1,1,2"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" c1
}

# Nothing happens before the whole bundle is verified: the database is
# byte for byte as it was, not even the sqlbundle schema is created.
test_tampered_bundle() {
	copy_example proj
	pack_proj good.tar.zst
	new_db
	q "CREATE TABLE keep (x int); INSERT INTO keep VALUES (42)"
	full_dump > before.sql

	# A byte flipped in the compressed stream (gzip: its CRC, or the
	# inflated bytes, give it away; a zstd frame has no checksum and a
	# flip may not change what it inflates to).
	"$SB" -C proj pack --key keys/hq.key --compress gzip -o "$PWD/good.tar.gz" > /dev/null
	cp good.tar.gz flipped.tar.gz
	/usr/bin/python3 - flipped.tar.gz <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
EOF
	expect_rc 1 "$SBA" upgrade flipped.tar.gz
	grep -q '^sqlbundle-apply: ' err || fail "no message: $(cat err)"
	[ ! -s out ] || fail "stdout on error"

	# A byte flipped in a script inside a well-formed archive.
	mkdir x
	zstd -dc good.tar.zst > x/good.tar
	/usr/bin/python3 - x/good.tar x/script.tar <<'EOF'
import sys, tarfile
b = bytearray(open(sys.argv[1], "rb").read())
t = tarfile.open(sys.argv[1])
m = t.getmember("upgrade/0002_37a02ec8662a.sql")
b[m.offset_data + m.size // 2] ^= 0x01
open(sys.argv[2], "wb").write(b)
EOF
	zstd -q -c x/script.tar > script.tar.zst
	expect_err 1 'tampered entry "upgrade/0002_37a02ec8662a.sql": SHA-256 mismatch' \
	    "$SBA" upgrade script.tar.zst

	# The last seed file changed inside a well-formed archive: caught
	# only at the very end of pass 1, still before anything runs.
	/usr/bin/python3 - x/good.tar x/bad.tar <<'EOF'
import sys, tarfile, io
src = tarfile.open(sys.argv[1])
members = src.getmembers()
out = tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT)
for i, m in enumerate(members):
    data = src.extractfile(m).read()
    if i == len(members) - 1:
        assert m.name.startswith("seeds/"), m.name
        data = bytearray(data)
        data[3] ^= 0x20     # "-- The seed ..." becomes "-- the seed ..."
        data = bytes(data)
    out.addfile(m, io.BytesIO(data))
out.close()
EOF
	zstd -q -c x/bad.tar > lastseed.tar.zst
	expect_err 1 'tampered entry "seeds/0004_2864583ca021/90-sequences.sql": SHA-256 mismatch' \
	    "$SBA" upgrade lastseed.tar.zst
	expect_err 1 'tampered entry' "$SBA" plan lastseed.tar.zst
	expect_err 1 'tampered entry' "$SBA" downgrade lastseed.tar.zst base

	# Signed by a key that is not trusted.
	"$SB" -C proj keygen rogue > /dev/null
	"$SB" -C proj pack --key keys/rogue.key -o "$PWD/rogue.tar.zst" > /dev/null
	expect_err 1 'bundle signed by untrusted key' "$SBA" upgrade rogue.tar.zst

	full_dump > after.sql
	diff before.sql after.sql || fail "the database changed"
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'sqlbundle'")" 0
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
}

# A seeded revision whose CSV breaks a constraint on file line 7 (a
# quoted line break above makes record and line numbers differ).
seed_project() {
	copy_example proj
	cat > proj/revisions/d4e5f6a7b8c9_items.sql <<'EOF'
-- revision: d4e5f6a7b8c9
-- down_revision: 2864583ca021
-- message: items with seed data

-- +upgrade
CREATE TABLE core.d4_item (
    id int PRIMARY KEY,
    name text NOT NULL,
    qty int NOT NULL CHECK (qty > 0));

-- +downgrade
DROP TABLE core.d4_item;
EOF
	mkdir -p proj/seeds/d4e5f6a7b8c9
	printf '%s\n' 'id,name,qty' '1,"first, with comma",1' '2,"second' 'spans lines",2' \
	    '3,third,3' '4,"fourth ""quoted""",4' '5,bad,0' '6,sixth,6' \
	    > proj/seeds/d4e5f6a7b8c9/core.d4_item.csv
}

test_seed_constraint() {
	seed_project
	pack_proj seed.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade seed.tar.zst 2864583ca021
	expect_err 3 'revision "d4e5f6a7b8c9": seeds/0005_d4e5f6a7b8c9/core.d4_item.csv:7: new row for relation "d4_item" violates check constraint "d4_item_qty_check"' \
	    "$SBA" upgrade seed.tar.zst
	grep -qx 'SQLSTATE: 23514' err || fail "no SQLSTATE: $(cat err)"
	assert_eq "$(q "SELECT to_regclass('core.d4_item') IS NULL")" t
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021

	# In small chunks, loaded serially, the line is still the file's: chunks
	# before it commit (with a progress row), the failing one does not.
	expect_err 3 'seeds/0005_d4e5f6a7b8c9/core.d4_item.csv:7: new row' \
	    "$SBA" upgrade seed.tar.zst --chunk-size 20 --jobs 1
	assert_eq "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM core.d4_item")" "1,2,3,4"
	assert_eq "$(q "SELECT seed_entry || ' ' || seed_line FROM sqlbundle.progress WHERE revision = 'd4e5f6a7b8c9'")" "0 6"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021

	# The row fixed after the committed part: the rerun continues there.
	rm proj/revisions/CHECKSUMS
	sed -i 's/^5,bad,0$/5,fifth,5/' proj/seeds/d4e5f6a7b8c9/core.d4_item.csv
	pack_proj seedfixed.tar.zst
	expect_rc 0 "$SBA" upgrade seedfixed.tar.zst --chunk-size 20 --jobs 1
	assert_eq "$(q "SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM core.d4_item")" "1:1,2:2,3:3,4:4,5:5,6:6"
	assert_eq "$(q "SELECT name FROM core.d4_item WHERE id = 2")" "second
spans lines"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE revision = 'd4e5f6a7b8c9' AND outcome = 'done'")" 1
}

# A seed edited before the committed part does not resume silently.
test_seed_changed_before_offset() {
	seed_project
	pack_proj seed.tar.zst
	new_db
	expect_rc 3 "$SBA" upgrade seed.tar.zst --chunk-size 20
	rm proj/revisions/CHECKSUMS
	sed -i 's/^5,bad,0$/5,fifth,5/; s/^1,"first, with comma",1$/1,first,1/' proj/seeds/d4e5f6a7b8c9/core.d4_item.csv
	pack_proj seedfixed.tar.zst
	expect_err 6 'seeds/0005_d4e5f6a7b8c9/core.d4_item.csv does not match the chunks an earlier run committed' \
	    "$SBA" upgrade seedfixed.tar.zst --chunk-size 20
	assert_eq "$(q 'SELECT count(*) FROM core.d4_item')" 4
}

# Small seed files go to the server as one query of COPY statements: a
# failure in the middle names its own file and line, and nothing of the
# files before it stays.
test_seed_batch_errors() {
	seed_project
	rm proj/seeds/d4e5f6a7b8c9/core.d4_item.csv
	local d=proj/seeds/d4e5f6a7b8c9
	printf '%s\n' 'id,name,qty' '1,one,1' '2,two,2' >$d/01-core.d4_item.csv
	printf '%s\n' 'id,qty,name' '3,3,"three' 'lines"' '4,0,four' >$d/02-core.d4_item.csv
	printf '%s\n' 'id,name,qty' '5,five,5' >$d/03-core.d4_item.csv
	pack_proj bad_row.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade bad_row.tar.zst 2864583ca021
	expect_err 3 'revision "d4e5f6a7b8c9": seeds/0005_d4e5f6a7b8c9/02-core.d4_item.csv:4: new row for relation "d4_item" violates check constraint "d4_item_qty_check"' \
	    "$SBA" upgrade bad_row.tar.zst
	assert_eq "$(q "SELECT to_regclass('core.d4_item') IS NULL")" t
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0

	# A COPY that fails as it starts (a column the table lacks) is the
	# file after the one that ended well.
	rm proj/revisions/CHECKSUMS
	printf '%s\n' 'id,qty,name' '3,3,three' '4,4,four' >$d/02-core.d4_item.csv
	printf '%s\n' 'id,name,colour' '5,five,red' >$d/03-core.d4_item.csv
	pack_proj bad_col.tar.zst
	expect_err 3 'revision "d4e5f6a7b8c9": seeds/0005_d4e5f6a7b8c9/03-core.d4_item.csv: column "colour" of relation "d4_item" does not exist' \
	    "$SBA" upgrade bad_col.tar.zst
	assert_eq "$(q "SELECT to_regclass('core.d4_item') IS NULL")" t

	# Fixed: every file, in order, in one transaction with the script.
	rm proj/revisions/CHECKSUMS
	printf '%s\n' 'id,name,qty' '5,five,5' >$d/03-core.d4_item.csv
	pack_proj good.tar.zst
	expect_rc 0 "$SBA" upgrade good.tar.zst
	assert_eq "$(q "SELECT string_agg(id || ':' || qty, ',' ORDER BY id) FROM core.d4_item")" "1:1,2:2,3:3,4:4,5:5"
}

# Five small transactional revisions b1..b5 in proj/, packed into
# $PWD/five.tar.zst: each creates and fills table app.t<n>; b3's INSERT
# fails at file line 10, the statement's third line.
five_revisions() {
	local n
	mkdir -p proj/revisions proj/keys
	echo "project = five" > proj/sqlbundle.conf
	for n in 1 2 3 4 5; do
		{
			echo "-- revision: b$n"
			if [ "$n" -gt 1 ]; then echo "-- down_revision: b$((n - 1))"; fi
			echo "-- message: table $n"
			echo
			echo "-- +upgrade"
			echo "CREATE SCHEMA IF NOT EXISTS app;"
			echo "CREATE TABLE app.t$n (id int PRIMARY KEY);"
			echo "INSERT INTO app.t$n (id)"
			echo "    VALUES (1),"
			if [ "$n" -eq 3 ]; then echo "           ('three');"; else echo "           ($((n + 1)));"; fi
			echo
			echo "-- +downgrade"
			echo "DROP TABLE app.t$n;"
		} > "proj/revisions/b${n}_t$n.sql"
	done
	pack_proj five.tar.zst
}

# The third of five steps fails: the first two are committed and
# reported done, nothing of the third or after runs, and the error names
# the third's file and line.
test_failure_in_the_middle() {
	five_revisions
	new_db
	expect_err 3 'sqlbundle-apply: revision "b3" (revisions/b3_t3.sql:10): invalid input syntax for type integer: "three"' \
	    "$SBA" upgrade five.tar.zst
	grep -qx 'SQLSTATE: 22P02' err || fail "no SQLSTATE line: $(cat err)"
	assert_eq "$(q "SELECT string_agg(revision || ' ' || direction || ' ' || outcome, ',' ORDER BY id) FROM sqlbundle.history")" \
	    "b1 upgrade done,b2 upgrade done,b3 upgrade failed" "history"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b2
	assert_eq "$(q "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'")" \
	    "t1,t2" "tables"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	# --json from base: b1 and b2 begin and are done, b3 begins, then
	# the error; nothing of b4 or b5.
	new_db middle_failure_json
	expect_rc 3 "$SBA" --json upgrade five.tar.zst
	/usr/bin/python3 - out <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
steps = [(e["event"], e["revision"]) for e in ev if e["event"].startswith("step_")]
want = [("step_begin", "b1"), ("step_done", "b1"), ("step_begin", "b2"),
        ("step_done", "b2"), ("step_begin", "b3")]
assert steps == want, steps
assert ev[-1]["event"] == "error" and ev[-1]["code"] == 3, ev[-1]
assert "(revisions/b3_t3.sql:10)" in ev[-1]["message"], ev[-1]
PY
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b2
	assert_eq "$(q "SELECT to_regclass('app.t3') IS NULL AND to_regclass('app.t4') IS NULL AND to_regclass('app.t5') IS NULL")" t
	# Fixed: the rerun starts at b3.
	rm proj/revisions/CHECKSUMS
	sed -i "s/('three')/(3)/" proj/revisions/b3_t3.sql
	pack_proj fixed.tar.zst
	expect_rc 0 "$SBA" --json upgrade fixed.tar.zst
	assert_eq "$(grep -c '"step_done"' out)" 3 "steps done by the rerun"
	assert_eq "$(q "SELECT string_agg(revision, ',' ORDER BY id) FROM sqlbundle.history WHERE outcome = 'done'")" "b1,b2,b3,b4,b5"
	assert_eq "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM app.t3")" 1,3
}

# The bookkeeping runs as a statement prepared on the session: a script
# that drops the session's prepared statements (DEALLOCATE ALL, in a
# transactional step and in a transactional: false one) does not break
# the steps after it.
test_script_deallocates() {
	five_revisions
	sed -i "s/('three')/(3)/; s/^CREATE TABLE app.t3 .*/&\nDEALLOCATE ALL;/" proj/revisions/b3_t3.sql
	sed -i "s/^-- message: table 4/&\n-- transactional: false/; s/^CREATE TABLE app.t4 .*/&\nDEALLOCATE ALL;/" proj/revisions/b4_t4.sql
	rm -f proj/revisions/CHECKSUMS
	pack_proj dealloc.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade dealloc.tar.zst
	assert_eq "$(q "SELECT string_agg(revision, ',' ORDER BY id) FROM sqlbundle.history WHERE outcome = 'done'")" "b1,b2,b3,b4,b5"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b5
}

# The state is read in one pipeline: a read that fails names its table,
# and nothing runs. A role that may not read the version table.
test_state_unreadable() {
	copy_example proj
	pack_proj ex.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade ex.tar.zst 2864583ca021
	q "DROP ROLE IF EXISTS sb_clerk; CREATE ROLE sb_clerk LOGIN;
	   GRANT USAGE ON SCHEMA sqlbundle TO sb_clerk;
	   GRANT SELECT ON ALL TABLES IN SCHEMA sqlbundle TO sb_clerk"
	expect_err 3 'sqlbundle-apply: could not read public.alembic_version: permission denied for table alembic_version' \
	    "$SBA" -d "user=sb_clerk" upgrade ex.tar.zst
	# The tables after it in the pipeline: their own error.
	q "GRANT SELECT ON alembic_version TO sb_clerk;
	   REVOKE SELECT ON sqlbundle.history FROM sb_clerk"
	expect_err 3 'sqlbundle-apply: permission denied for table history' \
	    "$SBA" -d "user=sb_clerk" upgrade ex.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'failed'")" 0
	q "DROP OWNED BY sb_clerk; DROP ROLE sb_clerk"
}
