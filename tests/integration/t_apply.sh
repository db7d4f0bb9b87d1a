# sqlbundle-apply on the example project: round trips, targets, plan,
# status, refusals (project, unknown revision, edited and irreversible
# revisions), transactional: false, --json, connection options, usage.

# Pack a copy of the example project (in proj/, key hq) into $PWD/$1
# (default example.tar.zst); trust its key.
example_bundle() {
	local out=$PWD/${1:-example.tar.zst}
	[ -d proj ] || copy_example proj
	[ -f proj/keys/hq.key ] || "$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$out" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# Field $2 of `sqlbundle verify --json` on bundle $1.
bundle_field() {
	"$SB" verify --trust "$SQLBUNDLE_TRUST" --json "$1" |
	    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# Rows of a CSV file (quoted line breaks count once), header excluded.
csv_rows() {
	/usr/bin/python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="", encoding="utf-8-sig"))) - 1)' "$1"
}

# The example's application schemas that exist.
app_schemas() {
	q "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
	   WHERE nspname IN ('core', 'acct', 'inv', 'pos')"
}

test_round_trip() {
	example_bundle
	new_db
	local id key
	id=$(bundle_field example.tar.zst bundle_id)
	key=$(bundle_field example.tar.zst key_id)
	assert_eq "$id" "$(tar -xOf example.tar.zst MANIFEST | sha256sum | cut -d' ' -f1)" "bundle id"

	expect_rc 0 "$SBA" upgrade example.tar.zst
	grep -qx 'upgraded 2864583ca021 (4/4) in .* s, seed .*' err ||
	    fail "no log line for the last step: $(cat err)"
	assert_out "database at 2864583ca021 after 4 upgrades"
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 2864583ca021
	for f in proj/seeds/2864583ca021/*.csv; do
		local t
		t=$(basename "$f" .csv)
		t=${t#*-}
		assert_eq "$(q "SELECT count(*) FROM $t")" "$(csv_rows "$f")" "rows of $t"
	done
	assert_eq "$(q "SELECT count(*) FROM core.organization WHERE code = 'ARCOIRIS'")" 1
	assert_eq "$(q "SELECT string_agg(revision || ' ' || direction, ',' ORDER BY id) FROM sqlbundle.history")" \
	    "000000000001 upgrade,37a02ec8662a upgrade,853113448960 upgrade,2864583ca021 upgrade"
	assert_eq "$(q "SELECT count(DISTINCT bundle_id) || ' ' || min(bundle_id) || ' ' || min(key_id) FROM sqlbundle.history")" "1 $id $key"
	assert_eq "$(q "SELECT bool_and(db_user = current_user AND applier_version = 'sqlbundle-apply ' || '$($SBA --version | cut -d' ' -f2)' AND finished_at >= started_at) FROM sqlbundle.history")" t
	# The recorded hash is the upgrade script's, from the manifest.
	assert_eq "$(q "SELECT script_sha256 FROM sqlbundle.history WHERE revision = '37a02ec8662a'")" \
	    "$(tar -xOf example.tar.zst upgrade/0002_37a02ec8662a.sql | sha256sum | cut -d' ' -f1)"
	assert_eq "$(q "SELECT name || ' ' || bundle_id FROM sqlbundle.project")" "arcoirispos $id"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
	schema_dump > first.sql

	# History is append-only.
	expect_err 1 'sqlbundle.history is append-only' psql -X -q -c 'DELETE FROM sqlbundle.history'
	expect_err 1 'sqlbundle.history is append-only' psql -X -q -c "UPDATE sqlbundle.history SET key_id = 'x'"
	expect_err 1 'sqlbundle.history is append-only' psql -X -q -c 'TRUNCATE sqlbundle.history'

	# A negative number after the bundle is a target, not an option.
	expect_rc 0 "$SBA" downgrade example.tar.zst -1
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" 853113448960
	assert_eq "$(q 'SELECT count(*) FROM core.organization')" 0
	assert_eq "$(app_schemas)" "acct,core,inv,pos"

	expect_rc 0 "$SBA" downgrade example.tar.zst base
	assert_eq "$(app_schemas)" ""
	assert_eq "$(q 'SELECT count(*) FROM public.alembic_version')" 0
	assert_eq "$(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname IN ('core', 'acct', 'inv', 'pos')")" 0
	assert_eq "$(q "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	    WHERE n.nspname IN ('core', 'acct', 'inv', 'pos')")" 0

	expect_rc 0 "$SBA" upgrade example.tar.zst
	schema_dump > second.sql
	diff first.sql second.sql || fail "schema differs after a round trip"
	assert_eq "$(q "SELECT string_agg(direction, ',' ORDER BY id) FROM sqlbundle.history")" \
	    "upgrade,upgrade,upgrade,upgrade,downgrade,downgrade,downgrade,downgrade,upgrade,upgrade,upgrade,upgrade"
	# The downgrade rows carry the downgrade scripts' hashes.
	assert_eq "$(q "SELECT script_sha256 FROM sqlbundle.history WHERE direction = 'downgrade' AND revision = '000000000001'")" \
	    "$(tar -xOf example.tar.zst downgrade/0001_000000000001.sql | sha256sum | cut -d' ' -f1)"

	# At head, upgrade is a successful no-op.
	expect_rc 0 "$SBA" upgrade example.tar.zst
	assert_out "database already at 2864583ca021, nothing to do"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.history')" 12
}

test_targets() {
	example_bundle
	new_db
	expect_rc 0 "$SBA" upgrade example.tar.zst +1
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 000000000001
	expect_rc 0 "$SBA" upgrade example.tar.zst 853113448960
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 853113448960
	expect_rc 0 "$SBA" upgrade example.tar.zst +1
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	expect_rc 0 "$SBA" downgrade example.tar.zst -2
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 37a02ec8662a
	expect_rc 0 "$SBA" downgrade example.tar.zst 000000000001
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 000000000001
	# Options after the target, and "--" before it.
	expect_rc 0 "$SBA" upgrade example.tar.zst +2 -q
	[ ! -s err ] || fail "-q printed: $(cat err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 853113448960
	expect_rc 0 "$SBA" downgrade -q -- example.tar.zst -1
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 37a02ec8662a

	expect_err 6 'target +3 is beyond the bundle: the database is at "37a02ec8662a", 2 revisions below the bundle'"'"'s last ("2864583ca021")' \
	    "$SBA" upgrade example.tar.zst +3
	expect_err 6 'target -3 is beyond the bundle: the database is at "37a02ec8662a", 2 revisions above the bundle'"'"'s start ("base")' \
	    "$SBA" downgrade example.tar.zst -3
	expect_err 6 'target "base" is below the database'"'"'s revision "37a02ec8662a"' \
	    "$SBA" upgrade example.tar.zst base
	expect_err 6 'target "2864583ca021" is above the database'"'"'s revision "37a02ec8662a"' \
	    "$SBA" downgrade example.tar.zst 2864583ca021
	expect_err 6 'target revision "abcdef" is not in the bundle (base..2864583ca021)' \
	    "$SBA" upgrade example.tar.zst abcdef
	expect_err 2 'upgrade target "-1": use +N, head or a revision id' \
	    "$SBA" upgrade example.tar.zst -1
	expect_err 2 'missing argument: downgrade BUNDLE TARGET' "$SBA" downgrade example.tar.zst
	expect_err 2 'too many arguments' "$SBA" upgrade example.tar.zst +1 +2
	[ ! -s out ] || fail "stdout on error: $(cat out)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 37a02ec8662a
}

test_plan_changes_nothing() {
	example_bundle
	new_db
	full_dump > before.sql
	expect_rc 0 "$SBA" plan example.tar.zst
	assert_out "upgrade to 2864583ca021: 4 steps"
	assert_out "  1. upgrade 000000000001  baseline schema collapse"
	assert_out "  4. upgrade 2864583ca021  seed initial data  [10 seed files]"
	full_dump > after.sql
	diff before.sql after.sql || fail "plan changed the database"
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'sqlbundle'")" 0

	expect_rc 0 "$SBA" upgrade example.tar.zst +3
	full_dump > before.sql
	expect_rc 0 "$SBA" plan example.tar.zst -2
	assert_out "downgrade to 000000000001: 2 steps"
	assert_out "  1. downgrade 853113448960"
	assert_out "  2. downgrade 37a02ec8662a"
	expect_rc 0 "$SBA" plan example.tar.zst
	assert_out "upgrade to 2864583ca021: 1 step"
	expect_rc 0 "$SBA" --json plan example.tar.zst base
	/usr/bin/python3 - out <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["direction"] == "downgrade", p
assert p["event"] == "plan" and p["revisions"] == ["853113448960"], p
assert [s["revision"] for s in p["steps"]] == ["853113448960", "37a02ec8662a", "000000000001"], p
EOF
	full_dump > after.sql
	diff before.sql after.sql || fail "plan changed the database"
	expect_rc 0 "$SBA" plan example.tar.zst 853113448960
	assert_out "nothing to do: database at 853113448960"
}

test_status() {
	example_bundle
	new_db
	expect_rc 0 "$SBA" status
	assert_out "no sqlbundle history; version table public.alembic_version: does not exist"
	expect_rc 0 "$SBA" upgrade example.tar.zst +2
	expect_rc 0 "$SBA" downgrade example.tar.zst -1
	expect_rc 0 "$SBA" status
	assert_out "project arcoirispos"
	assert_out 'version table public.alembic_version: "000000000001"'
	# Latest first.
	sed -n '4,6p' out | awk '{ print $4, $5 }' > got
	printf '%s\n' "downgrade 37a02ec8662a" "upgrade 37a02ec8662a" "upgrade 000000000001" > want
	diff want got || fail "history rows: $(cat out)"
	grep -q "bundle $(bundle_field example.tar.zst bundle_id | cut -c1-12)  key $(bundle_field example.tar.zst key_id)  postgres" out ||
	    fail "no bundle/key/user in status: $(cat out)"
	expect_rc 0 "$SBA" status --json
	/usr/bin/python3 - out <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["project"] == "arcoirispos", s
assert s["revisions"] == ["000000000001"], s
assert [(h["direction"], h["revision"]) for h in s["history"]] == [
    ("downgrade", "37a02ec8662a"), ("upgrade", "37a02ec8662a"),
    ("upgrade", "000000000001")], s
assert s["in_progress"] == [], s
EOF
	# A database Alembic alone managed: no history, the version shown.
	new_db status_alembic
	q "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('853113448960')"
	expect_rc 0 "$SBA" status
	assert_out 'no sqlbundle history; version table public.alembic_version: "853113448960"'
}

test_project_binding() {
	example_bundle
	new_db
	expect_rc 0 "$SBA" upgrade example.tar.zst +1
	copy_example other
	echo "project = otherpos" > other/sqlbundle.conf
	"$SB" -C other pack --key "$PWD/proj/keys/hq.key" -o "$PWD/other.tar.zst" > /dev/null
	full_dump > before.sql
	expect_err 6 "belongs to project \"arcoirispos\"; the bundle is of project \"otherpos\"" \
	    "$SBA" upgrade other.tar.zst
	expect_err 6 "belongs to project \"arcoirispos\"" "$SBA" plan other.tar.zst
	full_dump > after.sql
	diff before.sql after.sql || fail "a refused bundle changed the database"
}

test_unknown_revision() {
	example_bundle
	new_db
	q "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('ffffffffffff')"
	full_dump > before.sql
	expect_err 6 'database is at revision "ffffffffffff", which is not on the path of the bundle (base..2864583ca021)' \
	    "$SBA" upgrade example.tar.zst
	expect_err 6 '"ffffffffffff"' "$SBA" plan example.tar.zst
	full_dump > after.sql
	diff before.sql after.sql || fail "a refusal changed the database"
	# A bundle that starts later than the database.
	new_db unknown_rev_later
	"$SB" -C proj pack --key keys/hq.key --from 37a02ec8662a -o "$PWD/late.tar.zst" > /dev/null
	expect_err 6 'database has no revision (base), which is not on the path of the bundle (37a02ec8662a..2864583ca021)' \
	    "$SBA" upgrade late.tar.zst
	expect_rc 0 "$SBA" upgrade example.tar.zst +2
	expect_rc 0 "$SBA" upgrade late.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	expect_err 6 'target base is not in the bundle (37a02ec8662a..2864583ca021)' \
	    "$SBA" downgrade late.tar.zst base
	expect_rc 0 "$SBA" downgrade late.tar.zst 37a02ec8662a
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 37a02ec8662a
}

test_edited_revision() {
	example_bundle
	new_db
	expect_rc 0 "$SBA" upgrade example.tar.zst
	# Pack refuses edits of landed revisions; forget them to force one.
	rm -f proj/revisions/CHECKSUMS
	sed -i 's/^-- +upgrade$/-- +upgrade\n-- an edit after it landed/' proj/revisions/37a02ec8662a_*.sql
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/edited.tar.zst" > /dev/null
	full_dump > before.sql
	expect_err 6 'revision "37a02ec8662a" (37a02ec8662a_init_schema.sql) was edited' \
	    "$SBA" upgrade edited.tar.zst
	expect_err 6 'revision "37a02ec8662a"' "$SBA" downgrade edited.tar.zst -1
	expect_err 6 'was edited' "$SBA" plan edited.tar.zst
	full_dump > after.sql
	diff before.sql after.sql || fail "a refusal changed the database"
}

# The example plus e5 (transactional: false, an index built concurrently)
# and f6 (irreversible).
extended_bundle() {
	copy_example proj
	cat > proj/revisions/e5a1b2c3d4e5_concurrent_index.sql <<'EOF'
-- revision: e5a1b2c3d4e5
-- down_revision: 2864583ca021
-- message: index built concurrently
-- transactional: false

-- +upgrade
CREATE INDEX CONCURRENTLY IF NOT EXISTS organization_legal_name_idx
    ON core.organization (legal_name);
CREATE TABLE IF NOT EXISTS core.e5_marker (id int PRIMARY KEY);
DO $$ BEGIN RAISE NOTICE 'e5: % "built"', 'index'; END $$;

-- +downgrade
DROP TABLE IF EXISTS core.e5_marker;
DROP INDEX CONCURRENTLY IF EXISTS core.organization_legal_name_idx;
EOF
	cat > proj/revisions/f6a1b2c3d4e5_one_way.sql <<'EOF'
-- revision: f6a1b2c3d4e5
-- down_revision: e5a1b2c3d4e5
-- message: a change with no way back

-- +upgrade
CREATE TABLE core.f6_one_way (id int);
EOF
	example_bundle
}

test_nontransactional_and_irreversible() {
	extended_bundle
	new_db
	expect_rc 0 "$SBA" upgrade example.tar.zst
	# Server notices reach the user through the progress output.
	grep -qx 'NOTICE:  e5: index "built"' err || fail "no notice: $(cat err)"
	assert_eq "$(q "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'core.organization_legal_name_idx'::regclass")" t
	assert_eq "$(q "SELECT to_regclass('core.e5_marker') IS NOT NULL AND to_regclass('core.f6_one_way') IS NOT NULL")" t
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" f6a1b2c3d4e5
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE revision = 'e5a1b2c3d4e5' AND direction = 'upgrade'")" 1
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0

	full_dump > before.sql
	expect_err 6 'revision "f6a1b2c3d4e5" (f6a1b2c3d4e5_one_way.sql) is irreversible: it has no -- +downgrade section, so the database cannot go down to "base"' \
	    "$SBA" downgrade example.tar.zst base
	expect_err 6 'is irreversible' "$SBA" downgrade example.tar.zst -1
	expect_err 6 'is irreversible' "$SBA" plan example.tar.zst -1
	full_dump > after.sql
	diff before.sql after.sql || fail "a refused downgrade changed the database"

	# Below the irreversible one, the concurrent revision goes down too.
	new_db nontx_down
	expect_rc 0 "$SBA" upgrade example.tar.zst 2864583ca021
	expect_rc 0 "$SBA" upgrade example.tar.zst +1 --json
	grep -qxF '{"event":"notice","message":"NOTICE:  e5: index \"built\""}' out ||
	    fail "no notice event: $(cat out)"
	expect_rc 0 "$SBA" downgrade example.tar.zst -1 -q
	expect_rc 0 "$SBA" upgrade example.tar.zst +1 -q
	[ ! -s err ] && [ ! -s out ] || fail "-q printed: $(cat out err)"
	expect_rc 0 "$SBA" downgrade example.tar.zst -1
	assert_eq "$(q "SELECT to_regclass('core.organization_legal_name_idx') IS NULL AND to_regclass('core.e5_marker') IS NULL")" t
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
}

test_json() {
	example_bundle
	new_db
	expect_rc 0 "$SBA" --json upgrade example.tar.zst
	/usr/bin/python3 - out <<'EOF'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
kinds = [e["event"] for e in events]
assert kinds[0] == "start" and kinds[-1] == "done", kinds
assert kinds.count("step_begin") == 4 and kinds.count("step_done") == 4, kinds
assert events[0]["step_count"] == 4 and events[0]["revisions"] == [], events[0]
assert events[-1]["target"] == "2864583ca021", events[-1]
done = [e for e in events if e["event"] == "step_done"]
assert [e["index"] for e in done] == [1, 2, 3, 4], done
assert done[-1]["seed_bytes"] > 0, done[-1]
EOF
	# Errors are events too, and on stderr as usual.
	expect_rc 6 "$SBA" --json upgrade example.tar.zst nosuchrev
	/usr/bin/python3 - out <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 1, lines
e = json.loads(lines[0])
assert e["event"] == "error" and e["code"] == 6, e
assert 'target revision "nosuchrev"' in e["message"], e
EOF
	grep -q 'target revision "nosuchrev" is not in the bundle' err || fail "no error on stderr"
	expect_rc 0 "$SBA" verify --json example.tar.zst
	/usr/bin/python3 -c 'import json,sys; d = json.load(open("out")); assert d["event"] == "verify" and d["project"] == "arcoirispos", d'
}

test_verify_command() {
	example_bundle
	expect_rc 0 "$SBA" verify example.tar.zst
	assert_out "verified: project arcoirispos, base..2864583ca021, 4 revisions"
	assert_out "bundle id: $(bundle_field example.tar.zst bundle_id)"
	"$SB" -C proj keygen other > /dev/null
	expect_err 1 "bundle signed by untrusted key $(bundle_field example.tar.zst key_id)" \
	    "$SBA" verify --trust proj/keys/other.pub example.tar.zst
	# The trust folder: every .pub in it.
	mkdir trusted
	cp proj/keys/hq.pub trusted/
	SQLBUNDLE_TRUST=$PWD/trusted expect_rc 0 "$SBA" verify example.tar.zst
	expect_rc 0 "$SBA" verify example.tar.zst --trust trusted
	expect_err 4 'could not read trusted keys "no-such-keys"' \
	    "$SBA" verify example.tar.zst --trust no-such-keys
	expect_err 4 'could not open bundle "missing.tar.zst"' "$SBA" verify missing.tar.zst
}

test_connection_options() {
	example_bundle
	new_db conn_opts
	local db=$PGDATABASE host
	host=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PGHOST")
	unset PGDATABASE
	expect_rc 0 "$SBA" -d "postgresql:///$db?host=$host&port=$PGPORT" upgrade example.tar.zst +1
	expect_rc 0 "$SBA" upgrade example.tar.zst +1 --dbname "dbname=$db host=$PGHOST port=$PGPORT"
	expect_rc 0 "$SBA" status -d "dbname=$db"
	assert_out 'version table public.alembic_version: "37a02ec8662a"'
	# Both runs went to the database named by -d.
	assert_eq "$(PGDATABASE=$db q "SELECT count(*) FROM sqlbundle.history")" 2
	expect_err 3 'could not connect to the database' "$SBA" status -d "dbname=no_such_database_here"
	[ ! -s out ] || fail "stdout on error"
	# A version table elsewhere.
	new_db conn_opts_vt
	q "CREATE SCHEMA meta"
	expect_rc 0 "$SBA" upgrade example.tar.zst --version-table meta.versions +1
	assert_eq "$(q 'SELECT version_num FROM meta.versions')" 000000000001
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
	assert_eq "$(q "SELECT count(*) FROM pg_constraint WHERE conname = 'versions_pkc'")" 1
	expect_err 2 'invalid --version-table "versions": expected SCHEMA.TABLE' \
	    "$SBA" status --version-table versions
}

test_usage() {
	expect_rc 0 "$SBA" --help
	assert_out "sqlbundle-apply [OPTION]... downgrade BUNDLE TARGET"
	expect_rc 0 "$SBA" --version
	assert_eq "$(cat out)" "sqlbundle-apply $(sed -n 's/^VERSION := //p' "$SB_ROOT/Makefile")"
	expect_err 2 'unknown option "--bogus"' "$SBA" --bogus status
	grep -qx 'Try "sqlbundle-apply --help" for more information.' err || fail "no Try line"
	[ ! -s out ] || fail "stdout on a usage error"
	expect_err 2 'unknown option "-x"' "$SBA" status -x
	expect_err 2 'unknown command "frobnicate"' "$SBA" frobnicate
	expect_err 2 'no command given' "$SBA"
	expect_err 2 'invalid --chunk-size "12Q"' "$SBA" --chunk-size 12Q status
	expect_err 2 'option "--dbname" needs a value' "$SBA" status --dbname
	expect_err 2 'missing argument: upgrade BUNDLE [TARGET]' "$SBA" upgrade
	grep -qx 'Try "sqlbundle-apply --help" for more information.' err || fail "no Try line"
	expect_err 2 'too many arguments: status' "$SBA" status extra
}

test_no_server() {
	example_bundle
	mkdir empty
	PGHOST=$PWD/empty expect_err 3 'could not connect to the database' "$SBA" upgrade example.tar.zst
	[ ! -s out ] || fail "stdout on error"
	PGHOST=$PWD/empty expect_err 3 'could not connect to the database' "$SBA" status
	# Verification needs no server; a bad target is a usage error first.
	PGHOST=$PWD/empty expect_rc 0 "$SBA" verify example.tar.zst
	PGHOST=$PWD/empty expect_err 2 'upgrade target "-1": use +N, head or a revision id' \
	    "$SBA" upgrade example.tar.zst -1
	PGHOST=$PWD/empty expect_err 2 'invalid target "x-y"' "$SBA" plan example.tar.zst x-y
}

# On a terminal: one progress line redrawn with \r, no log lines.
test_terminal_progress() {
	example_bundle
	new_db
	/usr/bin/python3 - "$SBA" upgrade example.tar.zst > tty.out <<'EOF'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
EOF
	/usr/bin/python3 - tty.out <<'EOF'
import sys
out = open(sys.argv[1], "rb").read().decode()
assert "\rupgrade 1/4 000000000001" in out, repr(out)
assert "\rupgrade 4/4 2864583ca021  seed " in out, repr(out)
assert "upgraded " not in out, repr(out)
assert "database at 2864583ca021 after 4 upgrades" in out, repr(out)
EOF
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
}
