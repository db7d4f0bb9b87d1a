# Concurrent index builds (transactional: false) interrupted half-way
# leave invalid indexes: the rerun drops and builds them again, and no
# run ends in success with an invalid index it built.

# Pack the project in proj/ (key hq, made once) into $PWD/$1.
pack_proj() {
	[ -f proj/keys/hq.key ] || "$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/$1" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# A non-transactional revision after the example's head: a table, a
# unique index built concurrently, then rebuilt concurrently.
index_revision() {
	cat > proj/revisions/d1_index.sql <<'EOF2'
-- revision: d1
-- down_revision: 2864583ca021
-- transactional: false

-- +upgrade
CREATE TABLE IF NOT EXISTS core.d1 (id int, v int);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS d1_v ON core.d1 (v);
REINDEX INDEX CONCURRENTLY core.d1_v;

-- +downgrade
DROP TABLE IF EXISTS core.d1;
EOF2
	pack_proj d1.tar.zst
}

# The invalid indexes of the database, one "schema.name" a line.
invalid_indexes() {
	q "SELECT string_agg(indexrelid::regclass::text, ' ' ORDER BY 1) FROM pg_index WHERE NOT indisvalid"
}

# Run the upgrade in the background while a session holds a snapshot
# open: the concurrent build of statement $1 waits for it, and is
# cancelled there, half-done. The upgrade must exit 3.
cancel_in_flight() {
	local stmt=$1 pid rc=0
	hold_session "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 'held' FROM core.d1 LIMIT 1;"
	wait_for 'grep -qx held "$T_DIR/hold.out"'
	"$SBA" upgrade d1.tar.zst > run.out 2> run.err 3>&- &
	pid=$!
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event = '"'virtualxid'"' AND query LIKE '"'$stmt%'"'")" = 1 ]'
	q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'sqlbundle-apply' AND wait_event = 'virtualxid'" > /dev/null
	wait "$pid" || rc=$?
	release_session
	[ "$rc" -eq 3 ] || { cat run.err; fail "upgrade exited $rc, expected 3"; }
	grep -q 'canceling statement due to user request' run.err || fail "not cancelled: $(cat run.err)"
}

test_interrupted_builds_rebuilt() {
	copy_example proj
	index_revision
	new_db
	expect_rc 0 "$SBA" upgrade d1.tar.zst 2864583ca021
	q "CREATE TABLE core.d1 (id int, v int); INSERT INTO core.d1 SELECT g, g FROM generate_series(1, 1000) g"
	# CREATE INDEX CONCURRENTLY cancelled: d1_v is left invalid, and
	# its IF NOT EXISTS would skip it.
	cancel_in_flight "CREATE UNIQUE INDEX"
	assert_eq "$(invalid_indexes)" "core.d1_v"
	assert_eq "$(q "SELECT statements_done FROM sqlbundle.progress WHERE revision = 'd1'")" 1
	# REINDEX CONCURRENTLY cancelled: its copy core.d1_v_ccnew is left.
	q "DROP INDEX core.d1_v; CREATE UNIQUE INDEX d1_v ON core.d1 (v)"
	q "UPDATE sqlbundle.progress SET statements_done = 2 WHERE revision = 'd1'"
	cancel_in_flight "REINDEX"
	assert_eq "$(invalid_indexes)" "core.d1_v_ccnew"
	expect_rc 0 "$SBA" upgrade d1.tar.zst
	grep -qx 'dropping invalid index core.d1_v_ccnew, left by an interrupted build, to build it again' err ||
	    fail "no drop line: $(cat err)"
	assert_eq "$(invalid_indexes)" ""
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.progress")" 0
	assert_eq "$(q "SELECT version_num FROM alembic_version")" d1
}

test_create_index_rebuilt_after_cancel() {
	copy_example proj
	index_revision
	new_db
	expect_rc 0 "$SBA" upgrade d1.tar.zst 2864583ca021
	q "CREATE TABLE core.d1 (id int, v int); INSERT INTO core.d1 SELECT g, g FROM generate_series(1, 1000) g"
	cancel_in_flight "CREATE UNIQUE INDEX"
	assert_eq "$(invalid_indexes)" "core.d1_v"
	expect_rc 0 "$SBA" upgrade d1.tar.zst
	grep -qx 'dropping invalid index core.d1_v, left by an interrupted build, to build it again' err ||
	    fail "no drop line: $(cat err)"
	assert_eq "$(invalid_indexes)" ""
	assert_eq "$(q "SELECT indisunique FROM pg_index WHERE indexrelid = 'core.d1_v'::regclass")" t
	assert_eq "$(q "SELECT version_num FROM alembic_version")" d1
}

# An invalid index that IF NOT EXISTS skips, though its statement was
# not the one in flight: the run stops; the rerun builds it again.
test_invalid_index_fails_the_run() {
	copy_example proj
	index_revision
	new_db
	expect_rc 0 "$SBA" upgrade d1.tar.zst 2864583ca021
	q "CREATE TABLE core.d1 (id int, v int); INSERT INTO core.d1 VALUES (1, 1), (2, 1)"
	# A unique build over duplicates fails and leaves its index invalid.
	psql -X -q -c "CREATE UNIQUE INDEX CONCURRENTLY d1_v ON core.d1 (v)" 2> /dev/null && fail "the unique build succeeded"
	q "DELETE FROM core.d1 WHERE id = 2"
	assert_eq "$(invalid_indexes)" "core.d1_v"
	expect_err 3 'sqlbundle-apply: revision "d1" (revisions/d1_index.sql:7): index core.d1_v is invalid after the statement' \
	    "$SBA" upgrade d1.tar.zst
	grep -q 'HINT: run the same command again: it drops the index and builds it again' err || fail "no hint: $(cat err)"
	assert_eq "$(q "SELECT statements_done FROM sqlbundle.progress WHERE revision = 'd1'")" 1
	assert_eq "$(q "SELECT version_num FROM alembic_version")" 2864583ca021
	expect_rc 0 "$SBA" --json upgrade d1.tar.zst
	grep -q '"event":"info","message":"dropping invalid index core.d1_v, left by an interrupted build, to build it again"' out ||
	    fail "no info event: $(cat out)"
	assert_eq "$(invalid_indexes)" ""
	assert_eq "$(q "SELECT version_num FROM alembic_version")" d1
}
