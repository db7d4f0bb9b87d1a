# Updates while the store is open: a till keeps running short
# transactions on the table a revision alters, and another session
# holds a lock on it in an open transaction. The update's statements
# give up their lock waits after --lock-timeout (so the till never
# queues behind them for longer), roll back and retry; the update lands
# once the session ends, or stops after --lock-wait-max naming it.

# Pack the project in proj/ (key hq, made once) into $PWD/$1.
pack_proj() {
	[ -f proj/keys/hq.key ] || "$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/$1" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# The database one revision before e1, with the till's table, and the
# bundle e1.tar.zst whose revision e1 (transactional: $1) alters it.
live_setup() {
	copy_example proj
	cat > proj/revisions/e1_live.sql <<EOF2
-- revision: e1
-- down_revision: 2864583ca021
-- transactional: $1

-- +upgrade
CREATE TABLE IF NOT EXISTS core.e1_log (n int);
ALTER TABLE core.live ADD COLUMN IF NOT EXISTS note text;

-- +downgrade
ALTER TABLE core.live DROP COLUMN IF EXISTS note;
DROP TABLE IF EXISTS core.e1_log;
EOF2
	pack_proj e1.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade e1.tar.zst 2864583ca021
	q "CREATE TABLE core.live (id bigserial PRIMARY KEY, n int NOT NULL)"
}

# The till: one session running BEGIN; INSERT; SELECT; COMMIT over and
# over until $T_DIR/stop exists. psql stops at its first failure.
till_start() {
	rm -f "$T_DIR/stop"
	(
		n=0
		while [ ! -e "$T_DIR/stop" ]; do
			n=$((n + 1))
			echo "BEGIN; INSERT INTO core.live (n) VALUES ($n); SELECT count(*) FROM core.live WHERE n > $n - 10; COMMIT;"
		done
	) | PGAPPNAME=till psql -X -q -At -v ON_ERROR_STOP=1 > "$T_DIR/till.out" 2> "$T_DIR/till.err" 3>&- &
	TILL_PID=$!
	wait_for '[ "$(q "SELECT count(*) FROM core.live")" -gt 0 ]'
}

# Stop the till: every one of its transactions succeeded.
till_stop() {
	local rc=0
	touch "$T_DIR/stop"
	wait "$TILL_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "the till failed ($rc): $(cat "$T_DIR/till.err")"
	[ ! -s "$T_DIR/till.err" ] || fail "the till said: $(cat "$T_DIR/till.err")"
}

# A session holding a lock on the table in an open transaction.
blocker_start() {
	PGAPPNAME=blocker hold_session "BEGIN; SELECT 'held' FROM core.live LIMIT 1;"
	wait_for 'grep -qx held "$T_DIR/hold.out"'
	BLOCKER=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'blocker'")
}

retries() {
	grep -c 'trying again' run.err || true
}

test_update_waits_for_the_session_to_end() {
	local pid rc=0 before after
	live_setup true
	till_start
	blocker_start
	"$SBA" --lock-timeout 200ms --lock-wait-max 10min upgrade e1.tar.zst > run.out 2> run.err 3>&- &
	pid=$!
	wait_for '[ "$(retries)" -ge 1 ]'
	grep -q "^e1: lock not available, trying again in 100ms; held by pid $BLOCKER (application_name \"blocker\", state \"idle in transaction\", transaction open for [0-9]*m\?s): SELECT 'held' FROM core.live LIMIT 1;$" run.err ||
	    fail "retry line: $(cat run.err)"
	# The till keeps committing while the update waits and retries.
	before=$(q "SELECT count(*) FROM core.live")
	wait_for '[ "$(retries)" -ge 4 ]'
	after=$(q "SELECT count(*) FROM core.live")
	[ "$after" -gt "$before" ] || fail "the till stalled: $before then $after rows"
	assert_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'live' AND column_name = 'note'")" 0
	release_session
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat run.err; fail "upgrade exited $rc"; }
	assert_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'live' AND column_name = 'note'")" 1
	assert_eq "$(q "SELECT version_num FROM alembic_version")" e1
	before=$(q "SELECT count(*) FROM core.live")
	wait_for '[ "$(q "SELECT count(*) FROM core.live")" -gt '"$before"' ]'
	till_stop
}

# A session that never ends: the run stops after --lock-wait-max with
# an error naming it, and the database is as it was.
gives_up() {
	local rc=0 hist
	live_setup "$1"
	till_start
	blocker_start
	hist=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")
	"$SBA" --lock-timeout 100ms --lock-wait-max 2s upgrade e1.tar.zst > run.out 2> run.err 3>&- || rc=$?
	[ "$rc" -eq 3 ] || { cat run.err; fail "upgrade exited $rc, expected 3"; }
	grep -q "^sqlbundle-apply: revision \"e1\" (revisions/e1_live.sql:7): lock not available after [0-9]* attempts in 2s (--lock-wait-max): blocked by pid $BLOCKER (application_name \"blocker\", state \"idle in transaction\", transaction open for [0-9]*m\?s): SELECT 'held' FROM core.live LIMIT 1;$" run.err ||
	    fail "no blocker error: $(cat run.err)"
	grep -qx 'DETAIL: Each attempt waited at most 100ms (--lock-timeout) and was rolled back.' run.err || fail "detail: $(cat run.err)"
	grep -qx 'HINT: end that session, or run the same command again to try again' run.err || fail "hint: $(cat run.err)"
	grep -qx 'SQLSTATE: 55P03' run.err || fail "sqlstate: $(cat run.err)"
	assert_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'live' AND column_name = 'note'")" 0
	assert_eq "$(q "SELECT version_num FROM alembic_version")" 2864583ca021
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")" "$hist"
	till_stop
	release_session
}

test_update_gives_up_on_a_session_that_never_ends() {
	gives_up true
	assert_eq "$(q "SELECT to_regclass('core.e1_log') IS NULL")" t "rolled back"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	expect_rc 0 "$SBA" upgrade e1.tar.zst
	assert_eq "$(q "SELECT version_num FROM alembic_version")" e1
}

# transactional: false: statement by statement, the one that waits
# gives up, the ones before it stay done.
test_nontransactional_gives_up_statement_by_statement() {
	gives_up false
	assert_eq "$(q "SELECT to_regclass('core.e1_log') IS NOT NULL")" t "first statement done"
	assert_eq "$(q "SELECT statements_done FROM sqlbundle.progress WHERE revision = 'e1'")" 1
	expect_rc 0 "$SBA" upgrade e1.tar.zst
	assert_eq "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'live' AND column_name = 'note'")" 1
	assert_eq "$(q "SELECT version_num FROM alembic_version")" e1
}

test_plan_shows_lock_settings() {
	live_setup true
	expect_rc 0 "$SBA" plan e1.tar.zst
	assert_out "lock waits: at most 500ms a statement (--lock-timeout), then the step rolls back and retries for up to 5min (--lock-wait-max)"
	expect_rc 0 "$SBA" --lock-timeout 1s --lock-wait-max 30s --json plan e1.tar.zst
	grep -q '"lock_timeout":"1s","lock_wait_max":"30s"' out || fail "plan json: $(cat out)"
	expect_rc 0 "$SBA" --lock-timeout 0 plan e1.tar.zst
	assert_out "lock waits: unbounded (--lock-timeout 0)"
	expect_err 2 'invalid --lock-timeout "5 min": expected a duration such as 500ms, 30s or 5min (at most 1d)' \
	    "$SBA" --lock-timeout "5 min" plan e1.tar.zst
}
