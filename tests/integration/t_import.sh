# sqlbundle import alembic: every case of the fixture chains in
# tests/fixtures/alembic_import/, and equivalence with Alembic itself.
FIX=$SB_ROOT/tests/fixtures/alembic_import
# Programs built outside bin/ (a sanitized build) have no share/ beside them.
[ -f "$SB_BIN/../share/sqlbundle/alembic_import.py" ] ||
	export SQLBUNDLE_ALEMBIC_HELPER=$SB_ROOT/share/sqlbundle/alembic_import.py

# import_into DIR CHAIN [OPTIONS...]: import CHAIN's fixture into DIR,
# capturing on the test server unless an option says otherwise.
import_into() {
	local dir=$1 chain=$2
	shift 2
	mkdir -p "$dir"
	"$SB" -C "$dir" import alembic --config "$FIX/$chain/alembic.ini" "$@"
}

scratch() {
	echo "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
}

alembic_url() {
	echo "postgresql+psycopg2://postgres@/$1?host=$PGHOST&port=$PGPORT"
}

# file_of DIR ID: the revision file of ID in DIR/revisions.
file_of() {
	ls "$1"/revisions/"$2"_*.sql "$1"/revisions/"$2".sql 2>/dev/null | head -n 1
}

# Dump and rows of database $1, without the applier's own schema; time
# stamps (DEFAULT now(): when each side ran) are left out of the rows.
db_state() {
	PGDATABASE=$1 schema_dump --exclude-schema=sqlbundle
	PGDATABASE=$1 psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 <<'SQL'
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(row(%s)::text, E''\n'' ORDER BY row(%s)::text), '''')) FROM %I.%I',
              n.nspname || '.' || c.relname, cols, cols, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT coalesce(string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum), 'NULL') AS cols
    FROM pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      AND a.atttypid NOT IN ('timestamptz'::regtype, 'timestamp'::regtype)) x
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqlbundle')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
\gexec
SQL
}

test_import_cases() {
	expect_rc 0 import_into proj cases --scratch "$(scratch)"
	echo "project = cases" > proj/sqlbundle.conf
	assert_out "7 new, 0 unchanged, 0 drifted"
	f=$(file_of proj 0001_base_tables)
	grep -qx -- '-- down_revision: none' "$f" || fail "base: $(cat "$f")"
	grep -q "O''Brien''s 100% wool" "$f" || fail "bulk_insert values: $(cat "$f")"
	grep -qx -- '-- transactional: false' "$(file_of proj 3f1a9c2b7d10)" ||
		fail "autocommit_block() must make the revision non-transactional"
	f=$(file_of proj 0133_set_services_sms_prefix)
	grep -qx -- '-- transactional: false' "$f" || fail "COMMIT: $(cat "$f")"
	! grep -qix 'commit;' "$f" || fail "a COMMIT was kept: $(cat "$f")"
	grep -qx -- '-- down_revision: b1000000001, b2000000002' \
	    "$(file_of proj c0ffee000001)" || fail "merge parents"
	f=$(file_of proj a1b2c3d4e5f6)
	grep -qx '\$\$;' "$f" || fail "statement ending in ; : $(cat "$f")"
	! grep -q ';;' "$f" || fail "';;' in $(cat "$f")"
	grep -qx '  100% real'"';" "$f" || fail "multi-line string: $(cat "$f")"
	grep -qF "SET note = '50% off; isn''t it' WHERE id = 1;" "$f" ||
		fail "bound values: $(cat "$f")"
	! grep -rqi alembic_version proj/revisions || fail "version-table SQL kept"
	# every downgrade ran once: each file has one
	assert_eq "$(grep -l -- '^-- +downgrade' proj/revisions/*.sql | wc -l)" 7
	prove_equivalence "$FIX/cases" proj c0ffee000001
}

# prove_equivalence ALEMBIC_DIR PROJECT HEAD [upgrade-only]: the imported PROJECT, checked,
# packed and applied by sqlbundle-apply on one fresh database, and the
# Alembic project upgraded online by Alembic on another, hold the same
# schema and rows; so after downgrade base on both; and `alembic current`
# reads the applied database's position.
prove_equivalence() {
	local src=$1 proj=$2 head=$3
	expect_rc 0 "$SB" -C "$proj" check
	"$SB" -C "$proj" keygen hq > /dev/null
	"$SB" -C "$proj" pack --key keys/hq.key -o "$PWD/eq.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/$proj/keys/hq.pub
	new_db sb_side
	expect_rc 0 "$SBA" upgrade eq.tar.zst
	new_db al_side
	cp -r "$src" al
	(cd al && alembic -x url="$(alembic_url al_side)" upgrade head) \
	    > alembic.log 2>&1 || { cat alembic.log; fail "alembic upgrade head"; }
	db_state sb_side > sb.state
	db_state al_side > al.state
	grep -q 'CREATE TABLE' al.state || fail "nothing to compare"
	diff -u al.state sb.state || fail "upgrade head: the databases differ"
	(cd al && alembic -x url="$(alembic_url sb_side)" current) > current.out 2>&1 ||
		{ cat current.out; fail "alembic current"; }
	grep -q "^$head (head)" current.out || fail "alembic current: $(cat current.out)"
	[ "${4:-}" = upgrade-only ] && return 0
	PGDATABASE=sb_side expect_rc 0 "$SBA" downgrade eq.tar.zst base
	(cd al && alembic -x url="$(alembic_url al_side)" downgrade base) \
	    > alembic.log 2>&1 || { cat alembic.log; fail "alembic downgrade base"; }
	db_state sb_side > sb.state
	db_state al_side > al.state
	diff -u al.state sb.state || fail "downgrade base: the databases differ"
}

# The ArcoIrisPOS chain, written as Alembic users write it.
test_import_example() {
	mkdir proj
	echo "project = arcoirispos" > proj/sqlbundle.conf
	expect_rc 0 "$SB" -C proj import alembic \
	    --config "$SB_ROOT/examples/alembic/alembic.ini"
	assert_out "4 new, 0 unchanged, 0 drifted"
	grep -qx -- '-- down_revision: 853113448960' \
	    "$(file_of proj 2864583ca021)" || fail "seed revision parent"
	prove_equivalence "$SB_ROOT/examples/alembic" proj 2864583ca021
	# offline cannot render JSONB values: an error naming the line
	mkdir off
	expect_err 1 "versions/2864583ca021_seed_initial_data.py:163: sqlalchemy.exc.CompileError: No literal value renderer" \
	    "$SB" -C off import alembic --offline \
	    --config "$SB_ROOT/examples/alembic/alembic.ini"
	assert_eq "$(ls -A off/revisions)" ""
}

test_import_offline_matches_capture() {
	expect_rc 0 import_into cap cases --scratch "$(scratch)"
	expect_rc 0 import_into off cases --offline
	assert_out "7 new, 0 unchanged, 0 drifted"
	expect_rc 0 "$SB" -C off check
	diff -r cap/revisions off/revisions || fail "offline and capture differ"
}

test_import_private_server() {
	# A temporary folder of this test's own (other runs may be importing
	# too), short enough for the server's unix socket.
	local tmp
	tmp=$(mktemp -d /tmp/sb-import-test.XXXXXX)
	chmod 755 "$tmp"
	# no --scratch: a throwaway server of the import's own
	TMPDIR=$tmp expect_rc 0 import_into proj cases
	assert_out "7 new, 0 unchanged, 0 drifted"
	expect_rc 0 import_into cap cases --scratch "$(scratch)"
	diff -r cap/revisions proj/revisions || fail "private server differs"
	assert_eq "$(ls -A "$tmp")" "" "the private server's folder is removed"
	rmdir "$tmp"
	PGBIN=/nonexistent expect_err 1 "pass --scratch CONNINFO" \
	    import_into none cases
}

test_import_irreversible() {
	expect_rc 0 import_into proj irreversible --scratch "$(scratch)"
	# a downgrade that is missing or raises: irreversible
	for r in 1a0000000002 1a0000000004; do
		! grep -q -- '^-- +downgrade' "$(file_of proj $r)" ||
			fail "$r must be irreversible: $(cat "$(file_of proj $r)")"
	done
	grep -qF "versions/1a0000000004.py: downgrade() raised: versions/1a0000000004.py:20: NotImplementedError: the data of column c cannot be restored; the revision is irreversible" err ||
		{ cat err; fail "no warning for the raising downgrade"; }
	# pass, or a body that renders nothing: a no-op, as Alembic runs it
	for r in 1a0000000001 1a0000000003 1a0000000005; do
		grep -q -- '^-- +downgrade' "$(file_of proj $r)" ||
			fail "$r must be reversible: $(cat "$(file_of proj $r)")"
	done
	for r in 1a0000000003 1a0000000005; do
		grep -qF "versions/$r.py: revision $r: downgrade() does nothing on PostgreSQL: imported as a no-op downgrade" err ||
			{ cat err; fail "no warning for the empty downgrade of $r"; }
	done
	expect_rc 0 "$SB" -C proj check
	# the strict reading
	expect_rc 0 import_into strict irreversible --offline --empty-downgrade irreversible
	for r in 1a0000000003 1a0000000005; do
		! grep -q -- '^-- +downgrade' "$(file_of strict $r)" ||
			fail "$r must be irreversible with --empty-downgrade irreversible"
	done
	grep -qF "versions/1a0000000003.py: revision 1a0000000003: downgrade() does nothing on PostgreSQL: imported as irreversible (--empty-downgrade irreversible)" err ||
		{ cat err; fail "strict warning"; }
	expect_err 2 'import: --empty-downgrade is reversible or irreversible, not "maybe"' \
	    import_into x irreversible --offline --empty-downgrade maybe
	# upgrade only: Alembic cannot go back through them either
	cp "$FIX/cases/env.py" "$FIX/irreversible/alembic.ini" .
	mkdir al_src
	cp -r "$FIX/irreversible/versions" env.py alembic.ini al_src/
	echo "project = irreversible" > proj/sqlbundle.conf
	prove_equivalence "$PWD/al_src" proj 1a0000000005 upgrade-only
}

# The capture runs each upgrade once and each downgrade once, from the
# head down, as Alembic does: downgrades that are not exact inverses (an
# enum type, a sequence left behind) import; one that PostgreSQL refuses
# makes its revision irreversible, and the walk goes on below it.
# Catalog reads (reflection, batch, checkfirst) are never frozen.
test_import_walk() {
	expect_rc 0 import_into proj walk --scratch "$(scratch)"
	assert_out "6 new, 0 unchanged, 0 drifted"
	grep -qF 'versions/7a0000000003.py: downgrade() raised: versions/7a0000000003.py:19: syntax error at or near "TABL" (SQLSTATE 42601); in: DROP TABL u; the revision is irreversible' err ||
		{ cat err; fail "no PostgreSQL message for the failed downgrade"; }
	! grep -q -- '^-- +downgrade' "$(file_of proj 7a0000000003)" ||
		fail "7a0000000003 must be irreversible"
	for r in 7a0000000001 7a0000000002 7a0000000004 7a0000000005 7a0000000006; do
		grep -q -- '^-- +downgrade' "$(file_of proj $r)" || fail "$r reversible"
	done
	# below the refused downgrade, the walk went on in a rebuilt database
	grep -qx 'ALTER TABLE t DROP COLUMN n;' "$(file_of proj 7a0000000002)" ||
		fail "7a0000000002: $(cat "$(file_of proj 7a0000000002)")"
	grep -qx 'DROP TABLE t;' "$(file_of proj 7a0000000001)" ||
		fail "7a0000000001: $(cat "$(file_of proj 7a0000000001)")"
	# no catalog read, no OID
	! grep -rqiE 'pg_catalog|information_schema|pg_class|attrelid|oid' proj/revisions ||
		fail "a catalog read was frozen: $(grep -rniE 'pg_catalog|information_schema|pg_class|attrelid|oid' proj/revisions)"
	grep -qx 'CREATE TYPE colour AS ENUM (.red., .green.);' "$(file_of proj 7a0000000005)" ||
		fail "checkfirst create: $(cat "$(file_of proj 7a0000000005)")"
	# an empty upgrade is a valid no-op step, and says so
	f=$(file_of proj 7a0000000006)
	assert_eq "$(sed -n '/^-- +upgrade/,/^-- +downgrade/p' "$f" | grep -vc '^--\|^$')" 0
	grep -qx -- '-- nothing: upgrade() sends no SQL to PostgreSQL' "$f" ||
		fail "empty upgrade: $(cat "$f")"
	grep -qx -- '-- nothing: downgrade() sends no SQL to PostgreSQL' "$(file_of proj 7a0000000004)" ||
		fail "empty downgrade: $(cat "$(file_of proj 7a0000000004)")"
	expect_rc 0 "$SB" -C proj check
	! grep -q warning err || fail "check: $(cat err)"
	echo "project = walk" > proj/sqlbundle.conf
	cp "$FIX/cases/env.py" "$FIX/walk/alembic.ini" .
	mkdir al_src
	cp -r "$FIX/walk/versions" env.py alembic.ini al_src/
	prove_equivalence "$PWD/al_src" proj 7a0000000006 upgrade-only
	# down to the irreversible revision, on both sides
	PGDATABASE=sb_side expect_rc 0 "$SBA" downgrade eq.tar.zst 7a0000000003
	(cd al && alembic -x url="$(alembic_url al_side)" downgrade 7a0000000003) \
	    > alembic.log 2>&1 || { cat alembic.log; fail "alembic downgrade"; }
	db_state sb_side > sb.state
	db_state al_side > al.state
	diff -u al.state sb.state || fail "downgrade: the databases differ"
	PGDATABASE=sb_side expect_err 6 7a0000000003 "$SBA" downgrade eq.tar.zst base
}

# Two imports, each on a fresh private server and with another
# PYTHONHASHSEED, write the same bytes; --check passes on the result.
test_import_deterministic() {
	local tmp
	tmp=$(mktemp -d /tmp/sb-import-test.XXXXXX)
	chmod 755 "$tmp"
	TMPDIR=$tmp PYTHONHASHSEED=1 expect_rc 0 import_into one walk
	TMPDIR=$tmp PYTHONHASHSEED=2 expect_rc 0 import_into two walk
	diff -r one/revisions two/revisions || fail "two imports differ"
	TMPDIR=$tmp PYTHONHASHSEED=3 expect_rc 0 import_into one walk --check
	assert_out "0 new, 6 unchanged, 0 drifted"
	assert_eq "$(ls -A "$tmp")" ""
	rmdir "$tmp"
}

# A value of the moment (uuid4()) renders differently on every run: a
# later import says "cannot be compared", never drift, and --check passes.
test_import_uncomparable() {
	expect_rc 0 import_into proj warnings --scratch "$(scratch)"
	expect_rc 0 import_into proj warnings --scratch "$(scratch)" --check
	assert_out "0 new, 5 unchanged, 0 drifted, 1 cannot be compared"
	grep -qF 'cannot be compared: revision "2b0000000001"' err ||
		{ cat err; fail "no cannot-be-compared line"; }
	grep -qF 'calls uuid4() at line 20' err || { cat err; fail "why"; }
}

# A typo fails the import with PostgreSQL's message, its SQLSTATE and the
# file and line of the statement; nothing is written.
test_import_typo() {
	expect_err 1 'versions/8b0000000001.py:16: syntax error at or near "ALTR" (SQLSTATE 42601); in: ALTR TABLE t ADD x int' \
	    import_into proj typo --scratch "$(scratch)"
	! grep -q 'Background on this error' err || fail "SQLAlchemy's line: $(cat err)"
	assert_eq "$(ls -A proj/revisions)" ""
}

test_import_warnings() {
	expect_rc 0 import_into proj warnings --scratch "$(scratch)"
	for w in "versions/2b0000000001.py: revision 2b0000000001 calls uuid4() at line 20: rendered for an empty database at import time" \
	    "versions/2b0000000002.py: revision 2b0000000002 calls date.today() at line 17: rendered for an empty database" \
	    "versions/2b0000000003.py: revision 2b0000000003 reads the database (versions/2b0000000003.py:16): rendered for an empty database" \
	    "versions/2b0000000004.py: revision 2b0000000004 reads the database (versions/2b0000000004.py:18)" \
	    "versions/2b0000000005.py: CREATE INDEX CONCURRENTLY ix_t_id_year ON t (id, year) outside an autocommit_block(): the revision is made transactional: false" \
	    "versions/2b0000000006.py: a statement on alembic_version left out"; do
		grep -qF -- "$w" err || { cat err; fail "missing warning: $w"; }
	done
	grep -qx -- '-- transactional: false' "$(file_of proj 2b0000000005)" ||
		fail "CONCURRENTLY outside a block must be non-transactional"
	! grep -rqi alembic_version proj/revisions || fail "version-table SQL kept"
	expect_rc 0 "$SB" -C proj check
}

test_import_offline_strict() {
	expect_err 1 "versions/3c0000000001.py:17: StrictError: parameters passed to execute() would be rendered as NULL by --offline" \
	    import_into a offline_params --offline
	expect_err 1 "versions/3c0000000002.py:17: StrictError: reads query results (.scalar), which --offline cannot do" \
	    import_into b offline_read --offline
	expect_err 1 "versions/3c0000000003.py:17: StrictError: inspects the database (reflection), which --offline cannot do" \
	    import_into c offline_reflect --offline
	assert_eq "$(ls a/revisions b/revisions c/revisions)" "$(printf 'a/revisions:\n\nb/revisions:\n\nc/revisions:')"
	# capture renders them
	expect_rc 0 import_into d offline_params --scratch "$(scratch)"
	grep -qx 'INSERT INTO t (v) VALUES (5);' "$(file_of d 3c0000000001)" ||
		fail "bound parameter: $(cat "$(file_of d 3c0000000001)")"
}

test_import_refuses_id() {
	expect_err 1 'versions/2024_01_15_add_customer_loyalty_points.py: revision id "2024_01_15_add_customer_loyalty_points" cannot be kept' \
	    import_into proj bad_id --scratch "$(scratch)"
	# the base before it was fine, and is not written either
	assert_eq "$(ls -A proj/revisions)" ""
}

test_import_python_errors() {
	expect_err 1 "versions/5e0000000002.py:9: ModuleNotFoundError: No module named 'shopmodels'" \
	    import_into proj import_fail --scratch "$(scratch)"
	assert_eq "$(ls -A proj/revisions)" ""
	# the user's PYTHONPATH is honoured
	PYTHONPATH=$FIX/import_fail/lib expect_rc 0 import_into proj import_fail \
	    --scratch "$(scratch)"
	grep -q 'CREATE TABLE from_models' "$(file_of proj 5e0000000002)" || fail "models"
	expect_err 1 "versions/6f0000000001.py:11: KeyError: 'SHOP_PAYMENT_GATEWAY'" \
	    import_into env env_fail --offline
	SHOP_PAYMENT_GATEWAY=acme expect_rc 0 import_into env env_fail --offline
	expect_err 1 'could not run the Alembic helper with "/nonexistent/python3"' \
	    import_into py cases --offline --python /nonexistent/python3
	# without --python: the interpreter of `alembic` on PATH (a virtualenv's)
	mkdir venvbin
	printf '#!/nonexistent/venv/bin/python3\nimport sys\n' > venvbin/alembic
	chmod +x venvbin/alembic
	PATH=$PWD/venvbin:$PATH expect_err 1 \
	    'could not run the Alembic helper with "/nonexistent/venv/bin/python3"' \
	    import_into venv cases --offline
}

test_import_again_drift_check() {
	expect_rc 0 import_into part cases --offline --to a1b2c3d4e5f6
	expect_err 1 "import --check: 3 revisions not imported, 0 drifted" \
	    import_into part cases --offline --check
	assert_out "not imported yet: part/revisions/c0ffee000001_merge_the_branches.sql"
	expect_rc 0 import_into proj cases --offline
	expect_rc 0 import_into proj cases --offline --check
	assert_out "0 new, 7 unchanged, 0 drifted"
	expect_rc 0 import_into proj cases --offline
	assert_out "0 new, 7 unchanged, 0 drifted"
	f=$(file_of proj b2000000002)
	echo "-- edited" >> "$f"
	cp "$f" edited.sql
	expect_err 1 "drift: revision \"b2000000002\" ($f) differs from a fresh import of versions/b2000000002_branch_2.py" \
	    import_into proj cases --offline --check
	expect_err 0 "drift: revision \"b2000000002\"" import_into proj cases --offline
	cmp "$f" edited.sql || fail "a drifted revision was rewritten"
}

test_import_to_and_dry_run() {
	expect_rc 0 import_into proj cases --offline --dry-run
	assert_out "would write proj/revisions/0001_base_tables_base_tables.sql"
	assert_eq "$(ls -A proj/revisions 2>/dev/null)" ""
	expect_rc 0 import_into proj cases --offline --to 3f1a9c2b7d10
	assert_out "2 new, 0 unchanged, 0 drifted"
	assert_eq "$(ls proj/revisions | wc -l)" 2
	expect_rc 0 "$SB" -C proj check
	expect_rc 0 import_into proj cases --offline
	assert_out "5 new, 2 unchanged, 0 drifted"
	expect_rc 0 "$SB" help import
	assert_out "Usage: sqlbundle import alembic"
	expect_err 2 'import: unknown source "flyway"' "$SB" import flyway
}

# Empty sections are no-op steps that only move the version: an empty
# upgrade (a merge, a revision with nothing to do on PostgreSQL) and an
# empty downgrade. check, render, pack, plan and the applier accept them.
test_empty_sections() {
	mkdir -p proj/revisions
	echo "project = empty" > proj/sqlbundle.conf
	printf -- '-- revision: e1\n-- down_revision: none\n\n-- +upgrade\nCREATE TABLE t (id int);\n\n-- +downgrade\nDROP TABLE t;\n' \
	    > proj/revisions/e1_base.sql
	printf -- '-- revision: e2\n-- down_revision: e1\n-- message: nothing on PostgreSQL\n\n-- +upgrade\n-- pass\n\n-- +downgrade\n' \
	    > proj/revisions/e2_nothing.sql
	printf -- '-- revision: e3\n-- down_revision: e2\n\n-- +upgrade\nINSERT INTO t VALUES (1);\n\n-- +downgrade\n' \
	    > proj/revisions/e3_data.sql
	printf -- '-- revision: e4\n-- down_revision: e3\n-- transactional: false\n\n-- +upgrade\n' \
	    > proj/revisions/e4_empty_irreversible.sql
	expect_err 0 "proj/revisions/e4_empty_irreversible.sql:5: the upgrade section is empty: a no-op step" \
	    "$SB" -C proj check
	! grep -q e2_nothing err || fail "a comment says the no-op is meant: $(cat err)"
	expect_rc 0 "$SB" -C proj render --to head
	grep -q 'INSERT INTO t VALUES (1);' out || fail "render: $(cat out)"
	"$SB" -C proj keygen hq > /dev/null
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key -o "$PWD/e.tar.zst"
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
	new_db
	expect_rc 0 "$SBA" plan e.tar.zst
	assert_out "upgrade to e4: 4 steps"
	expect_rc 0 "$SBA" upgrade e.tar.zst
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" e4
	assert_eq "$(q "SELECT string_agg(revision, ',' ORDER BY id) FROM sqlbundle.history")" e1,e2,e3,e4
	# e4 has no downgrade: irreversible, refused before anything runs
	expect_err 6 'e4' "$SBA" downgrade e.tar.zst e3
	expect_rc 0 "$SBA" upgrade e.tar.zst
	assert_eq "$(q 'SELECT version_num FROM public.alembic_version')" e4
	# through a pack that stops before it: e3 and e2 go down as no-ops
	expect_rc 0 "$SB" -C proj pack --key keys/hq.key --to e3 -o "$PWD/e3.tar.zst"
	new_db e3db
	PGDATABASE=e3db expect_rc 0 "$SBA" upgrade e3.tar.zst
	PGDATABASE=e3db expect_rc 0 "$SBA" downgrade e3.tar.zst e1
	assert_eq "$(PGDATABASE=e3db q 'SELECT version_num FROM public.alembic_version')" e1
	assert_eq "$(PGDATABASE=e3db q 'SELECT count(*) FROM t')" 1
	PGDATABASE=e3db expect_rc 0 "$SBA" downgrade e3.tar.zst base
	assert_eq "$(PGDATABASE=e3db q "SELECT to_regclass('t') IS NULL")" t
}

# Revisions see what env.py would give them: op.get_context().config is
# the project's Config, and alembic.context answers; a SELECT's rows reach
# the revision's own code in capture.
test_import_context() {
	expect_rc 0 import_into cap context --scratch "$(scratch)"
	grep -q 'CREATE TABLE t' "$(file_of cap 9c0000000001)" ||
		fail "config: $(cat "$(file_of cap 9c0000000001)")"
	grep -qF 'reads the database (versions/9c0000000001.py:21)' err ||
		{ cat err; fail "the read is said"; }
	expect_rc 0 import_into off context --offline
	grep -q 'CREATE TABLE t' "$(file_of off 9c0000000001)" || fail "offline"
	expect_rc 0 "$SB" -C cap check
}

# The project's rules, applied by sqlbundle to what the helper saw: a
# revision over the size limit of a revision file is refused naming its
# file, and the scratch database is dropped; a chain with two heads is
# refused before anything is captured.
test_import_limits_and_chain() {
	expect_err 1 "versions/ab0000000001.py: revision ab0000000001: its upgrade SQL is larger than 64 MiB, the limit of a revision file" \
	    import_into off too_big --offline
	expect_err 1 "versions/ab0000000001.py: revision ab0000000001: its upgrade SQL is larger than 64 MiB" \
	    import_into cap too_big --scratch "$(scratch)"
	expect_err 1 "versions/ac0000000001.py: revision ac0000000001: a statement of 68157449 bytes, larger than a revision file may be (64 MiB)" \
	    import_into one too_big_stmt --offline
	assert_eq "$(ls -A off/revisions cap/revisions one/revisions | grep -c sql)" 0
	assert_eq "$(PGDATABASE=postgres q "SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlbundle_import%'")" 0
	# stopped by sqlbundle, the private server goes too
	local tmp
	tmp=$(mktemp -d /tmp/sb-import-test.XXXXXX)
	chmod 755 "$tmp"
	TMPDIR=$tmp expect_err 1 "versions/ac0000000001.py: revision ac0000000001: a statement of 68157449 bytes" \
	    import_into priv too_big_stmt
	assert_eq "$(ls -A "$tmp")" "" "the private server's folder is removed"
	rmdir "$tmp"
	expect_err 1 "the Alembic chain: multiple head revisions are present: ad0000000002 (versions/ad0000000002.py:7), ad0000000003 (versions/ad0000000003.py:7)" \
	    import_into heads two_heads --scratch "$(scratch)"
	grep -qF 'alembic merge heads' err || { cat err; fail "hint"; }
	assert_eq "$(PGDATABASE=postgres q "SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlbundle_import%'")" 0
}

# A long chain with downgrades that raise high up: the first rebuild
# leaves snapshots every 25 revisions, the next starts from one; the
# downgrades below are recorded all the same, and every scratch and
# snapshot database is dropped.
test_import_walk_long() {
	mkdir -p long/versions
	cp "$FIX/walk/alembic.ini" long/
	local i p down
	for i in $(seq 1 30); do
		p=None
		[ "$i" -gt 1 ] && p="\"ae$(printf %010d $((i - 1)))\""
		down="op.drop_table(\"t$i\")"
		case $i in 27|29) down='raise NotImplementedError("no way back")' ;; esac
		cat > long/versions/ae$(printf %010d "$i").py <<-PY
		"""table $i"""
		from alembic import op
		import sqlalchemy as sa

		revision = "ae$(printf %010d "$i")"
		down_revision = $p


		def upgrade():
		    op.create_table("t$i", sa.Column("id", sa.Integer))


		def downgrade():
		    $down
		PY
	done
	mkdir proj
	"$SB" -C proj import alembic --config "$PWD/long/alembic.ini" \
	    --scratch "$(scratch)" > out 2> err || { cat err; fail "import"; }
	assert_out "30 new, 0 unchanged, 0 drifted"
	for i in $(seq 1 30); do
		f=$(file_of proj "ae$(printf %010d "$i")")
		case $i in
		27|29)	! grep -q -- '^-- +downgrade' "$f" || fail "$i reversible" ;;
		*)	grep -qx "DROP TABLE t$i;" "$f" || fail "$i: $(cat "$f")" ;;
		esac
	done
	assert_eq "$(PGDATABASE=postgres q "SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlbundle_import%'")" 0
}

# A library outside the versions folder (whose name starts with
# "alembic") reads for the revision: the revision gets the warning, at
# its own line.
test_import_library_read() {
	expect_rc 0 import_into proj libread --scratch "$(scratch)"
	grep -qF "versions/af0000000001.py: revision af0000000001 reads the database (versions/af0000000001.py:19): rendered for an empty database" err ||
		{ cat err; fail "no warning at the revision's line"; }
	grep -qx 'ALTER TABLE t ALTER COLUMN c DROP DEFAULT;' "$(file_of proj af0000000001)" ||
		fail "$(cat "$(file_of proj af0000000001)")"
}

# The library's catalog reads (pg_attrdef, pg_enum, with the type's OID)
# are left out of the revisions; the revision that decided on them keeps
# the warning, with the count; what it did on what it read is there.
test_import_library_catalog_read() {
	local f2
	expect_rc 0 import_into proj libread --scratch "$(scratch)"
	f2=$(file_of proj af0000000002)
	grep -qF "versions/af0000000002.py: revision af0000000002 reads the database (versions/af0000000002.py:20): rendered for an empty database at import time; a signed bundle freezes that choice; 2 catalog reads left out of the revision" err ||
		{ cat err; fail "no warning with the count"; }
	grep -qF "revision af0000000001 reads the database (versions/af0000000001.py:19): rendered for an empty database at import time; a signed bundle freezes that choice; 1 catalog read left out of the revision" err ||
		{ cat err; fail "no warning with the count"; }
	for f in "$f2" "$(file_of proj af0000000001)"; do
		! grep -Eqi 'pg_|information_schema|enumtypid|adrelid|select' "$f" ||
			fail "a catalog read in $f: $(cat "$f")"
		! grep -Eq '(^|[^0-9A-Za-z_])[0-9]{4,}([^0-9A-Za-z_]|$)' "$f" ||
			fail "an OID in $f: $(cat "$f")"
	done
	grep -qx "CREATE TYPE mood AS ENUM ('calm', 'glad', 'tense');" "$f2" ||
		fail "$(cat "$f2")"
	grep -qx "ALTER TABLE u ALTER COLUMN m SET DEFAULT 'calm'::mood;" "$f2" ||
		fail "$(cat "$f2")"
	expect_rc 0 "$SB" -C proj check
}

# A plain string through op.get_bind().execute(): under SQLAlchemy 1.4
# Alembic's generic env.py runs it (a 1.4 style connection), and so does
# the import; SQLAlchemy 2.0 refuses it under Alembic and the import alike.
test_import_raw_string() {
	local f major
	major=$("$(head -n 1 "$(command -v alembic)" | sed 's/^#!//')" -c \
	    'import sqlalchemy; print(sqlalchemy.__version__.split(".")[0])') ||
		fail "no SQLAlchemy for alembic's python"
	if [ "$major" -ge 2 ]; then
		expect_rc 1 import_into proj raw_string --scratch "$(scratch)"
		grep -q 'versions/aa0000000001.py:15: .*Not an executable object' err ||
			fail "$(cat err)"
		return
	fi
	expect_rc 0 import_into proj raw_string --scratch "$(scratch)"
	f=$(file_of proj aa0000000001)
	grep -qx 'CREATE TABLE t (x int);' "$f" || fail "$(cat "$f")"
	grep -qx 'DROP TABLE t;' "$f" || fail "$(cat "$f")"
}

# A merge's branches run in Alembic's order (the last parent's branch
# first, the first parent's right before the merge), not by id: the
# columns of t come out in the same order as under Alembic.
test_import_merge_order() {
	expect_rc 0 import_into proj merge_order --scratch "$(scratch)"
	! grep -q 'another order' err || fail "$(cat err)"
	expect_rc 0 "$SB" -C proj history
	assert_eq "$(awk '{ print $2 }' out | tr '\n' ' ')" \
	    "b00000000000a b00000000000c b00000000000d b00000000000b b00000000000m "
	echo "project = merge_order" > proj/sqlbundle.conf
	cp "$FIX/cases/env.py" "$FIX/merge_order/alembic.ini" .
	mkdir al_src
	cp -r "$FIX/merge_order/versions" env.py alembic.ini al_src/
	prove_equivalence "$PWD/al_src" proj b00000000000m
}
