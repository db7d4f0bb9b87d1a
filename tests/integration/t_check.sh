# sqlbundle check, history, new and render on the example project and on
# the fixture chains of tests/fixtures/chains.

FIX=$SB_ROOT/tests/fixtures/chains

# A copy of a fixture chain in $2 (default: a folder of that name).
copy_fixture() {
	mkdir -p "${2:-$1}"
	cp -r "$FIX/$1/revisions" "${2:-$1}/"
}

# stderr holds exactly N lines starting "sqlbundle: warning: ".
assert_warnings() {
	local n
	n=$(grep -c '^sqlbundle: warning: ' "$T_DIR/err" || true)
	[ "$n" -eq "$1" ] || { cat "$T_DIR/err"; fail "$n warnings, expected $1"; }
}

assert_err() {
	grep -qF -- "$1" "$T_DIR/err" || { cat "$T_DIR/err"; fail "stderr lacks \"$1\""; }
}

test_check_example() {
	copy_example p
	expect_rc 0 "$SB" -C p check
	assert_eq "$(cat out)" "4 revisions, base 000000000001, head 2864583ca021
no schema fingerprints recorded (revisions/FINGERPRINTS): run \"sqlbundle test\""
	[ ! -s err ] || fail "warnings on the example: $(cat err)"
	expect_rc 0 "$SB" -C p check -q
	[ ! -s out ] || fail "-q printed: $(cat out)"
	cd p
	expect_rc 0 "$SB" check
	assert_out "4 revisions, base 000000000001, head 2864583ca021"
}

test_check_refuses_bad_chains() {
	for f in two_heads cycle duplicate unknown_parent two_bases bad_header \
	    id_mismatch unknown_key; do
		copy_fixture "$f"
	done
	expect_err 1 "multiple head revisions are present: h1 (two_heads/revisions/h1_left.sql:1), h2 (two_heads/revisions/h2_right.sql:1)" \
	    "$SB" -C two_heads check
	expect_err 1 'cycle/revisions/c1_one.sql:2: revision "c1" is in a cycle: c1 -> c2 -> c3 -> c1' \
	    "$SB" -C cycle check
	expect_err 1 'duplicate revision id "d1": duplicate/revisions/d1_first.sql:2 and duplicate/revisions/d1_second.sql:1' \
	    "$SB" -C duplicate check
	expect_err 1 'unknown_parent/revisions/u1_child.sql:3: down_revision names unknown revision "u9"' \
	    "$SB" -C unknown_parent check
	expect_err 1 'more than one base revision (down_revision: none): t0 (two_bases/revisions/t0_first.sql:1), t1 (two_bases/revisions/t1_second.sql:1)' \
	    "$SB" -C two_bases check
	expect_err 1 'bad_header/revisions/g1_bad.sql:3: transactional must be true or false, not "yes"' \
	    "$SB" -C bad_header check
	expect_err 1 'id_mismatch/revisions/abc_typo.sql:1: revision "abd" does not match the file name "abc_typo.sql"' \
	    "$SB" -C id_mismatch check
	expect_err 1 'unknown_key/revisions/k0_base.sql:2: unknown header key "mesage"' \
	    "$SB" -C unknown_key check
	[ ! -s out ] || fail "a summary for a bad chain: $(cat out)"
	# render and history refuse them too
	expect_err 1 "multiple head revisions are present" "$SB" -C two_heads render
	expect_err 1 'revision "c1" is in a cycle' "$SB" -C cycle history
}

test_check_seeds_and_checksums() {
	copy_example p
	cp -r p/seeds/2864583ca021 p/seeds/999999999999
	expect_err 1 "p/seeds/999999999999: no revision \"999999999999\" in the chain" \
	    "$SB" -C p check
	rm -r p/seeds/999999999999
	printf 'x\n' > p/seeds/2864583ca021/notes.txt
	expect_err 1 "p/seeds/2864583ca021/notes.txt: not a seed file" "$SB" -C p check
	rm p/seeds/2864583ca021/notes.txt
	printf '\n1,2\n' > p/seeds/2864583ca021/95-core.store.csv
	expect_err 1 "p/seeds/2864583ca021/95-core.store.csv:1: no column name in the CSV header" \
	    "$SB" -C p check
	rm p/seeds/2864583ca021/95-core.store.csv
	printf "SELECT 'open;\n" > p/seeds/2864583ca021/99-more.sql
	expect_err 1 "p/seeds/2864583ca021/99-more.sql: line 1: unterminated quoted string" \
	    "$SB" -C p check
	rm p/seeds/2864583ca021/99-more.sql
	expect_rc 0 "$SB" -C p check

	# a landed revision edited afterwards
	(cd p/revisions && sha256sum 000000000001_baseline_schema.sql > CHECKSUMS)
	expect_rc 0 "$SB" -C p check
	echo "-- edited" >> p/revisions/000000000001_baseline_schema.sql
	expect_err 1 "000000000001_baseline_schema.sql" "$SB" -C p check
}

test_check_warnings() {
	mkdir -p p/revisions
	cat > p/revisions/a1_base.sql <<-'EOF'
	-- revision: a1

	-- +upgrade
	CREATE TABLE t (id int PRIMARY KEY, v text);
	BEGIN;
	INSERT INTO t VALUES (1, 'x');
	COMMIT;
	SAVEPOINT s; ROLLBACK TO SAVEPOINT s; RELEASE s;
	CREATE INDEX CONCURRENTLY t_v ON t (v);

	-- +downgrade
	DROP TABLE t;
	EOF
	cat > p/revisions/b2_concurrent.sql <<-'EOF'
	-- revision: b2
	-- down_revision: a1
	-- transactional: false

	-- +upgrade
	CREATE INDEX CONCURRENTLY t_v ON t (v);
	CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v2 ON t (v);
	CREATE TABLE u (id int);
	CREATE TABLE IF NOT EXISTS u2 (id int);
	INSERT INTO t VALUES (2, 'on conflict') ;
	INSERT INTO t VALUES (3, 'y')
	    ON CONFLICT DO NOTHING;
	CREATE INDEX CONCURRENTLY ON t (id);
	-- +downgrade
	DROP INDEX CONCURRENTLY t_v;
	DROP INDEX CONCURRENTLY IF EXISTS t_v2;
	EOF
	expect_rc 0 "$SB" -C p check
	assert_out "2 revisions, base a1, head b2"
	assert_err "sqlbundle: warning: p/revisions/a1_base.sql:5: BEGIN in a transactional revision"
	assert_err "sqlbundle: warning: p/revisions/a1_base.sql:7: COMMIT in a transactional revision"
	assert_err "sqlbundle: warning: p/revisions/a1_base.sql:9: CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
	assert_err "sqlbundle: warning: p/revisions/b2_concurrent.sql:6: CREATE INDEX CONCURRENTLY without IF NOT EXISTS is not idempotent"
	assert_err "sqlbundle: warning: p/revisions/b2_concurrent.sql:8: CREATE TABLE without IF NOT EXISTS is not idempotent"
	assert_err "sqlbundle: warning: p/revisions/b2_concurrent.sql:10: INSERT without ON CONFLICT is not idempotent"
	assert_err "sqlbundle: warning: p/revisions/b2_concurrent.sql:13: CREATE INDEX CONCURRENTLY without a name cannot be repaired: an interrupted build leaves an invalid index, which sqlbundle-apply drops and builds again only if the statement names it"
	assert_err "sqlbundle: warning: p/revisions/b2_concurrent.sql:15: DROP INDEX CONCURRENTLY without IF EXISTS is not idempotent"
	assert_warnings 8
	# from inside the project, paths are revisions/...
	cd p
	expect_rc 0 "$SB" check -q
	assert_err "sqlbundle: warning: revisions/a1_base.sql:5: BEGIN"
	assert_warnings 8
	[ ! -s out ] || fail "-q printed: $(cat out)"
}

test_history() {
	copy_fixture merge
	copy_fixture irreversible
	copy_fixture linear
	expect_rc 0 "$SB" -C merge history
	cat > want <<-'EOF'
	0001  x0  <- base    base  (x0_base.sql)
	0002  b1  <- x0      branch b  (b1_branch_b.sql)
	0003  c1  <- x0      branch c  (c1_branch_c.sql)
	0004  a2  <- c1      branch c, more  (a2_branch_c_more.sql)
	0005  m9  <- a2, b1  merge branches  (m9_merge.sql) (merge)
	EOF
	diff -u want out || fail "history of merge"
	expect_rc 0 "$SB" -C irreversible history
	assert_out "0002  i1  <- i0    backfill, no way back  (i1_backfill.sql) (irreversible)"
	expect_rc 0 "$SB" -C linear history
	assert_out "0003  100000000003  <- 100000000002  index item names  (100000000003_name_index.sql) (non-transactional)"
	expect_rc 2 "$SB" -C linear history extra
	assert_err 'history: unexpected argument "extra"'
}

test_new() {
	mkdir p
	expect_rc 0 "$SB" -C p new -m "Create the Customer table!" --id c0ffee000001
	assert_eq "$(cat out)" "p/revisions/c0ffee000001_create_the_customer_table.sql"
	cat > want <<-'EOF'
	-- revision: c0ffee000001
	-- down_revision: none
	-- message: Create the Customer table!
	-- transactional: true

	-- +upgrade


	-- +downgrade

	EOF
	diff -u want p/revisions/c0ffee000001_create_the_customer_table.sql
	# an empty upgrade is a no-op step: valid, with a warning
	expect_err 0 "p/revisions/c0ffee000001_create_the_customer_table.sql:6: the upgrade section is empty: a no-op step that only moves the version (write a comment in it if that is meant)" \
	    "$SB" -C p check
	sed -i 's/^-- +upgrade$/-- +upgrade\nCREATE TABLE customer (id int);/' \
	    p/revisions/c0ffee000001_create_the_customer_table.sql
	expect_rc 0 "$SB" -C p check

	# random ids: 12 lowercase hex digits, after the head
	cd p
	expect_rc 0 "$SB" new -m "add email"
	f=$(cat "$T_DIR/out")
	echo "$f" | grep -qxE 'revisions/[0-9a-f]{12}_add_email\.sql' || fail "path $f"
	id=$(basename "$f" | cut -c1-12)
	grep -qx -- "-- revision: $id" "$f"
	grep -qx -- "-- down_revision: c0ffee000001" "$f"
	# a long message gives a slug of at most 40 characters
	sed -i 's/^-- +upgrade$/-- +upgrade\nSELECT 1;/' "$f"
	expect_rc 0 "$SB" new --id L1 -m "$(printf 'word%.0s ' $(seq 1 30))"
	assert_eq "$(cat "$T_DIR/out")" "revisions/L1_word_word_word_word_word_word_word_word.sql"
	grep -qx -- "-- down_revision: $id" revisions/L1_*.sql
	# refusals: an existing id, a bad id, no message, two lines
	sed -i 's/^-- +upgrade$/-- +upgrade\nSELECT 1;/' revisions/L1_*.sql
	expect_err 1 'revision "L1" already exists' "$SB" new --id L1 -m again
	expect_err 2 'new: invalid revision id "no-dash"' "$SB" new --id no-dash -m x
	expect_err 2 "new: a message is required" "$SB" new
	expect_err 2 "new: the message must be one line" "$SB" new -m "$(printf 'a\nb')"
	# a file in the way is never overwritten
	echo "not sql" > revisions/zz9_x.sql
	expect_err 1 "revisions/zz9_x.sql" "$SB" new --id zz9 -m x
	[ "$(cat revisions/zz9_x.sql)" = "not sql" ] || fail "overwritten"
	rm revisions/zz9_x.sql
	expect_rc 0 "$SB" check
	assert_out "3 revisions, base c0ffee000001, head L1"
}

# What render prints runs in psql -1 and ends where the chain ends.
test_render_example_in_psql() {
	copy_example p
	new_db
	expect_rc 0 "$SB" -C p render
	cp out up.sql
	grep -qx 'CREATE TABLE IF NOT EXISTS "public"."alembic_version" (version_num VARCHAR(32) NOT NULL, CONSTRAINT "alembic_version_pkc" PRIMARY KEY (version_num));' up.sql
	grep -qx -- '-- Running upgrade  -> 000000000001' up.sql
	grep -qx -- '-- Running upgrade 853113448960 -> 2864583ca021' up.sql
	grep -qx "UPDATE \"public\".\"alembic_version\" SET version_num = '2864583ca021' WHERE version_num = '853113448960';" up.sql
	grep -qx 'COPY "core"."organization" ("id", "code", "legal_name", "tax_id", "currency", "settings") FROM STDIN (FORMAT csv);' up.sql
	psql -X -q -v ON_ERROR_STOP=1 -1 -f up.sql >psql.log 2>&1 || { cat psql.log; fail "upgrade script failed"; }
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
	assert_eq "$(q 'SELECT count(*) FROM core.organization')" \
	    "$(($(wc -l < p/seeds/2864583ca021/10-core.organization.csv) - 1))"
	assert_eq "$(q 'SELECT count(*) FROM acct.account')" \
	    "$(($(wc -l < p/seeds/2864583ca021/70-acct.account.csv) - 1))"

	expect_rc 0 "$SB" -C p render --downgrade --to 37a02ec8662a
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "partial downgrade failed"; }
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 37a02ec8662a
	expect_rc 0 "$SB" -C p render --downgrade --from 37a02ec8662a
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "downgrade to base failed"; }
	assert_eq "$(q 'SELECT count(*) FROM alembic_version')" 0
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('core', 'acct', 'inv', 'pos')")" 0
	# and up again in two parts, through --from
	expect_rc 0 "$SB" -C p render --to 37a02ec8662a
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "upgrade part 1"; }
	expect_rc 0 "$SB" -C p render --from 37a02ec8662a
	! grep -q "CREATE TABLE IF NOT EXISTS \"public\".\"alembic_version\"" out || fail "version table created again"
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "upgrade part 2"; }
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 2864583ca021
}

# Branches and a merge: the version table holds the heads, as Alembic's.
test_render_merge_in_psql() {
	copy_fixture merge
	new_db
	expect_rc 0 "$SB" -C merge render --to a2 --version-table 'vt.My "versions"'
	psql -X -q -c 'CREATE SCHEMA vt'
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "upgrade to a2"; }
	assert_eq "$(q 'SELECT string_agg(version_num, $$,$$ ORDER BY version_num) FROM vt."My ""versions"""')" "a2,b1"
	expect_rc 0 "$SB" -C merge render --from a2 --version-table 'vt.My "versions"'
	grep -qx -- '-- Running upgrade a2, b1 -> m9' out
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "upgrade to m9"; }
	assert_eq "$(q 'SELECT string_agg(version_num, $$,$$) FROM vt."My ""versions"""')" "m9"
	expect_rc 0 "$SB" -C merge render --downgrade --to c1 --version-table 'vt.My "versions"'
	psql -X -q -v ON_ERROR_STOP=1 -1 -f out >psql.log 2>&1 || { cat psql.log; fail "downgrade to c1"; }
	assert_eq "$(q 'SELECT string_agg(version_num, $$,$$ ORDER BY version_num) FROM vt."My ""versions"""')" "b1,c1"
	assert_eq "$(q "SELECT count(*) FROM pg_views WHERE viewname = 'joined'")" 0
}

test_render_refusals() {
	copy_fixture irreversible
	copy_fixture linear
	expect_err 1 'revision "i1" (irreversible/revisions/i1_backfill.sql) is irreversible' \
	    "$SB" -C irreversible render --downgrade
	[ ! -s out ] || fail "printed a partial script"
	expect_rc 0 "$SB" -C irreversible render --downgrade --from i0
	expect_err 1 'unknown revision "nope" (--to)' "$SB" -C linear render --to nope
	expect_err 1 'unknown revision "nope" (--from)' "$SB" -C linear render --downgrade --from nope
	expect_err 1 'revision "100000000001" is not after "100000000002"' \
	    "$SB" -C linear render --from 100000000002 --to 100000000001
	expect_err 1 'nothing to downgrade' "$SB" -C linear render --downgrade --to head
	expect_err 2 'render: invalid --version-table "a.b.c"' "$SB" -C linear render --version-table a.b.c

	# transactional: false cannot run under psql -1, but runs without it
	new_db
	expect_err 0 'revision "100000000003" (linear/revisions/100000000003_name_index.sql) is transactional: false' \
	    "$SB" -C linear render
	psql -X -q -v ON_ERROR_STOP=1 -f out >psql.log 2>&1 || { cat psql.log; fail "upgrade without -1"; }
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" 100000000003
	assert_eq "$(q "SELECT count(*) FROM pg_indexes WHERE indexname = 'item_name_idx'")" 1
}
