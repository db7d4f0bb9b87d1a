# Schema fingerprints and drift at the store: every object kind changed
# by hand is found, nothing is found after a restart, a dump and restore,
# another search_path or dropped columns; upgrade refuses a drifted
# database with exit 7 before anything runs, --allow-drift goes on and is
# recorded, a step that leaves another schema than at HQ stops the run;
# `drift`, `plan`, `status` and `fingerprint` say so.

# A project in proj/ with a schema of every object kind (a1), a change
# that differs at a store holding posapp.flag (b2) and an index (c3);
# posapp and pos.legacy_* belong to another application.
drift_project() {
	mkdir -p proj/revisions
	cat > proj/sqlbundle.conf <<'EOF'
project = drifty
fingerprint-exclude = posapp, pos.legacy_*
EOF
	cat > proj/revisions/a1_schema.sql <<'EOF'
-- revision: a1
-- message: every kind of object

-- +upgrade
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
CREATE SCHEMA pos;
CREATE SCHEMA posapp;
CREATE TABLE posapp.till (id int);
CREATE TYPE pos.mood AS ENUM ('low', 'high');
CREATE SEQUENCE pos.ticket_seq;
CREATE TABLE pos.sale (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    qty integer NOT NULL DEFAULT 1,
    price numeric(8,2),
    total numeric GENERATED ALWAYS AS (qty * price) STORED,
    note text COLLATE "C",
    mood pos.mood,
    gone integer,
    CONSTRAINT qty_positive CHECK (qty > 0));
ALTER TABLE pos.sale DROP COLUMN gone;
CREATE TABLE pos.spare (id integer, note text);
CREATE TABLE pos.legacy_x (id serial);
CREATE INDEX sale_qty_idx ON pos.sale (qty);
CREATE VIEW pos.big_sale AS SELECT id, qty FROM pos.sale WHERE qty > 10;
CREATE FUNCTION pos.touch() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER sale_touch BEFORE UPDATE ON pos.sale
    FOR EACH ROW EXECUTE FUNCTION pos.touch();
GRANT SELECT ON pos.sale TO PUBLIC;

-- +downgrade
DROP SCHEMA pos, posapp CASCADE;
DROP EXTENSION citext;
EOF
	cat > proj/revisions/b2_discount.sql <<'EOF'
-- revision: b2
-- down_revision: a1
-- message: a discount, and a table only some stores get

-- +upgrade
ALTER TABLE pos.sale ADD COLUMN discount numeric;
DO $$
BEGIN
    IF to_regclass('posapp.flag') IS NOT NULL THEN
        CREATE TABLE pos.odd (id int);
    END IF;
END
$$;

-- +downgrade
DROP TABLE IF EXISTS pos.odd;
ALTER TABLE pos.sale DROP COLUMN discount;
EOF
	cat > proj/revisions/c3_index.sql <<'EOF'
-- revision: c3
-- down_revision: b2
-- message: an index

-- +upgrade
CREATE INDEX sale_price_idx ON pos.sale (price);

-- +downgrade
DROP INDEX pos.sale_price_idx;
EOF
	"$SB" -C proj keygen hq > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# record_fingerprints PROJ: revisions/FINGERPRINTS written the way the
# format is documented (DESIGN.md), from `sqlbundle-apply fingerprint`
# after each revision in a scratch database: an independent writer for
# the applier's reader.
record_fingerprints() {
	local proj=$1 fp=$1/revisions/FINGERPRINTS ex=() prev=empty.fp
	local n=0 id sha pat
	"$SB" -C "$proj" pack --key keys/hq.key -o "$PWD/rehearse.tar.zst" > /dev/null
	for pat in $(sed -n 's/^fingerprint-exclude = //p' "$proj/sqlbundle.conf" | tr ',' ' '); do
		ex+=(--exclude "$pat")
	done
	(
		export PGDATABASE=${PGDATABASE}_scratch
		dropdb --if-exists "$PGDATABASE"
		createdb "$PGDATABASE"
		: > empty.fp
		{
			echo "Format: sqlbundle-fingerprints-1"
			sed -n 's/^fingerprint-exclude = //p' "$proj/sqlbundle.conf" |
			    tr ',' ' ' | tr -s ' ' '\n' | sed '/^$/d; s/^/Exclude: /'
			echo "Revisions: $(( $(tar -xOf rehearse.tar.zst MANIFEST | grep -c '^Revision: ') + 1 ))"
			echo
			for id in base $(tar -xOf rehearse.tar.zst MANIFEST |
			    sed -n 's/^Revision: [0-9]* \([^ ]*\) .*/\1/p'); do
				if [ "$id" != base ]; then
					"$SBA" -q upgrade rehearse.tar.zst "$id" >&2
					sha=$(tar -xOf rehearse.tar.zst MANIFEST |
					    sed -n "s/^Revision: [0-9]* $id .* upgrade=\([0-9a-f]*\) .*/\1/p")
				else
					sha=-
				fi
				"$SBA" -q fingerprint "${ex[@]}" > "fp.$n"
				echo "Revision: $id $(sha256sum < "fp.$n" | cut -c1-64) upgrade=$sha"
				LC_ALL=C comm -23 "$prev" "fp.$n" | sed 's/^/-/'
				LC_ALL=C comm -13 "$prev" "fp.$n" | sed 's/^/+/'
				prev=fp.$n
				n=$((n + 1))
			done
		} > "$fp"
		dropdb "$PGDATABASE"
	)
	rm -f rehearse.tar.zst
}

# A rehearsed bundle of proj/ in $1 (default b.tar.zst).
drift_bundle() {
	[ -d proj ] || drift_project
	[ -f proj/revisions/FINGERPRINTS ] || record_fingerprints proj
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/${1:-b.tar.zst}" > /dev/null
}

# drifts SQL LINE [UNDO]: after SQL, `drift` exits 7 and reports LINE;
# after UNDO nothing is found again.
drifts() {
	q "$1" > /dev/null
	expect_rc 7 "$SBA" drift b.tar.zst
	grep -qxF -- "  $2" out || { cat out; fail "no \"$2\" after: $1"; }
	if [ -n "${3:-}" ]; then
		q "$3" > /dev/null
		expect_rc 0 "$SBA" drift b.tar.zst
		grep -q '^drift: none at revision' out ||
		    { cat out; fail "drift left after undoing: $1"; }
	fi
}

test_drift_every_kind() {
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst a1
	expect_rc 0 "$SBA" drift b.tar.zst
	assert_out 'drift: none at revision "a1"'
	drifts "CREATE SCHEMA extra" "schema extra: not in the expected schema" \
	    "DROP SCHEMA extra"
	drifts "CREATE TABLE pos.extra (id int)" \
	    "table pos.extra: not in the expected schema" "DROP TABLE pos.extra"
	drifts "DROP TABLE pos.spare" "table pos.spare: missing" \
	    "CREATE TABLE pos.spare (id integer, note text)"
	drifts "ALTER TABLE pos.sale ADD COLUMN discount numeric" \
	    "column pos.sale.discount: not in the expected schema" \
	    "ALTER TABLE pos.sale DROP COLUMN discount"
	# Back in another order: creation order does not count.
	drifts "ALTER TABLE pos.spare DROP COLUMN id" "column pos.spare.id: missing" \
	    "ALTER TABLE pos.spare ADD COLUMN id integer"
	drifts "ALTER TABLE pos.spare ALTER COLUMN id TYPE bigint" \
	    'column pos.spare.id: definition differs (expected "integer", found "bigint")' \
	    "ALTER TABLE pos.spare ALTER COLUMN id TYPE integer"
	drifts "ALTER TABLE pos.sale ALTER COLUMN qty SET DEFAULT 2" \
	    'column pos.sale.qty: definition differs (expected "integer NOT NULL DEFAULT 1", found "integer NOT NULL DEFAULT 2")' \
	    "ALTER TABLE pos.sale ALTER COLUMN qty SET DEFAULT 1"
	drifts "ALTER TABLE pos.sale ALTER COLUMN price SET NOT NULL" \
	    'column pos.sale.price: definition differs (expected "numeric(8,2)", found "numeric(8,2) NOT NULL")' \
	    "ALTER TABLE pos.sale ALTER COLUMN price DROP NOT NULL"
	drifts "ALTER TABLE pos.sale ALTER COLUMN id SET GENERATED BY DEFAULT" \
	    'column pos.sale.id: definition differs (expected "bigint NOT NULL GENERATED ALWAYS AS IDENTITY", found "bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY")' \
	    "ALTER TABLE pos.sale ALTER COLUMN id SET GENERATED ALWAYS"
	drifts "ALTER TABLE pos.sale ALTER COLUMN total DROP EXPRESSION" \
	    'column pos.sale.total: definition differs (expected "numeric GENERATED ALWAYS AS (((qty)::numeric * price)) STORED", found "numeric")' \
	    "ALTER TABLE pos.sale DROP COLUMN total; ALTER TABLE pos.sale ADD COLUMN total numeric GENERATED ALWAYS AS (qty * price) STORED"
	drifts "ALTER TABLE pos.sale ALTER COLUMN note TYPE text COLLATE \"POSIX\"" \
	    'column pos.sale.note: definition differs (expected "text COLLATE pg_catalog."C"", found "text COLLATE pg_catalog."POSIX"")' \
	    "ALTER TABLE pos.sale ALTER COLUMN note TYPE text COLLATE \"C\""
	drifts "ALTER TABLE pos.sale DROP CONSTRAINT qty_positive" \
	    "constraint pos.sale.qty_positive: missing" \
	    "ALTER TABLE pos.sale ADD CONSTRAINT qty_positive CHECK (qty > 0)"
	drifts "CREATE INDEX sale_note_idx ON pos.sale (note)" \
	    "index pos.sale_note_idx: not in the expected schema" \
	    "DROP INDEX pos.sale_note_idx"
	drifts "DROP INDEX pos.sale_qty_idx" "index pos.sale_qty_idx: missing" \
	    "CREATE INDEX sale_qty_idx ON pos.sale (qty)"
	drifts "CREATE OR REPLACE VIEW pos.big_sale AS SELECT id, qty FROM pos.sale WHERE qty > 20" \
	    "view pos.big_sale: definition differs" \
	    "CREATE OR REPLACE VIEW pos.big_sale AS SELECT id, qty FROM pos.sale WHERE qty > 10"
	drifts 'CREATE OR REPLACE FUNCTION pos.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$' \
	    "function pos.touch(): body differs" \
	    'CREATE OR REPLACE FUNCTION pos.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$'
	drifts "CREATE FUNCTION pos.f(x int) RETURNS int LANGUAGE sql AS 'SELECT x'" \
	    "function pos.f(x integer): not in the expected schema" \
	    "DROP FUNCTION pos.f(int)"
	drifts "DROP TRIGGER sale_touch ON pos.sale" "trigger pos.sale.sale_touch: missing" \
	    "CREATE TRIGGER sale_touch BEFORE UPDATE ON pos.sale FOR EACH ROW EXECUTE FUNCTION pos.touch()"
	drifts "ALTER TABLE pos.sale DISABLE TRIGGER sale_touch" \
	    "trigger pos.sale.sale_touch: definition differs" \
	    "ALTER TABLE pos.sale ENABLE TRIGGER sale_touch"
	drifts "ALTER SEQUENCE pos.ticket_seq INCREMENT 5" \
	    'sequence pos.ticket_seq: definition differs (expected "AS bigint INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 START 1 CACHE 1", found "AS bigint INCREMENT 5 MINVALUE 1 MAXVALUE 9223372036854775807 START 1 CACHE 1")' \
	    "ALTER SEQUENCE pos.ticket_seq INCREMENT 1"
	drifts "CREATE SEQUENCE pos.extra_seq" \
	    "sequence pos.extra_seq: not in the expected schema" "DROP SEQUENCE pos.extra_seq"
	drifts "GRANT INSERT ON pos.sale TO PUBLIC" \
	    'grant on table pos.sale to PUBLIC: definition differs (expected "SELECT", found "INSERT,SELECT")' \
	    "REVOKE INSERT ON pos.sale FROM PUBLIC"
	drifts "REVOKE SELECT ON pos.sale FROM PUBLIC" \
	    'grant on table pos.sale to PUBLIC: missing' \
	    "GRANT SELECT ON pos.sale TO PUBLIC"
	# What the chain does not own is not drift.
	q "CREATE TABLE posapp.more (id int); ALTER TABLE pos.legacy_x ADD COLUMN y int;
	   CREATE INDEX ON pos.legacy_x (y)"
	expect_rc 0 "$SBA" drift b.tar.zst
	drifts "DROP EXTENSION citext; CREATE EXTENSION citext WITH SCHEMA public VERSION '1.5'" \
	    'extension citext: definition differs (expected "1.6 SCHEMA public", found "1.5 SCHEMA public")' \
	    "ALTER EXTENSION citext UPDATE"
	# Enum labels cannot be taken back: last.
	drifts "ALTER TYPE pos.mood ADD VALUE 'mid' BEFORE 'high'" \
	    "enum pos.mood: definition differs (expected \"'low', 'high'\", found \"'low', 'mid', 'high'\")"
	assert_out 'drift at revision "a1": 1 object differs from the expected schema'
	grep -qF 'sqlbundle-apply: schema drift at revision "a1": 1 object differs from the schema the bundle expects' err ||
	    fail "no error line: $(cat err)"
}

test_drift_none_after_restart_restore_search_path() {
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst
	# Dropped columns leave gaps; they do not count.
	q "ALTER TABLE pos.sale ADD COLUMN tmp int; ALTER TABLE pos.sale DROP COLUMN tmp;
	   ALTER TABLE pos.sale DROP COLUMN discount; ALTER TABLE pos.sale ADD COLUMN discount numeric"
	[ "$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'pos.sale'::regclass AND attisdropped")" -ge 3 ] ||
	    fail "no dropped columns to test with"
	expect_rc 0 "$SBA" drift b.tar.zst
	assert_out 'drift: none at revision "c3"'
	local digest
	digest=$("$SBA" fingerprint | sha256sum | cut -c1-64)
	assert_eq "$("$SBA" --json fingerprint | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')" "$digest" "digest"
	# Another search_path, for the session and for the database.
	PGOPTIONS='-c search_path=pos,public' expect_rc 0 "$SBA" drift b.tar.zst
	q "ALTER DATABASE $PGDATABASE SET search_path = pos, posapp"
	expect_rc 0 "$SBA" drift b.tar.zst
	assert_eq "$("$SBA" fingerprint | sha256sum | cut -c1-64)" "$digest" "digest with search_path pos"
	# A server restart.
	"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR" > /dev/null
	wait_for 'pg_isready -q'
	expect_rc 0 "$SBA" drift b.tar.zst
	assert_eq "$("$SBA" fingerprint | sha256sum | cut -c1-64)" "$digest" "digest after a restart"
	# pg_dump and pg_restore into a new database.
	local src=$PGDATABASE
	dropdb --if-exists "${src}_copy"
	createdb "${src}_copy"
	pg_dump -Fc -f dump "$src"
	pg_restore -d "${src}_copy" dump
	PGDATABASE=${src}_copy expect_rc 0 "$SBA" drift b.tar.zst
	assert_out 'drift: none at revision "c3"'
	assert_eq "$(PGDATABASE=${src}_copy "$SBA" fingerprint | sha256sum | cut -c1-64)" "$digest" "digest after a restore"
	dropdb "${src}_copy"
}

test_drift_refuses_upgrade() {
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst a1
	q "CREATE INDEX sale_note_idx ON pos.sale (note); ALTER TABLE pos.spare ADD COLUMN extra int"
	expect_rc 7 "$SBA" upgrade b.tar.zst
	grep -qxF 'sqlbundle-apply: schema drift at revision "a1": 2 objects differ from the schema the bundle expects' err ||
	    fail "no refusal: $(cat err)"
	grep -qxF '  column pos.spare.extra: not in the expected schema' err || fail "report: $(cat err)"
	grep -qxF '  index pos.sale_note_idx: not in the expected schema' err || fail "report: $(cat err)"
	grep -qF 'HINT: nothing was run' err || fail "no hint: $(cat err)"
	# Nothing ran.
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" a1
	assert_eq "$(q "SELECT to_regclass('pos.sale_price_idx') IS NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'pos.sale'::regclass AND attname = 'discount')")" t
	assert_eq "$(q "SELECT command || ' ' || revision || ' ' || objects || ' ' || outcome FROM sqlbundle.drift ORDER BY id DESC LIMIT 1")" "upgrade a1 2 refused"
	expect_rc 0 "$SBA" status
	assert_out "last drift check: "
	grep -q '^last drift check: .* UTC by upgrade at revision a1: 2 objects differ (refused)$' out ||
	    fail "status: $(cat out)"
	grep -qxF '  index pos.sale_note_idx: not in the expected schema' out || fail "status: $(cat out)"
	expect_rc 0 "$SBA" plan b.tar.zst
	assert_out 'drift at revision "a1": 2 objects differ from the expected schema'
	expect_rc 7 "$SBA" --json upgrade b.tar.zst
	/usr/bin/python3 - out <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["event"] for e in ev] == ["drift", "error"], ev
d, e = ev
assert d["when"] == "before" and d["revision"] == "a1" and d["objects"] == 2, d
assert [x["text"] for x in d["differences"]] == [
    "column pos.spare.extra: not in the expected schema",
    "index pos.sale_note_idx: not in the expected schema"], d
assert e["code"] == 7 and "index pos.sale_note_idx" in e["detail"], e
EOF
	# --allow-drift goes on, and says so where it is recorded.
	expect_rc 0 "$SBA" upgrade --allow-drift b.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" c3
	grep -qF 'drift at revision "a1": 2 objects differ from the expected schema (allowed by --allow-drift)' err ||
	    fail "allowed: $(cat err)"
	assert_eq "$(q "SELECT string_agg(revision || ':' || outcome || ':' || objects, ' ' ORDER BY id) FROM sqlbundle.drift WHERE command = 'upgrade'")" \
	    "base:none:0 a1:none:0 a1:refused:2 a1:refused:2 a1:allowed:2 b2:allowed:2 c3:allowed:2"
	# The history is append-only, the drift log too.
	expect_rc 1 psql -X -q -v ON_ERROR_STOP=1 -c "DELETE FROM sqlbundle.drift"
	grep -qF 'append-only' err || fail "drift log not append-only: $(cat err)"
	q "DROP INDEX pos.sale_note_idx; ALTER TABLE pos.spare DROP COLUMN extra"
	expect_rc 0 "$SBA" drift b.tar.zst
	expect_rc 0 "$SBA" --json status
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["drift"]; assert (d["command"], d["revision"], d["objects"], d["outcome"]) == ("drift", "c3", 0, "none"), d' out
	# A downgrade checks too.
	q "CREATE TABLE pos.extra (id int)"
	expect_rc 7 "$SBA" downgrade b.tar.zst a1
	grep -qxF '  table pos.extra: not in the expected schema' err || fail "report: $(cat err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" c3
}

test_drift_after_a_step_stops_the_run() {
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst a1
	# The store's own application has a table the chain looks at.
	q "CREATE TABLE posapp.flag (id int)"
	# Recording on the way (the bundle's exclusions: the check's query
	# serves the record): the step that drifted is committed, so recorded.
	expect_rc 7 "$SBA" upgrade b.tar.zst --fingerprints run.fp \
	    --exclude posapp --exclude 'pos.legacy_*'
	assert_eq "$(grep '^Revision: ' run.fp | cut -d' ' -f2 | tr '\n' ' ')" "a1 b2 "
	assert_eq "$(grep '^Revision: a1 ' run.fp)" "$(tar -xOf b.tar.zst FINGERPRINTS | grep '^Revision: a1 ')"
	grep -qx "+table	pos.odd	" run.fp || fail "b2 as found: $(cat run.fp)"
	grep -qxF 'sqlbundle-apply: schema drift at revision "b2" after its step: 2 objects differ from the schema the bundle expects' err ||
	    fail "no stop: $(cat err)"
	grep -qxF '  table pos.odd: not in the expected schema' err || fail "report: $(cat err)"
	grep -qxF '  column pos.odd.id: not in the expected schema' err || fail "report: $(cat err)"
	grep -qF 'the step of revision "b2" is committed' err || fail "hint: $(cat err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b2
	assert_eq "$(q "SELECT to_regclass('pos.sale_price_idx') IS NULL")" t
	expect_rc 0 "$SBA" --allow-drift upgrade b.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" c3
}

test_drift_json_and_unrehearsed() {
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst
	q "ALTER TABLE pos.sale ADD COLUMN discount2 numeric"
	expect_rc 7 "$SBA" --json drift b.tar.zst
	/usr/bin/python3 - out <<'EOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["event"] == "drift" and d["when"] == "report" and d["checked"], d
assert d["revision"] == "c3" and d["objects"] == 1 and not d["allowed"], d
x = d["differences"][0]
assert (x["kind"], x["name"], x["how"], x["expected"], x["found"]) == \
    ("column", "pos.sale.discount2", "extra", None, "numeric"), x
assert x["text"] == "column pos.sale.discount2: not in the expected schema", x
assert d["expected"] != d["found"], d
EOF
	# A bundle packed without a rehearsal applies; drift is not checked.
	rm proj/revisions/FINGERPRINTS
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/plain.tar.zst" > /dev/null
	tar -tf plain.tar.zst | grep -qx FINGERPRINTS && fail "FINGERPRINTS in an unrehearsed bundle"
	expect_rc 0 "$SBA" plan plain.tar.zst
	assert_out 'drift: not checked: the bundle carries no expected schema (it was packed without a rehearsal)'
	expect_rc 0 "$SBA" drift plain.tar.zst
	assert_out 'drift: not checked'
	new_db "${T_NAME}_2"
	expect_rc 0 "$SBA" upgrade plain.tar.zst
	grep -qF 'drift: not checked: the bundle carries no expected schema' err || fail "no note: $(cat err)"
}

test_fingerprint_command() {
	new_db
	q "CREATE SCHEMA s; CREATE TABLE s.t (a int, \"Odd\"\"Name\" text DEFAULT E'tab\\there')"
	expect_rc 0 "$SBA" fingerprint
	grep -qxF "$(printf 'column\ts.t."Odd""Name"\ttext DEFAULT '"'"'tab\\there'"'"'::text')" out ||
	    { cat out; fail "escaped line"; }
	[ "$(LC_ALL=C sort out)" = "$(cat out)" ] || fail "not sorted"
	grep -q "^[0-9]* objects, digest $(sha256sum < out | cut -c1-64)$" err || fail "digest: $(cat err)"
	expect_rc 0 "$SBA" fingerprint --exclude s
	grep -q 's\.t' out && fail "excluded schema listed"
	expect_rc 2 "$SBA" fingerprint --exclude 'a.b.c'
	grep -qF 'exclude pattern "a.b.c": expected "schema" or "schema.object"' err || fail "$(cat err)"
	# The bookkeeping is never part of it.
	q "CREATE SCHEMA sqlbundle; CREATE TABLE sqlbundle.x (id int); CREATE TABLE public.alembic_version (version_num varchar(32))"
	expect_rc 0 "$SBA" fingerprint
	grep -q 'sqlbundle\|alembic_version' out && fail "bookkeeping listed: $(cat out)"
	true
}

# A step interrupted half-way resumes without the check before it (its
# schema is half-done by design) and is checked after.
test_drift_resume_skips_the_check_before() {
	drift_project
	cat > proj/revisions/d4_two_tables.sql <<'EOF2'
-- revision: d4
-- down_revision: c3
-- message: two tables, one statement at a time
-- transactional: false

-- +upgrade
CREATE TABLE IF NOT EXISTS pos.d4a (id int);
DO $$
BEGIN
    IF to_regclass('posapp.hold') IS NOT NULL THEN
        RAISE EXCEPTION 'held by the store';
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS pos.d4b (id int);
EOF2
	drift_bundle
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst c3
	q "CREATE TABLE posapp.hold (id int)"
	expect_rc 3 "$SBA" upgrade b.tar.zst
	grep -qF 'held by the store' err || fail "no failure: $(cat err)"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" c3
	assert_eq "$(q "SELECT to_regclass('pos.d4a') IS NOT NULL")" t
	# At c3 with pos.d4a: drift for a check, not for the resumed step.
	expect_rc 7 "$SBA" drift b.tar.zst
	grep -qxF '  table pos.d4a: not in the expected schema' out || fail "$(cat out)"
	q "DROP TABLE posapp.hold"
	expect_rc 0 "$SBA" upgrade b.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" d4
	assert_eq "$(q "SELECT string_agg(revision || ':' || outcome, ' ' ORDER BY id) FROM sqlbundle.drift WHERE command = 'upgrade'")" \
	    "base:none a1:none b2:none c3:none c3:none d4:none"
}
