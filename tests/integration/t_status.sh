# status tells a live run from an interrupted one, counts what an
# interrupted load committed, says what finishes it, and shows the last
# failed attempt (recorded in the history, reported by the inventory).

# Revision a creates s (gated at row 5000 while the test holds advisory
# lock 4242: the load then loads serially) and p; b seeds s (600 KB), c
# seeds p (ROWS rows, about 20 MB); d fails (a duplicate key).
status_project() {
	local rows=${1:-700000}
	mkdir -p proj/revisions proj/keys proj/bundles proj/seeds/b proj/seeds/c
	echo "project = stat" > proj/sqlbundle.conf
	cat > proj/revisions/a_s.sql <<'EOF'
-- revision: a
-- message: s and p

-- +upgrade
CREATE TABLE s (id int PRIMARY KEY, v text);
CREATE TABLE p (id int PRIMARY KEY, v text);
CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 5000 THEN
        PERFORM pg_advisory_xact_lock_shared(4242);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gate BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION gate();

-- +downgrade
DROP TABLE s, p;
DROP FUNCTION gate();
EOF
	printf -- '-- revision: b\n-- down_revision: a\n-- message: fill s\n\n-- +upgrade\nSELECT 1;\n' > proj/revisions/b_s.sql
	printf -- '-- revision: c\n-- down_revision: b\n-- message: fill p\n\n-- +upgrade\nSELECT 1;\n\n-- +downgrade\nDELETE FROM p;\n' > proj/revisions/c_p.sql
	printf -- '-- revision: d\n-- down_revision: c\n-- message: bad\n\n-- +upgrade\nINSERT INTO p VALUES (1, '"'x'"');\n' > proj/revisions/d_bad.sql
	/usr/bin/python3 -c '
import sys
print("id,v")
for i in range(1, 20001):
    print("%d,value-%018d" % (i, i))' > proj/seeds/b/public.s.csv
	/usr/bin/python3 -c '
import sys
print("id,v")
for i in range(1, int(sys.argv[1]) + 1):
    print("%d,value-%018d" % (i, i))' "$rows" > proj/seeds/c/public.p.csv
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/st.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

wait_applier_blocked() {
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event_type = '"'Lock'"'")" = 1 ]'
}

test_running_then_interrupted() {
	local pid rc=0 off
	status_project 10
	new_db
	hold_advisory 4242
	"$SBA" --chunk-size 64K --jobs 1 upgrade st.tar.zst b > run.out 2> run.err 3>&- &
	pid=$!
	wait_applier_blocked
	# Held inside its third chunk: two are committed.
	off=$(q "SELECT seed_offset FROM sqlbundle.progress WHERE revision = 'b'")
	[ "$off" -gt 0 ] || fail "no chunk committed"
	expect_rc 0 "$SBA" status
	cat "$T_DIR/out"
	grep -Eqx "running: upgrade 2/2 \(revision b\) by pid $pid since [0-9-]{10} [0-9:]{8} UTC; seed $(awk -v b="$off" 'BEGIN { printf "%.1f", b / 1024 }') of 594\.6 KiB committed \([0-9]+%\)" "$T_DIR/out" ||
	    fail "no running line"
	grep -q '^interrupted' "$T_DIR/out" && fail "a running step shown as interrupted"
	expect_rc 0 "$SBA" status --json
	/usr/bin/python3 - "$T_DIR/out" "$pid" "$off" <<'EOF'
import json, sys
st = json.loads(open(sys.argv[1]).read())
assert st["running"] is True and st["pid"] == int(sys.argv[2]), st
run = st["run"]
assert (run["command"], run["step"], run["step_count"], run["revision"]) == ("upgrade", 2, 2, "b"), run
assert run["bytes_done"] == int(sys.argv[3]) and run["bytes_total"] == 608899, run
EOF
	kill -INT "$pid"
	release_session
	wait "$pid" || rc=$?
	assert_eq "$rc" 130
	off=$(q "SELECT seed_offset || ' ' || seed_line FROM sqlbundle.progress WHERE revision = 'b'")
	expect_rc 0 "$SBA" status
	grep -qx "interrupted: upgrade of b, seed file 1: ${off% *} bytes (${off#* } lines) committed" "$T_DIR/out" ||
	    fail "no interrupted line: $(cat "$T_DIR/out")"
	grep -Eqx '  to finish it: sqlbundle-apply upgrade BUNDLE, with bundle [0-9a-f]{12} \(the one it started with\) or any bundle carrying the same revision' "$T_DIR/out" ||
	    fail "no command: $(cat "$T_DIR/out")"
	grep -q '^running' "$T_DIR/out" && fail "shown as running"
	expect_rc 0 "$SBA" status --json
	assert_out '"running":false'
}

test_parallel_chunks_counted() {
	local pid rc=0 n line
	status_project
	new_db
	expect_rc 0 "$SBA" upgrade st.tar.zst b
	rm -f events
	mkfifo events
	"$SBA" --json --chunk-size 64K --jobs 2 upgrade st.tar.zst c > events 2> run.err 3>&- &
	pid=$!
	exec 4< events
	# At its first committed chunk, SIGTERM: the chunks under way commit.
	while IFS= read -r line <&4; do
		echo "$line" >> run.out
		case $line in
		*'"chunk"'*) kill -TERM "$(pgrep -P "$pid" -x sqlbundle-apply || echo "$pid")"; break ;;
		esac
	done
	cat <&4 >> run.out
	exec 4<&-
	wait "$pid" || rc=$?
	assert_eq "$rc" 143
	n=$(grep -c '"event":"chunk"' run.out)
	# The first chunk commits with the script (the progress row), the
	# others as chunk rows.
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.chunks WHERE revision = 'c'")" "$((n - 1))" "chunk rows"
	assert_eq "$(q "SELECT seed_offset > 0 FROM sqlbundle.progress WHERE revision = 'c'")" t "first chunk"
	# The message counts the chunks under way that committed after it.
	grep -Eq "^sqlbundle-apply: interrupted during upgrade 1/1 of revision c, after $n committed chunks? of seeds/0003_c/public.p.csv; nothing is half-done" run.err ||
	    fail "message: $(cat run.err)"
	expect_rc 0 "$SBA" status
	grep -qx "interrupted: upgrade of c, seed file 1: $n chunks\? committed (parallel load)" "$T_DIR/out" ||
	    fail "chunks not counted ($n): $(cat "$T_DIR/out")"
	expect_rc 0 "$SBA" status --json
	grep -q "\"chunks_committed\":$n" "$T_DIR/out" || fail "no chunks_committed: $(cat "$T_DIR/out")"
	# The rerun says so too, and counts on from there.
	expect_rc 0 "$SBA" --chunk-size 64K --jobs 2 upgrade st.tar.zst c
	grep -Eq "^resuming upgrade c: seed file 1 of 1 \(seeds/0003_c/public.p.csv\)(, byte [0-9]+)?; [0-9.]+ of [0-9.]+ MiB committed \($n chunks?\), loading on from there\$" "$T_DIR/err" ||
	    fail "no resume line: $(cat "$T_DIR/err")"
}

test_failed_attempt() {
	local inv
	status_project 10
	new_db
	expect_rc 0 "$SBA" upgrade st.tar.zst c
	expect_rc 3 "$SBA" upgrade st.tar.zst
	assert_eq "$(q "SELECT revision || ' ' || outcome || ' ' || sqlstate FROM sqlbundle.history ORDER BY id DESC LIMIT 1")" "d failed 23505"
	expect_rc 0 "$SBA" status
	grep -Eqx 'last attempt failed: upgrade of d at [0-9-]{10} [0-9:]{8} UTC, SQLSTATE 23505' "$T_DIR/out" ||
	    fail "no failure line: $(cat "$T_DIR/out")"
	grep -q '^  revision "d" (revisions/d_bad.sql:6): duplicate key value violates unique constraint "p_pkey"' "$T_DIR/out" ||
	    fail "no message: $(cat "$T_DIR/out")"
	# Completed steps only in the history list; the version is c.
	grep -q 'upgrade  *d ' "$T_DIR/out" && fail "the failed attempt listed as applied"
	expect_rc 0 "$SBA" status --json
	/usr/bin/python3 - "$T_DIR/out" <<'EOF'
import json, sys
st = json.loads(open(sys.argv[1]).read())
f = st["last_failure"]
assert (f["revision"], f["direction"], f["sqlstate"]) == ("d", "upgrade", "23505"), f
assert "duplicate key" in f["message"], f
assert st["history"][0]["revision"] == "c", st["history"][0]
EOF
	# The inventory reports it.
	printf '[sqlbundle]\nhost=%s\nport=%s\nuser=%s\ndbname=%s\n' "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" > svc.conf
	inv=$(PATH=$SB_BIN:$PATH PGSERVICEFILE=$PWD/svc.conf sh "$SB_ROOT/mender/mender-inventory-sqlbundle")
	echo "$inv"
	echo "$inv" | grep -qx 'sqlbundle_failed_revision=d' || fail "inventory: $inv"
	echo "$inv" | grep -qx 'sqlbundle_failed_sqlstate=23505' || fail "inventory: $inv"
	echo "$inv" | grep -q '^sqlbundle_failed_message=revision "d"' || fail "inventory: $inv"
	echo "$inv" | grep -qx 'sqlbundle_last_revision=c' || fail "inventory: $inv"
	# A later completed step clears it.
	expect_rc 0 "$SBA" downgrade st.tar.zst -1
	expect_rc 0 "$SBA" status
	grep -q '^last attempt failed' "$T_DIR/out" && fail "a stale failure shown"
	true
}
