# SIGINT and SIGTERM stop an applier at its next commit: it says where,
# that nothing is half-done and how to resume, ends --json with an error
# event, and exits 130 or 143. Each run is held still on a lock the test
# holds, so the signal comes at a known point, not after a delay.

# A project of three revisions: a creates t, b writes to it, c creates u.
three_revs() {
	mkdir -p proj/revisions proj/keys proj/bundles
	echo "project = intr" > proj/sqlbundle.conf
	printf -- '-- revision: a\n-- message: t\n\n-- +upgrade\nCREATE TABLE t (x int);\n\n-- +downgrade\nDROP TABLE t;\n' \
	    > proj/revisions/a_t.sql
	printf -- '-- revision: b\n-- down_revision: a\n-- message: fill t\n\n-- +upgrade\nINSERT INTO t VALUES (1);\n\n-- +downgrade\nDELETE FROM t;\n' \
	    > proj/revisions/b_fill.sql
	printf -- '-- revision: c\n-- down_revision: b\n-- message: u\n\n-- +upgrade\nCREATE TABLE u (y int);\n\n-- +downgrade\nDROP TABLE u;\n' \
	    > proj/revisions/c_u.sql
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/intr.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# Until the applier's session waits for a lock.
wait_applier_blocked() {
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event_type = '"'Lock'"'")" = 1 ]'
}

test_sigint_between_steps() {
	local pid rc=0
	three_revs
	new_db
	expect_rc 0 "$SBA" upgrade intr.tar.zst +1
	hold_session "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;"
	wait_for '[ "$(q "SELECT count(*) FROM pg_locks WHERE relation = '"'t'"'::regclass AND mode = '"'AccessExclusiveLock'"' AND granted")" = 1 ]'
	"$SBA" upgrade intr.tar.zst > run.out 2> run.err 3>&- &
	pid=$!
	wait_applier_blocked
	kill -INT "$pid"
	release_session
	wait "$pid" || rc=$?
	cat run.err
	assert_eq "$rc" 130 "exit status after SIGINT"
	grep -qx 'sqlbundle-apply: interrupted during upgrade, after step 1/2 (revision b); nothing is half-done; run the same command to resume' run.err ||
	    fail "no interruption message"
	grep -qx 'DETAIL: *caught SIGINT; stopped at the next commit' run.err || fail "no detail"
	# Step b committed whole, c never began.
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b
	assert_eq "$(q 'SELECT count(*) FROM t')" 1
	assert_eq "$(q "SELECT to_regclass('u') IS NULL")" t
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	expect_rc 0 "$SBA" upgrade intr.tar.zst
	assert_out "database at c after 1 upgrade"
}

# A project whose seed (600 KB: 10 chunks of 64 KiB) stops at row 5000
# (byte 150 000: the third chunk) while the test holds advisory lock 4242.
gated_seed() {
	mkdir -p proj/revisions proj/keys proj/bundles proj/seeds/b
	echo "project = intr" > proj/sqlbundle.conf
	cat > proj/revisions/a_s.sql <<'EOF'
-- revision: a
-- message: s, gated at row 5000

-- +upgrade
CREATE TABLE s (id int PRIMARY KEY, v text);
CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 5000 THEN
        PERFORM pg_advisory_xact_lock_shared(4242);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gate BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION gate();

-- +downgrade
DROP TABLE s;
DROP FUNCTION gate();
EOF
	printf -- '-- revision: b\n-- down_revision: a\n-- message: fill s\n\n-- +upgrade\nSELECT 1;\n' \
	    > proj/revisions/b_fill.sql
	/usr/bin/python3 -c '
print("id,v")
for i in range(1, 20001):
    print("%d,value-%018d" % (i, i))' > proj/seeds/b/public.s.csv
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/seed.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# SIGTERM (what systemd and Mender send) in the middle of a chunked seed,
# with --json: the committed chunks are counted in the message, the last
# line is the error event, and a rerun resumes after them.
test_sigterm_during_seed_json() {
	local pid real rc=0
	gated_seed
	new_db
	hold_advisory 4242
	"$SBA" --json --chunk-size 64K upgrade seed.tar.zst > run.out 2> run.err 3>&- &
	pid=$!
	wait_applier_blocked
	# With --json the test's wrapper runs the program as its child.
	real=$(pgrep -P "$pid" -x sqlbundle-apply || echo "$pid")
	kill -TERM "$real"
	release_session
	wait "$pid" || rc=$?
	assert_eq "$rc" 143 "exit status after SIGTERM"
	assert_eq "$(grep -c '"event":"chunk"' run.out)" 3 "chunk events"
	grep -qx "sqlbundle-apply: interrupted during upgrade 2/2 of revision b, after 3 committed chunks of seeds/0002_b/public.s.csv; nothing is half-done; run the same command to resume" run.err ||
	    fail "no interruption message: $(cat run.err)"
	/usr/bin/python3 - run.out <<'EOF'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
last = events[-1]
assert last["event"] == "error" and last["code"] == 143, last
assert last["message"].startswith("interrupted during upgrade 2/2 of revision b, "), last
assert last["message"].endswith("; nothing is half-done; run the same command to resume"), last
EOF
	# Exactly the three chunks are in, and kept.
	assert_eq "$(q 'SELECT count(*) = max(id) FROM s')" t
	assert_eq "$(q 'SELECT seed_offset > 0 FROM sqlbundle.progress')" t
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" a
	local off kib
	off=$(q 'SELECT seed_offset FROM sqlbundle.progress')
	kib=$(awk -v b="$off" 'BEGIN { printf "%.1f", b / 1024 }')
	expect_rc 0 "$SBA" --progress-interval 0 --chunk-size 64K upgrade seed.tar.zst
	# The rerun says what was done and counts on from there.
	grep -qx "resuming upgrade b: seed file 1 of 1 (seeds/0002_b/public.s.csv), byte $off; $kib of 594.6 KiB committed (3 chunks), loading on from there" "$T_DIR/err" ||
	    fail "no resume line: $(cat "$T_DIR/err")"
	grep '^upgrade 1/1 b: seed ' "$T_DIR/err" | sed -E 's/^upgrade 1\/1 b: seed ([0-9.]+) of.*/\1/' > counts
	awk -v k="$kib" '$1 < k { bad = 1 } END { exit bad }' counts || fail "counted from below $kib: $(cat counts)"
	[ -s counts ] || fail "no progress line"
	assert_eq "$(q 'SELECT count(*), max(id) FROM s' | tr '|' ' ')" '20000 20000'
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b
}
