# Faults at a store: the server session killed mid-step, statement_timeout,
# a bundle on a read-only medium, a missing or empty trust folder, PG*
# pointing at no server. After each, running the same command again
# finishes the job, and the database equals one upgraded without a fault.

# A project in proj/ and its bundle $PWD/faults.tar.zst:
#   f1  schema and a table;
#   f2  transactional, a seed CSV; a statement between others waits for
#       the advisory lock 7001 while the test holds it (f2's gate);
#   f3  transactional: false; its second statement is not idempotent
#       (a rerun must not repeat it), the third is a gate on lock 7002;
#   f4  one more table.
faults_bundle() {
	mkdir -p proj/revisions proj/seeds/f2 proj/keys
	echo "project = faults" > proj/sqlbundle.conf
	cat > proj/revisions/f1_schema.sql <<'EOF'
-- revision: f1
-- message: schema

-- +upgrade
CREATE SCHEMA app;
CREATE TABLE app.a (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO app.a SELECT g, 'row ' || g FROM generate_series(1, 1000) g;

-- +downgrade
DROP SCHEMA app CASCADE;
EOF
	cat > proj/revisions/f2_slow.sql <<'EOF'
-- revision: f2
-- down_revision: f1
-- message: a slow step with seed data

-- +upgrade
CREATE TABLE app.b (id int PRIMARY KEY, note text);
UPDATE app.a SET v = v || ' (f2)' WHERE id % 10 = 0;
SELECT pg_advisory_xact_lock_shared(7001) AS f2_gate;
ALTER TABLE app.a ADD COLUMN f2 boolean NOT NULL DEFAULT true;

-- +downgrade
ALTER TABLE app.a DROP COLUMN f2;
UPDATE app.a SET v = replace(v, ' (f2)', '');
DROP TABLE app.b;
EOF
	/usr/bin/python3 - proj/seeds/f2/app.b.csv <<'EOF'
import csv, sys
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "note"])
    for i in range(1, 5001):
        w.writerow([i, 'note %d, "quoted"\nsecond line' % i if i % 3 == 0 else "note %d" % i])
EOF
	cat > proj/revisions/f3_nontx.sql <<'EOF'
-- revision: f3
-- down_revision: f2
-- message: outside a transaction
-- transactional: false

-- +upgrade
CREATE TABLE IF NOT EXISTS app.nt_log (n serial PRIMARY KEY, what text);
INSERT INTO app.nt_log (what) VALUES ('once');
SELECT pg_advisory_xact_lock_shared(7002) AS f3_gate;
CREATE INDEX CONCURRENTLY IF NOT EXISTS b_note_idx ON app.b (note);

-- +downgrade
DROP INDEX CONCURRENTLY IF EXISTS app.b_note_idx;
DROP TABLE IF EXISTS app.nt_log;
EOF
	cat > proj/revisions/f4_more.sql <<'EOF'
-- revision: f4
-- down_revision: f3
-- message: one more table

-- +upgrade
CREATE TABLE app.c AS SELECT id, note FROM app.b WHERE id <= 100;

-- +downgrade
DROP TABLE app.c;
EOF
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/faults.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# The reference: the bundle applied without a fault, into database $1.
reference_run() {
	new_db "$1"
	expect_rc 0 "$SBA" upgrade faults.tar.zst
	schema_dump > ref.schema
	table_digest > ref.tables
	grep -q '^app.nt_log 1 ' ref.tables || fail "reference nt_log: $(cat ref.tables)"
}

# The current database equals the reference; each revision applied once.
assert_like_reference() {
	schema_dump > got.schema
	diff ref.schema got.schema > schema.diff || { head -40 schema.diff; fail "schema differs"; }
	table_digest > got.tables
	diff ref.tables got.tables || fail "table contents differ"
	assert_eq "$(q "SELECT string_agg(revision || ' ' || direction, ',' ORDER BY id) FROM sqlbundle.history WHERE outcome = 'done'")" \
	    "f1 upgrade,f2 upgrade,f3 upgrade,f4 upgrade" "history"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" f4
	assert_eq "$(q 'SELECT count(*) FROM pg_index WHERE NOT indisvalid')" 0 "invalid indexes"
}

# The pid of the applier's backend once it waits at the gate in the
# statement matching $1.
applier_at_gate() {
	wait_for '[ -n "$(q "SELECT pid FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"'
	    AND wait_event = '"'advisory'"' AND query LIKE '"'%$1%'"'")" ]'
	q "SELECT pid FROM pg_stat_activity WHERE application_name = 'sqlbundle-apply'
	    AND wait_event = 'advisory' AND query LIKE '%$1%'"
}

# terminate_during GATE REV KEY: run the applier in the background on
# $PWD/faults.tar.zst; when its session waits at the gate GATE (lock
# KEY), terminate that backend from another session. The applier must
# exit 3, saying the connection was lost while running REV.
terminate_during() {
	local apid bpid rc=0
	hold_advisory "$3"
	"$SBA" upgrade faults.tar.zst > run.out 2> run.err 3>&- &
	apid=$!
	bpid=$(applier_at_gate "$1")
	assert_eq "$(q "SELECT pg_terminate_backend($bpid)")" t
	wait "$apid" || rc=$?
	release_session
	cat run.err
	[ "$rc" -eq 3 ] || fail "upgrade exited $rc after its backend was terminated, expected 3"
	grep -q "^sqlbundle-apply: revision \"$2\" .*connection to the database lost" run.err ||
	    fail "no lost-connection message naming $2"
	grep -qx 'HINT: run the same command again to resume' run.err || fail "no hint"
}

test_backend_terminated() {
	faults_bundle
	reference_run term_ref
	new_db term_db
	# Inside the transactional step f2: it rolls back whole.
	terminate_during 'f2_gate' f2 7001
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" f1
	assert_eq "$(q "SELECT to_regclass('app.b') IS NULL AND count(*) = 0 FROM app.a WHERE v LIKE '%(f2)'")" t
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	# Inside f3, after its first two statements committed on their own.
	terminate_during 'f3_gate' f3 7002
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" f2
	assert_eq "$(q 'SELECT count(*) FROM app.nt_log')" 1
	assert_eq "$(q "SELECT revision || ' ' || statements_done FROM sqlbundle.progress")" "f3 2"
	expect_rc 0 "$SBA" upgrade faults.tar.zst
	grep -q '^resuming upgrade f3' err || fail "no resume line: $(cat err)"
	assert_like_reference
}

test_statement_timeout() {
	faults_bundle
	reference_run timeout_ref
	new_db timeout_db
	# The gate statement waits until the timeout cancels it; every other
	# statement takes far less than the limit. (Without --lock-timeout 0
	# the gate's lock wait would give up first and retry: t_live.)
	hold_advisory 7001
	PGOPTIONS='-c statement_timeout=2000' expect_err 3 \
	    'revision "f2" (revisions/f2_slow.sql:8): canceling statement due to statement timeout' \
	    "$SBA" --lock-timeout 0 upgrade faults.tar.zst
	grep -qx 'SQLSTATE: 57014' err || fail "no SQLSTATE: $(cat err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" f1
	assert_eq "$(q "SELECT to_regclass('app.b') IS NULL")" t
	# f2 alone without the limit, then f3 with it: stopped after its
	# second statement, which the rerun must not repeat.
	release_session
	expect_rc 0 "$SBA" upgrade faults.tar.zst +1
	hold_advisory 7002
	PGOPTIONS='-c statement_timeout=2000' expect_err 3 \
	    'revision "f3" (revisions/f3_nontx.sql:9): canceling statement due to statement timeout' \
	    "$SBA" --lock-timeout 0 upgrade faults.tar.zst
	grep -qx 'SQLSTATE: 57014' err || fail "no SQLSTATE: $(cat err)"
	assert_eq "$(q "SELECT revision || ' ' || statements_done FROM sqlbundle.progress")" "f3 2"
	release_session
	expect_rc 0 "$SBA" upgrade faults.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM app.nt_log')" 1
	assert_like_reference
}

# A bundle that cannot be written to, in a folder that cannot be written
# to. As root permissions do not bite, so: nothing in the folder changes
# (names, sizes, modes, times), no file is opened for writing, and an
# unprivileged user applies the same bundle.
test_read_only_bundle() {
	faults_bundle
	reference_run ro_ref
	mkdir ro
	cp faults.tar.zst ro/bundle.tar.zst
	chmod 0444 ro/bundle.tar.zst
	chmod 0555 ro
	local before after
	before=$(find ro -printf '%p %s %m %T@ %C@\n')
	new_db ro_db
	mkdir cwd
	command -v strace > /dev/null || fail "strace missing (scripts/deps.sh installs it)"
	# LeakSanitizer cannot run under ptrace; the run below checks leaks.
	(cd cwd && ASAN_OPTIONS=${ASAN_OPTIONS//detect_leaks=1/detect_leaks=0} strace -f -qq -o ../trace -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,truncate,ftruncate \
	    "$SBA" upgrade ../ro/bundle.tar.zst > ../out 2> ../err) || { cat err; fail "upgrade failed"; }
	if grep -E 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|mkdir|rename|unlink|truncate' trace | grep -v ' = -1 ' | grep -v '/dev/null\|/dev/tty'; then
		fail "the applier wrote to files"
	fi
	grep -q 'openat(.*"../ro/bundle.tar.zst", O_RDONLY' trace || fail "bundle not opened read-only: $(grep bundle trace)"
	after=$(find ro -printf '%p %s %m %T@ %C@\n')
	assert_eq "$after" "$before" "the bundle's folder changed"
	[ -z "$(ls -A cwd)" ] || fail "files in the working folder: $(ls -A cwd)"
	assert_like_reference

	# An unprivileged user, for whom the folder and file are read-only.
	if [ "$(id -u)" -eq 0 ] && id postgres > /dev/null 2>&1; then
		new_db ro_user_db
		runuser -u postgres -- test -w ro/bundle.tar.zst && fail "postgres can write the bundle"
		runuser -u postgres -- test -w ro && fail "postgres can write the folder"
		runuser -u postgres -- env SQLBUNDLE_TRUST="$SQLBUNDLE_TRUST" PGHOST="$PGHOST" \
		    PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" \
		    "$SBA" upgrade "$PWD/ro/bundle.tar.zst" > out 2> err || { cat err; fail "unprivileged upgrade failed"; }
		assert_out "database at f4 after 4 upgrades"
		assert_like_reference
		assert_eq "$(find ro -printf '%p %s %m %T@ %C@\n')" "$before" "the bundle's folder changed"
	fi
}

# No usable trust: refused before the database is touched; with the key
# trusted, the same command does the whole job.
test_trust_missing_or_empty() {
	faults_bundle
	reference_run trust_ref
	new_db trust_db
	local key=$SQLBUNDLE_TRUST
	mkdir empty notkeys
	echo "not a key" > notkeys/README
	SQLBUNDLE_TRUST=$PWD/empty expect_err 1 "no trusted keys in \"$PWD/empty\"" "$SBA" upgrade faults.tar.zst
	grep -qx 'HINT: trusted keys are files named \*.pub' err || fail "no hint: $(cat err)"
	expect_err 1 'no trusted keys in "notkeys"' "$SBA" upgrade faults.tar.zst --trust notkeys
	SQLBUNDLE_TRUST=$PWD/missing expect_err 4 "could not read trusted keys \"$PWD/missing\": No such file or directory" \
	    "$SBA" upgrade faults.tar.zst
	expect_err 4 'could not read trusted keys "missing.pub": No such file or directory' \
	    "$SBA" upgrade faults.tar.zst --trust missing.pub
	# Neither --trust nor SQLBUNDLE_TRUST: the documented default.
	if [ ! -e /etc/sqlbundle/trusted.d ]; then
		(unset SQLBUNDLE_TRUST; expect_err 4 'could not read trusted keys "/etc/sqlbundle/trusted.d"' \
		    "$SBA" upgrade faults.tar.zst)
	fi
	[ ! -s out ] || fail "stdout on error: $(cat out)"
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('app', 'sqlbundle')")" 0 "schemas created"
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
	SQLBUNDLE_TRUST=$key expect_rc 0 "$SBA" upgrade faults.tar.zst
	assert_like_reference
}

# libpq's own words reach the user; nothing else happens; the same
# command with the right server finishes.
test_no_server() {
	faults_bundle
	reference_run noserver_ref
	new_db noserver_db
	local port
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PGHOST=127.0.0.1 PGPORT=$port expect_err 3 \
	    "could not connect to the database: connection to server at \"127.0.0.1\", port $port failed: Connection refused" \
	    "$SBA" upgrade faults.tar.zst
	mkdir nosock
	PGHOST=$PWD/nosock expect_err 3 \
	    "could not connect to the database: connection to server on socket \"$PWD/nosock/.s.PGSQL.$PGPORT\" failed: No such file or directory" \
	    "$SBA" upgrade faults.tar.zst
	PGDATABASE=no_such_db_here expect_err 3 'FATAL:  database "no_such_db_here" does not exist' \
	    "$SBA" upgrade faults.tar.zst
	PGUSER=no_such_role expect_err 3 'FATAL:  role "no_such_role" does not exist' \
	    "$SBA" upgrade faults.tar.zst
	[ ! -s out ] || fail "stdout on error: $(cat out)"
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('app', 'sqlbundle')")" 0
	expect_rc 0 "$SBA" upgrade faults.tar.zst
	assert_like_reference
}
