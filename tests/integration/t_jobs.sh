# Parallel seed loads (--jobs): the same rows as a serial load, a kill at
# any point resumed to the same database, and the tables whose rows depend
# on their order loaded serially, with the reason said.

JOBS_CHUNK=32K

# jobs_project DIR [BAD]: tables, then a revision seeding them: a child
# table of about 1 MiB of CSV, plus three tables whose load order matters:
# one with a trigger, one referring to itself, one whose omitted id comes
# from a sequence. Item BAD (line 2 * BAD) has a brand that is no number;
# item -BAD has the id of item -BAD - 490.
jobs_project() {
	mkdir -p "$1/revisions" "$1/seeds/j0002" "$1/keys" "$1/bundles"
	echo "project = jobs" > "$1/sqlbundle.conf"
	cat > "$1/revisions/j0001_tables.sql" <<'EOF'
-- revision: j0001
-- message: tables

-- +upgrade
CREATE SCHEMA shop;
CREATE TABLE shop.brand (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO shop.brand SELECT g, 'brand ' || g FROM generate_series(1, 50) g;
CREATE TABLE shop.item (
    id bigint PRIMARY KEY,
    brand_id int NOT NULL REFERENCES shop.brand,
    label text NOT NULL,
    note text,
    added timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.audited (id bigint PRIMARY KEY, label text);
CREATE TABLE shop.audit_log (n bigserial, id bigint);
CREATE FUNCTION shop.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO shop.audit_log (id) VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER audited_log AFTER INSERT ON shop.audited
    FOR EACH ROW EXECUTE FUNCTION shop.audit();
CREATE TABLE shop.node (id bigint PRIMARY KEY,
    parent bigint REFERENCES shop.node, label text);
CREATE TABLE shop.numbered (n bigserial PRIMARY KEY, label text);

-- +downgrade
DROP SCHEMA shop CASCADE;
EOF
	cat > "$1/revisions/j0002_seed.sql" <<'EOF'
-- revision: j0002
-- down_revision: j0001
-- message: the seed

-- +upgrade
COMMENT ON TABLE shop.item IS 'seeded';

-- +downgrade
TRUNCATE shop.item, shop.audited, shop.audit_log, shop.node, shop.numbered;
EOF
	/usr/bin/python3 - "$1/seeds/j0002" "${2:-0}" <<'EOF'
import sys
d = sys.argv[1]
def rows(name, header, n, make):
    with open("%s/%s" % (d, name), "w", newline="") as f:
        f.write(header + "\n")
        for i in range(1, n + 1):
            f.write(make(i) + "\n")
bad = int(sys.argv[2])
rows("10-shop.item.csv", "id,brand_id,label,note", 12000,
     lambda i: '%d,%s,item %d,"a note, with ""quotes""\nand a second line %s"'
     % (i - 490 if i == -bad else i, "oops" if i == bad else i % 50 + 1, i,
        "x" * (i % 40)))
rows("20-shop.audited.csv", "id,label", 6000, lambda i: "%d,audited %d %s" % (i, i, "y" * 60))
rows("30-shop.node.csv", "id,parent,label", 6000,
     lambda i: "%d,%s,node %d %s" % (i, "" if i == 1 else str(i - 1), i, "z" * 60))
rows("40-shop.numbered.csv", "label", 9000, lambda i: "numbered %d %s" % (i, "w" * 60))
EOF
}

# The bundle, packed once, in $PWD/jobs.tar.zst ([BAD] as jobs_project).
jobs_bundle() {
	jobs_project proj "${1:-0}"
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/jobs.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# Rows of the seeded tables that do not depend on the load: no now(), and
# of sequence numbers (which a killed run consumes) only their order.
jobs_digest() {
	q "SELECT md5(string_agg(id || ',' || brand_id || ',' || label || ',' || coalesce(note, ''), E'\n' ORDER BY id)) FROM shop.item"
	q "SELECT md5(string_agg(t::text, E'\n' ORDER BY t::text)) FROM shop.audited t"
	q "SELECT md5(string_agg(id::text, E'\n' ORDER BY n)) FROM shop.audit_log"
	q "SELECT md5(string_agg(t::text, E'\n' ORDER BY t::text)) FROM shop.node t"
	q "SELECT md5(string_agg(label, E'\n' ORDER BY n)) FROM shop.numbered"
}

test_jobs_same_rows_as_serial() {
	jobs_bundle
	new_db "${T_NAME}_serial"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 1 upgrade jobs.tar.zst
	jobs_digest > serial.digest
	new_db "${T_NAME}_par"
	expect_rc 0 "$SBA" --json --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	grep -q '"message":"seeds/0002_j0002/10-shop.item.csv: [0-9]* chunks on 3 connections"' "$T_DIR/out" ||
		{ cat "$T_DIR/out"; fail "the item seed was not loaded in parallel"; }
	[ "$(grep -c '"event":"chunk".*10-shop.item.csv' "$T_DIR/out")" -ge 8 ] || fail "too few chunks"
	jobs_digest > par.digest
	diff serial.digest par.digest || fail "parallel rows differ from serial ones"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.chunks')" 0 "chunk rows"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")" 2 "history rows"
}

test_jobs_order_dependent_tables_load_serially() {
	jobs_bundle
	new_db
	expect_rc 0 "$SBA" --json --chunk-size "$JOBS_CHUNK" --jobs 4 upgrade jobs.tar.zst
	for want in \
	    '20-shop.audited.csv: loaded serially, in file order: trigger audited_log runs for its rows' \
	    '30-shop.node.csv: loaded serially, in file order: foreign key node_parent_fkey refers to the table itself' \
	    "40-shop.numbered.csv: loaded serially, in file order: column n, which the CSV omits, is filled by nextval('shop.numbered_n_seq'::regclass)"; do
		grep -qF "$want" "$T_DIR/out" || { cat "$T_DIR/out"; fail "no \"$want\""; }
	done
	# In file order: the audit log and the sequence follow the file.
	assert_eq "$(q 'SELECT bool_and(n = id) FROM shop.audit_log')" t "audit order"
	assert_eq "$(q "SELECT bool_and(label LIKE 'numbered ' || n || ' %') FROM shop.numbered")" t "sequence order"
}

test_jobs_refuses_bad_counts() {
	expect_err 2 'invalid --jobs "0": expected 1 to 16' "$SBA" --jobs 0 status
	expect_err 2 'invalid --jobs "17": expected 1 to 16' "$SBA" -j 17 status
}

test_jobs_resume_after_kills() {
	local want=6
	jobs_bundle
	new_db "${T_NAME}_ref"
	measure_units "$SBA" --json --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	jobs_digest > ref.digest
	# A killed run does at most 3 events' work and the chunks in flight.
	[ "$UNITS" -gt $((8 * want)) ] || fail "only $UNITS progress events"
	new_db
	kill_until "$want" 3 "$SBA" --json --wait --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	echo "jobs: $KILLS kills in $TRIES runs ($UNITS events, ${UNIT_SECS}s each)" |
	    tee -a "$T_DIR/../kills.txt"
	assert_eq "$KILLS" "$want" "kills before the bundle was applied"
	expect_rc 0 "$SBA" --wait --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	jobs_digest > got.digest
	diff ref.digest got.digest || fail "rows differ from an uninterrupted run"
	assert_eq "$(q "SELECT count(*) || ' ' || count(DISTINCT revision) FROM sqlbundle.history WHERE outcome = 'done'")" "2 2" "history rows"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.chunks')" 0 "chunk rows"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
}

test_jobs_bad_row_named_and_nothing_after() {
	jobs_bundle 6000
	new_db
	expect_err 3 'revision "j0002": seeds/0002_j0002/10-shop.item.csv:12000: invalid input syntax for type integer: "oops"' \
	    "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" j0001 "version"
	assert_eq "$(q "SELECT string_agg(revision, ',') FROM sqlbundle.history WHERE outcome = 'done'")" j0001 "history"
	assert_eq "$(q 'SELECT count(*) FROM shop.audited')" 0 "files after the bad one"
	# Chunks before the bad one stay committed; a rerun fails the same way.
	expect_err 3 'seeds/0002_j0002/10-shop.item.csv:12000: invalid input syntax' \
	    "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 2 upgrade jobs.tar.zst
}

test_jobs_plan_says_which_and_why() {
	jobs_bundle
	new_db
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 plan jobs.tar.zst
	assert_out "seeds/0002_j0002/10-shop.item.csv: 31 chunks, serially: shop.item does not exist yet; checked when the file loads"
	expect_rc 0 "$SBA" upgrade jobs.tar.zst j0001
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 plan jobs.tar.zst
	assert_out "seeds/0002_j0002/10-shop.item.csv: 31 chunks on 3 connections"
	assert_out "seeds/0002_j0002/20-shop.audited.csv: 15 chunks, serially: trigger audited_log runs for its rows"
	assert_out "seeds/0002_j0002/30-shop.node.csv: 15 chunks, serially: foreign key node_parent_fkey refers to the table itself"
	assert_out "seeds/0002_j0002/40-shop.numbered.csv: 21 chunks, serially: column n, which the CSV omits, is filled by nextval('shop.numbered_n_seq'::regclass)"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 1 plan jobs.tar.zst
	assert_out "seeds/0002_j0002/10-shop.item.csv: 31 chunks, serially: --jobs 1"
	expect_rc 0 "$SBA" --json --chunk-size "$JOBS_CHUNK" --jobs 2 plan jobs.tar.zst
	assert_out '"chunked_seeds":[{"file":"seeds/0002_j0002/10-shop.item.csv","chunks":31,"connections":2},'
	assert_out '{"file":"seeds/0002_j0002/20-shop.audited.csv","chunks":15,"connections":1,"serial_reason":"trigger audited_log runs for its rows"}'
	# Small files load whole: not listed.
	expect_rc 0 "$SBA" --json --jobs 2 plan jobs.tar.zst
	if grep -q chunked_seeds "$T_DIR/out"; then fail "16 MiB chunks listed"; fi
}

test_jobs_duplicate_key_across_chunks() {
	# The tail and the chunk before it insert the same key at once: one
	# waits for the other's commit, then fails; nothing waits forever.
	jobs_bundle -11990
	new_db
	expect_err 3 'duplicate key value violates unique constraint "item_pkey"' \
	    "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 4 upgrade jobs.tar.zst
	grep -Eq '^sqlbundle-apply: revision "j0002": seeds/0002_j0002/10-shop.item.csv:(23000|23980): duplicate key' "$T_DIR/err" ||
	    fail "the duplicate is not named: $(cat "$T_DIR/err")"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" j0001 "version"
}

test_jobs_fall_back_to_serial_without_spool() {
	jobs_bundle
	new_db
	TMPDIR=$PWD/missing expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 2 upgrade jobs.tar.zst
	grep -qF "loading serially: parallel load, connection 1: could not create a spool file in $PWD/missing" "$T_DIR/err" ||
	    { cat "$T_DIR/err"; fail "no fallback line"; }
	jobs_digest > got.digest
	new_db "${T_NAME}_ref"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 1 upgrade jobs.tar.zst
	jobs_digest > ref.digest
	diff ref.digest got.digest || fail "rows differ"
}

# order_project DIR: tables whose load order matters in ways the rules
# must see from afar: an id filled by its domain's default (a sequence),
# and a partitioned table whose foreign key to itself is declared on the
# parent while the seed names the partition. Each CSV is several chunks.
order_project() {
	mkdir -p "$1/revisions" "$1/seeds/o0002" "$1/keys"
	echo "project = order" > "$1/sqlbundle.conf"
	cat > "$1/revisions/o0001_tables.sql" <<'EOF2'
-- revision: o0001

-- +upgrade
CREATE SCHEMA shop;
CREATE SEQUENCE shop.ticket_seq;
CREATE DOMAIN shop.ticket_id AS bigint DEFAULT nextval('shop.ticket_seq');
CREATE TABLE shop.ticket (id shop.ticket_id PRIMARY KEY, label text);
CREATE TABLE shop.pnode (id bigint PRIMARY KEY, parent bigint,
    label text, FOREIGN KEY (parent) REFERENCES shop.pnode)
    PARTITION BY RANGE (id);
CREATE TABLE shop.pnode_all PARTITION OF shop.pnode
    FOR VALUES FROM (MINVALUE) TO (MAXVALUE);

-- +downgrade
DROP SCHEMA shop CASCADE;
EOF2
	cat > "$1/revisions/o0002_seed.sql" <<'EOF2'
-- revision: o0002
-- down_revision: o0001

-- +upgrade
SELECT 1;

-- +downgrade
TRUNCATE shop.ticket, shop.pnode;
EOF2
	/usr/bin/python3 - "$1/seeds/o0002" <<'EOF2'
import sys
d = sys.argv[1]
with open(d + "/10-shop.ticket.csv", "w") as f:
    f.write("label\n")
    for i in range(1, 5001):
        f.write("ticket %d %s\n" % (i, "t" * 40))
with open(d + "/20-shop.pnode_all.csv", "w") as f:
    f.write("id,parent,label\n")
    for i in range(1, 5001):
        f.write("%d,%s,node %d %s\n" % (i, "" if i == 1 else i - 1, i, "p" * 40))
EOF2
	"$SB" -C "$1" keygen hq > /dev/null
	"$SB" -C "$1" pack --key keys/hq.key -o "$PWD/order.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/$1/keys/hq.pub
}

# A domain's default numbers the rows: they load in file order, so the
# same bundle gives the same ids everywhere; a foreign key declared on
# the parent binds the partition the seed names: serial, and it loads.
test_jobs_order_rules_see_domains_and_partitions() {
	order_project proj
	new_db
	expect_rc 0 "$SBA" upgrade order.tar.zst o0001
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 plan order.tar.zst
	assert_out "seeds/0002_o0002/10-shop.ticket.csv: 9 chunks, serially: column id, which the CSV omits, is filled by the default of domain shop.ticket_id"
	assert_out "seeds/0002_o0002/20-shop.pnode_all.csv: 10 chunks, serially: foreign key pnode_parent_fkey on shop.pnode_all refers to shop.pnode, in the same partition tree"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade order.tar.zst
	grep -qF '10-shop.ticket.csv: loaded serially, in file order: column id, which the CSV omits, is filled by the default of domain shop.ticket_id' err ||
	    fail "no domain reason: $(cat err)"
	grep -qF '20-shop.pnode_all.csv: loaded serially, in file order: foreign key' err ||
	    fail "no partition reason: $(cat err)"
	assert_eq "$(q "SELECT count(*) || ' ' || bool_and(label LIKE 'ticket ' || id || ' %') FROM shop.ticket")" "5000 true" "ids in file order"
	assert_eq "$(q "SELECT count(*) FROM shop.pnode")" 5000 "partition rows"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" o0002
}

# Chunks commit in file order: after a bad row, what is committed is what
# a serial load commits (the chunks before it), so the corrected bundle
# from HQ resumes with --jobs 3 and ends like an uninterrupted run.
test_jobs_corrected_bundle_after_a_failed_chunk() {
	jobs_bundle 6000
	new_db
	expect_err 3 'seeds/0002_j0002/10-shop.item.csv:12000: invalid input syntax' \
	    "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	# A prefix: items 1..n, none from the bad one on.
	assert_eq "$(q "SELECT count(*) = max(id) AND max(id) < 6000 AND count(*) > 1000 FROM shop.item")" t "a prefix of the file"
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.chunks WHERE chunk_end > (SELECT seed_offset FROM sqlbundle.progress)")" \
	    "$(q "SELECT count(*) FROM sqlbundle.chunks")" "chunk rows after the progress row"
	jobs_project proj 0
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/fixed.tar.zst" > /dev/null
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade fixed.tar.zst
	grep -q '^resuming upgrade j0002: seed file 1 of 4' err || fail "no resume line: $(cat err)"
	jobs_digest > got.digest
	new_db "${T_NAME}_ref"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 1 upgrade fixed.tar.zst
	jobs_digest > ref.digest
	diff ref.digest got.digest || fail "rows differ from an uninterrupted run"
}

# A bad row in the first chunk: nothing of the step committed, as with a
# serial load, so the database can go down again.
test_jobs_failed_first_chunk_leaves_nothing() {
	jobs_bundle 5
	new_db
	expect_err 3 'seeds/0002_j0002/10-shop.item.csv:10: invalid input syntax' \
	    "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 3 upgrade jobs.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q 'SELECT count(*) FROM shop.item')" 0 "items"
	expect_rc 0 "$SBA" downgrade jobs.tar.zst base
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'shop'")" 0
}

# A spool file that cannot be written (a full $TMPDIR; here a file size
# limit): the chunks handed over commit, and the rest loads serially.
test_jobs_spool_write_failure_falls_back_to_serial() {
	local rc=0
	jobs_bundle
	new_db
	# Spool files may not grow past 16 KiB; a chunk is 32 KiB.
	( trap '' XFSZ; ulimit -f 16; exec "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 2 upgrade jobs.tar.zst ) \
	    > out 2> err || rc=$?
	[ "$rc" -eq 0 ] || { cat err; fail "upgrade exited $rc"; }
	grep -q '^seeds/0002_j0002/10-shop.item.csv: spool file: File too large; loading the rest serially from byte [1-9]' err ||
	    fail "no fallback line: $(cat err)"
	jobs_digest > got.digest
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.chunks')" 0 "chunk rows"
	new_db "${T_NAME}_ref"
	expect_rc 0 "$SBA" --chunk-size "$JOBS_CHUNK" --jobs 1 upgrade jobs.tar.zst
	jobs_digest > ref.digest
	diff ref.digest got.digest || fail "rows differ"
}
