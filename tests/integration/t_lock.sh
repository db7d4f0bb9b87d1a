# One applier at a time: the session-level advisory lock, who holds it,
# and --wait.

LOCK_KEY=8318549156862780524	# 0x73716c62756e646c, 'sqlbundl'

lock_bundle() {
	copy_example proj
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/example.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# The pid of the session holding the appliers' lock ("" if none).
lock_holder() {
	q "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
	   AND classid = 1936813154 AND objid = 1970168940 AND objsubid = 1
	   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
}

test_lock_held() {
	lock_bundle
	new_db
	# Another session holds the lock, as a running applier would.
	mkfifo ctl
	psql -X -q -At -v ON_ERROR_STOP=1 < ctl > holder.out 2>&1 &
	local psql_pid=$! holder wpid rc=0
	exec 3> ctl
	echo "SELECT pg_advisory_lock($LOCK_KEY);" >&3
	wait_for '[ -n "$(lock_holder)" ]'
	holder=$(lock_holder)

	expect_err 5 "is locked by another applier: pid $holder" "$SBA" upgrade example.tar.zst
	grep -q "DETAIL: held by pid $holder, application \"psql\", user \"postgres\", connected since " err ||
	    fail "no holder detail: $(cat err)"
	grep -q 'HINT: run again when it is done, or use --wait' err || fail "no hint"
	[ ! -s out ] || fail "stdout on error"
	expect_rc 5 "$SBA" downgrade example.tar.zst base
	# Nothing ran, nothing was created.
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('sqlbundle', 'core')")" 0
	# plan and status read without the lock.
	expect_rc 0 "$SBA" plan example.tar.zst
	expect_rc 0 "$SBA" status

	# --wait blocks on the lock until the holder lets go.
	"$SBA" --wait upgrade example.tar.zst > wait.out 2> wait.err &
	wpid=$!
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event = '"'advisory'"'")" = 1 ]'
	kill -0 "$wpid" || fail "the waiting applier exited"
	grep -q "^waiting: database \"$PGDATABASE\" is locked by another applier: pid $holder" wait.err ||
	    fail "no waiting line: $(cat wait.err)"
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
	echo "SELECT pg_advisory_unlock($LOCK_KEY);" >&3
	wait "$wpid" || rc=$?
	[ "$rc" -eq 0 ] || fail "--wait run exited $rc: $(cat wait.err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	exec 3>&-
	wait "$psql_pid"
	# A session lock: gone with the applier's session.
	assert_eq "$(lock_holder)" ""
}

# A killed applier leaves no lock behind: its session ends with it.
test_lock_released_on_kill() {
	lock_bundle
	new_db
	mkfifo ctl
	psql -X -q -At < ctl > holder.out 2>&1 &
	local psql_pid=$! wpid
	exec 3> ctl
	echo "SELECT pg_advisory_lock($LOCK_KEY);" >&3
	wait_for '[ -n "$(lock_holder)" ]'
	"$SBA" --wait upgrade example.tar.zst > /dev/null 2>&1 &
	wpid=$!
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"'")" = 1 ]'
	kill -9 "$wpid"
	wait "$wpid" || true
	exec 3>&-
	wait "$psql_pid"
	# The orphaned backend ends once it sees its client gone.
	wait_for '[ -z "$(lock_holder)" ]'
	expect_rc 0 "$SBA" upgrade example.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
}
