# Hostile input at HQ: broken revision files through the command line, a
# 10,000-revision chain, seed CSV files that try to break COPY or the
# quoting of identifiers, seed file names, and trust folders holding
# things that are not keys.

# A project in $1 (default p): base revision a1 (schema app, a table the
# seeds must never touch) and key hq.
hq_project() {
	local d=${1:-p}
	mkdir -p "$d/revisions" "$d/keys"
	echo "project = hostile" > "$d/sqlbundle.conf"
	cat > "$d/revisions/a1_base.sql" <<'EOF'
-- revision: a1
-- message: schema app

-- +upgrade
CREATE SCHEMA app;
CREATE TABLE app.victim (id int PRIMARY KEY);
INSERT INTO app.victim VALUES (1), (2);

-- +downgrade
DROP SCHEMA app CASCADE;
EOF
	"$SB" -C "$d" keygen hq > /dev/null
}

# Revision b2 after a1 in project $1 whose upgrade is stdin.
seeded_rev() {
	{
		printf -- '-- revision: b2\n-- down_revision: a1\n'
		printf -- '-- message: seeded tables\n\n-- +upgrade\n'
		cat
		printf -- '\n-- +downgrade\nSELECT 1;\n'
	} > "$1/revisions/b2_seeded.sql"
	mkdir -p "$1/seeds/b2"
}

# Pack project $1 into $PWD/$2 and trust its key.
pack_to() {
	"$SB" -C "$1" pack --key keys/hq.key -o "$PWD/$2" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/$1/keys/hq.pub
}

# Nothing written by a refused pack: no bundle, no temp file, no CHECKSUMS.
assert_nothing_packed() {
	if [ -d "$1/bundles" ] && [ -n "$(ls -A "$1/bundles")" ]; then
		ls -la "$1/bundles"
		fail "a refused pack left files in $1/bundles"
	fi
	[ ! -e "$1/revisions/CHECKSUMS" ] || fail "CHECKSUMS written by a refused pack"
}

# Everything outside the bookkeeping, for "nothing changed" checks.
app_dump() {
	pg_dump --no-owner --exclude-schema=sqlbundle --exclude-table=public.alembic_version |
	    grep -v '^\\\(un\)\?restrict '
}

# One CLI-level pass over the revision-file refusals the unit tests check
# through sb_revision_parse: check and pack both refuse, with file:line.
test_bad_revision_files() {
	hq_project p
	local f=p/revisions/b2_bad.sql
	local long=0123456789abcdef0123456789abcdef0
	bad_case() {
		rm -f p/revisions/b2_* p/revisions/"$long"_*
		/usr/bin/python3 -c 'import sys; open(sys.argv[1], "wb").write(sys.stdin.buffer.read().decode("unicode_escape").encode("latin-1"))' "$1"
		expect_err 1 "$2" "$SB" -C p check
		[ ! -s out ] || fail "check printed a summary for $1: $(cat out)"
		expect_err 1 "$2" "$SB" -C p pack --key keys/hq.key
		assert_nothing_packed p
	}
	printf '%s' '-- revision: b2\n-- down_revision: a1\n-- message: caf\xe9\n\n-- +upgrade\nSELECT 1;\n' |
	    bad_case "$f" "$f:3: invalid UTF-8"
	printf '%s' '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\nSELECT \xed\xa0\x80;\n' |
	    bad_case "$f" "$f:6: invalid UTF-8"
	printf '%s' '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\nSELECT \x27\x00\x27;\n' |
	    bad_case "$f" "$f:6: NUL byte in revision file"
	printf '%s' "-- revision: $long\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\n" |
	    bad_case "p/revisions/${long}_long.sql" \
	    "p/revisions/${long}_long.sql:1: invalid revision id \"$long\" (ids are 1-32 characters of [0-9A-Za-z_])"
	printf '%s' '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\n\n-- +downgrade\nSELECT 2;\n-- transactional: false\n' |
	    bad_case "$f" "$f:9: header key \"transactional\" after the first marker"
	printf '%s' '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\n\n-- +downgrade\nSELECT $$x;\n' |
	    bad_case "$f" "$f:8: unterminated dollar-quoted string"
	# The same file fixed: both accept it.
	rm -f p/revisions/b2_*
	printf -- '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\nSELECT 1;\n' > "$f"
	expect_rc 0 "$SB" -C p check
	expect_rc 0 "$SB" -C p pack --key keys/hq.key
}

# A 10 MB single line packs byte for byte, verifies and applies.
test_ten_megabyte_line() {
	hq_project p
	/usr/bin/python3 - p/revisions/b2_long_line.sql <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\n")
    f.write("INSERT INTO app.victim VALUES (3), (length('" + "x" * 10000000 + "'));\n")
    f.write("\n-- +downgrade\nDELETE FROM app.victim WHERE id > 2;\n")
EOF
	[ "$(wc -c < p/revisions/b2_long_line.sql)" -gt 10000000 ] || fail "line too short"
	expect_rc 0 "$SB" -C p check
	pack_to p long.tar.zst
	sed -n '5p' p/revisions/b2_long_line.sql > want.sql
	echo >> want.sql
	tar -xOf long.tar.zst upgrade/0002_b2.sql | cmp - want.sql || fail "upgrade entry differs from the file's section"
	expect_rc 0 "$SB" verify long.tar.zst --trust p/keys/hq.pub
	new_db
	expect_rc 0 "$SBA" upgrade long.tar.zst
	assert_eq "$(q 'SELECT string_agg(id::text, $$,$$ ORDER BY id) FROM app.victim')" "1,2,3,10000000"
}

# 10,000 revisions: check is fast; a bundle of all of them would need a
# MANIFEST far over the 1 MiB the format allows, so pack refuses it with
# the sizes named, and packs the chain in ranges that fit.
test_chain_10k() {
	mkdir -p k/revisions
	echo "project = k10" > k/sqlbundle.conf
	/usr/bin/python3 - k 10000 <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for k in range(1, n + 1):
    text = "-- revision: r%05d\n" % k
    if k > 1:
        text += "-- down_revision: r%05d\n" % (k - 1)
    text += ("-- message: step %d\n\n-- +upgrade\nCREATE TABLE t%05d (id int);\n"
             "\n-- +downgrade\nDROP TABLE t%05d;\n" % (k, k, k))
    with open(os.path.join(root, "revisions", "r%05d_step.sql" % k), "w") as f:
        f.write(text)
EOF
	"$SB" -C k keygen hq > /dev/null
	local t0 t1
	t0=$(date +%s.%N)
	expect_rc 0 "$SB" -C k check
	t1=$(date +%s.%N)
	assert_eq "$(sed -n 1p out)" "10000 revisions, base r00001, head r10000"
	echo "10k chain: check $(secs "$t0" "$t1") s" | tee -a "$T_DIR/../timings.txt"

	t0=$(date +%s.%N)
	expect_err 1 'invalid manifest: MANIFEST is too large (' "$SB" -C k pack --key keys/hq.key
	t1=$(date +%s.%N)
	grep -qE 'MANIFEST is too large \([0-9]{7} bytes, at most 1048576\)' err || fail "sizes: $(cat err)"
	grep -qF "HINT: pack the chain as several bundles with --from and --to (10000 revisions here)" err || fail "no hint: $(cat err)"
	assert_nothing_packed k
	echo "10k chain: pack of all 10000 refused in $(secs "$t0" "$t1") s: $(cat err)" | tee -a "$T_DIR/../timings.txt"

	local from=base to
	for to in r02000 r04000 r06000 r08000 r10000; do
		t0=$(date +%s.%N)
		expect_rc 0 "$SB" -C k pack --key keys/hq.key --from $from --to $to -o "$PWD/k-$to.tar.zst"
		t1=$(date +%s.%N)
		echo "10k chain: pack $from..$to $(secs "$t0" "$t1") s, $(stat -c %s "k-$to.tar.zst") bytes, MANIFEST $(tar -xOf "k-$to.tar.zst" MANIFEST | wc -c) bytes" |
		    tee -a "$T_DIR/../timings.txt"
		expect_rc 0 "$SB" verify "k-$to.tar.zst" --trust k/keys/hq.pub
		assert_out "revisions 2000"
		from=$to
	done
	# Every revision landed once: CHECKSUMS lists all of them.
	assert_eq "$(wc -l < k/revisions/CHECKSUMS)" 10000
}

# A CSV naming a column the table lacks: the step fails, the entry is
# named, exit 3, and nothing of the step stays.
test_seed_unknown_column() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app.item (id int PRIMARY KEY, name text);
INSERT INTO app.item VALUES (0, 'from the script');
EOF
	printf 'id,name,nosuch\n1,one,x\n' > p/seeds/b2/app.item.csv
	expect_rc 0 "$SB" -C p check
	pack_to p unknown.tar.zst
	new_db
	expect_rc 0 "$SBA" upgrade unknown.tar.zst +1
	app_dump > before.sql
	expect_err 3 'revision "b2": seeds/0002_b2/app.item.csv: column "nosuch" of relation "item" does not exist' \
	    "$SBA" upgrade unknown.tar.zst
	grep -qx 'SQLSTATE: 42703' err || fail "no SQLSTATE: $(cat err)"
	app_dump > after.sql
	diff before.sql after.sql || fail "the failed step left changes"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" a1
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE revision = 'b2' AND outcome = 'done'")" 0
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
}

# Quoted commas, quotes, LF and CRLF inside fields, NULL against "", a
# BOM and CRLF records: loaded exactly as PostgreSQL's own CSV reader
# (psql \copy of the same file) loads them, in one go and in small chunks.
test_seed_exact_content() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app.item (id int PRIMARY KEY, a text, b text, n numeric);
CREATE TABLE app.ref (LIKE app.item);
CREATE TABLE app.bom (id int PRIMARY KEY, name text);
EOF
	/usr/bin/python3 - p/seeds/b2 <<'EOF'
import random, sys
d = sys.argv[1]
rnd = random.Random(7)
rows = [
    [1, "plain", "x", "1.5"],
    [2, "comma, inside", "two,commas,", "0"],
    [3, "line\nbreak", "crlf\r\ninside", "-2"],
    [4, 'quote "q"', '""', "3"],
    [5, "", None, None],
    [6, "\u00f1and\u00fa \u20ac \U0001f600", "\ttab", "4.25"],
    [7, " spaces kept ", "back\\slash \\N", "5"],
    [8, "\"\n\"\n", ",\r\n,", "6"],
]
pieces = ["a", "b,c", 'd"e', "f\ng", "h\r\ni", "\u00e9", " ", ""]
for i in range(9, 3000):
    rows.append([i, "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12))),
                 None if i % 11 == 0 else "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5))),
                 "%d.%02d" % (i, i % 100)])
with open(d + "/10-app.item.csv", "w", newline="", encoding="utf-8") as f:
    f.write("id,a,b,n\r\n")
    for r in rows:
        # None: an unquoted empty field (NULL); "": a quoted one.
        out = []
        for v in r:
            if v is None:
                out.append("")
            else:
                v = str(v)
                q = v == "" or any(c in v for c in ',"\r\n') or v != v.strip()
                out.append('"' + v.replace('"', '""') + '"' if q else v)
        f.write(",".join(out) + "\r\n")
with open(d + "/20-app.bom.csv", "w", newline="", encoding="utf-8-sig") as f:
    f.write('id,"name"\r\n1,first\r\n2,"sec\r\nond"\r\n')
EOF
	head -c 3 p/seeds/b2/20-app.bom.csv | od -An -tx1 | grep -q 'ef bb bf' || fail "no BOM"
	pack_to p exact.tar.zst
	local chunk
	for chunk in default 100; do
		new_db "exact_$chunk"
		if [ $chunk = default ]; then
			expect_rc 0 "$SBA" upgrade exact.tar.zst
		else
			expect_rc 0 "$SBA" upgrade exact.tar.zst --chunk-size $chunk
		fi
		psql -X -q -v ON_ERROR_STOP=1 -c "\\copy app.ref (id, a, b, n) FROM 'p/seeds/b2/10-app.item.csv' (FORMAT csv, HEADER true)"
		assert_eq "$(q 'SELECT count(*) FROM app.item')" 2999 "rows ($chunk)"
		assert_eq "$(q 'SELECT count(*) FROM app.ref')" 2999 "reference rows"
		assert_eq "$(q 'SELECT count(*) FROM (SELECT * FROM app.item EXCEPT ALL SELECT * FROM app.ref) x')" 0 "rows not in the reference ($chunk)"
		assert_eq "$(q 'SELECT count(*) FROM (SELECT * FROM app.ref EXCEPT ALL SELECT * FROM app.item) x')" 0 "reference rows missing ($chunk)"
		# And the tricky rows, value by value.
		assert_eq "$(q "SELECT string_agg(id::text, ',' ORDER BY id) FROM app.item WHERE id <= 8 AND (
		    (id = 1 AND a = 'plain' AND b = 'x' AND n = 1.5) OR
		    (id = 2 AND a = 'comma, inside' AND b = 'two,commas,') OR
		    (id = 3 AND a = E'line\\nbreak' AND b = E'crlf\\r\\ninside') OR
		    (id = 4 AND a = 'quote \"q\"' AND b = '\"\"') OR
		    (id = 5 AND a = '' AND b IS NULL AND n IS NULL) OR
		    (id = 6 AND a = U&'\\00F1and\\00FA \\20AC \\+01F600' AND b = E'\\ttab') OR
		    (id = 7 AND a = ' spaces kept ' AND b = E'back\\\\slash \\\\N') OR
		    (id = 8 AND a = E'\"\\n\"\\n' AND b = E',\\r\\n,'))")" "1,2,3,4,5,6,7,8" "tricky rows ($chunk)"
		# The BOM is not part of the first column's name or value.
		assert_eq "$(q "SELECT string_agg(id || ':' || name, '|' ORDER BY id) FROM app.bom")" "1:first|2:sec"$'\r'"
ond"
	done
}

# A zero-byte CSV: check and render refuse it, naming file and line; a
# signed bundle that carries one (pack does not read seed contents) is
# refused by the applier, which names the entry and leaves the database
# as it was. A header alone is no rows.
test_seed_empty_csv() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app.item (id int PRIMARY KEY, name text);
EOF
	printf 'id,name\n' > p/seeds/b2/app.item.csv
	expect_rc 0 "$SB" -C p check
	pack_to p header_only.tar.zst
	: > p/seeds/b2/app.item.csv
	rm p/revisions/CHECKSUMS
	local msg="p/seeds/b2/app.item.csv:1: no column name in the CSV header (the first line names the columns)"
	expect_err 1 "$msg" "$SB" -C p check
	# render refuses before printing: psql -1 would commit a partial one
	expect_err 1 "$msg" "$SB" -C p render
	[ ! -s out ] || fail "render printed a partial script"
	# pack refuses too, and leaves no bundle behind
	expect_err 1 "$msg" "$SB" -C p pack --key keys/hq.key -o refused.tar.zst
	[ ! -e p/refused.tar.zst ] || fail "pack left a bundle"
	printf 'id,name\n' > p/seeds/b2/app.item.csv
	printf "INSERT INTO app.item VALUES (1, 'open);\n" > p/seeds/b2/zz.sql
	expect_err 1 "p/seeds/b2/zz.sql: line 1: unterminated quoted string" "$SB" -C p render
	[ ! -s out ] || fail "render printed a partial script"
	rm p/seeds/b2/zz.sql
	: > p/seeds/b2/app.item.csv

	new_db
	expect_rc 0 "$SBA" upgrade header_only.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM app.item')" 0
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b2

	new_db seed_empty_signed
	resign header_only.tar.zst p/keys/hq.key seeds/0002_b2/app.item.csv p/seeds/b2/app.item.csv empty.tar.zst
	# Signed, but no store could load it: refused whole, before a1 runs.
	expect_err 1 'empty.tar.zst: seeds/0002_b2/app.item.csv:1: no column name in the CSV header' \
	    "$SBA" verify empty.tar.zst
	expect_err 1 'empty.tar.zst: seeds/0002_b2/app.item.csv:1: no column name in the CSV header' \
	    "$SBA" upgrade empty.tar.zst +1
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('sqlbundle', 'app')")" 0
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
}

# Column names made to break out of the identifier: quoted, they are
# just names. The table name has a dot in it (app.org.x.csv loads into
# app."org.x"). render's script, run by psql, loads the same rows.
test_seed_hostile_column_names() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app."org.x" (
    id int PRIMARY KEY,
    "a""); DROP TABLE app.victim; --" text,
    "b.c" text,
    "d,e" text,
    "Upper Case" text,
    "ñame" text,
    "x
y" text,
    "');DROP TABLE app.victim;--" text
);
EOF
	/usr/bin/python3 - p/seeds/b2/app.org.x.csv <<'EOF'
import csv, sys
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", 'a"); DROP TABLE app.victim; --', "b.c", "d,e", "Upper Case",
                "\u00f1ame", "x\ny", "');DROP TABLE app.victim;--"])
    w.writerow([1, "v1", "v2", "v,3", "v4", "v5", "v6", "v7"])
    w.writerow([2, '"); DROP TABLE app.victim; --', "", "", "", "", "", ""])
EOF
	head -c 40 p/seeds/b2/app.org.x.csv | grep -qF 'id,"a""); DROP TABLE' || fail "header not quoted as expected"
	expect_rc 0 "$SB" -C p check
	pack_to p names.tar.zst
	grep -q '^[0-9a-f]\{64\}  seeds/0002_b2/app.org.x.csv$' <(tar -xOf names.tar.zst MANIFEST) || fail "entry name"
	new_db
	expect_rc 0 "$SBA" upgrade names.tar.zst
	check_names_loaded() {
		assert_eq "$(q 'SELECT count(*) FROM app.victim')" 2 "victim table"
		assert_eq "$(q "SELECT string_agg(concat_ws('|', id, \"a\"\"); DROP TABLE app.victim; --\", \"b.c\", \"d,e\", \"Upper Case\", \"ñame\", \"x
y\", \"');DROP TABLE app.victim;--\"), ';' ORDER BY id) FROM app.\"org.x\"")" \
		    '1|v1|v2|v,3|v4|v5|v6|v7;2|"); DROP TABLE app.victim; --'
	}
	check_names_loaded
	# Render quotes them the same way.
	new_db names_render
	"$SB" -C p render > render.sql
	grep -qF 'COPY "app"."org.x" ("id", "a""); DROP TABLE app.victim; --", "b.c", "d,e"' render.sql ||
	    fail "render's COPY line: $(grep COPY render.sql)"
	psql -X -q -v ON_ERROR_STOP=1 -1 -f render.sql > psql.log 2>&1 || { cat psql.log; fail "render script failed"; }
	check_names_loaded
}

# Seed file names outside [A-Za-z0-9._-] are refused by name (quotes,
# semicolons, control bytes); extra dots belong to the table name.
test_seed_file_names() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app.t (id int);
EOF
	local name
	for name in 'app.t"x.csv' "app.t'x.csv" 'app.t;x.csv' 'app.t$(id).csv' 'app.t x.csv'; do
		rm -f p/seeds/b2/*
		printf 'id\n1\n' > "p/seeds/b2/$name"
		expect_err 1 "p/seeds/b2/$name: seed file names may only hold [A-Za-z0-9._-]" "$SB" -C p check
		expect_err 1 "p/seeds/b2/$name: seed file names may only hold [A-Za-z0-9._-]" \
		    "$SB" -C p pack --key keys/hq.key
		assert_nothing_packed p
	done
	rm -f p/seeds/b2/*
	printf 'id\n1\n' > "p/seeds/b2/.csv"
	expect_err 1 'p/seeds/b2/.csv: not a seed file' "$SB" -C p check
	rm -f p/seeds/b2/.csv
	printf 'id\n1\n' > "p/seeds/b2/app..csv"
	expect_err 1 'p/seeds/b2/app..csv: not a seed file' "$SB" -C p pack --key keys/hq.key
	assert_nothing_packed p
	# Two dots: table "t.more", which does not exist: the apply says so.
	rm -f p/seeds/b2/*
	printf 'id\n1\n' > p/seeds/b2/app.t.more.csv
	pack_to p dots.tar.zst
	new_db
	expect_err 3 'revision "b2": seeds/0002_b2/app.t.more.csv: relation "app.t.more" does not exist' \
	    "$SBA" upgrade dots.tar.zst
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" a1
}

# Trust folders at both ends: files that are not *.pub are ignored (even
# a private key); any *.pub that is not an Ed25519 public key is an
# error that names it.
test_trust_folder_contents() {
	hq_project p
	seeded_rev p <<'EOF'
CREATE TABLE app.t (id int);
EOF
	pack_to p b.tar.zst
	mkdir tr
	cp p/keys/hq.pub tr/hq.pub
	cp p/keys/hq.key tr/hq.key
	cp p/keys/hq.pub tr/hq.pub.bak
	echo "keys for the stores" > tr/README
	mkdir tr/old tr/archive.d
	cp p/keys/hq.pub tr/old/hq.pub
	expect_rc 0 "$SB" verify b.tar.zst --trust tr
	expect_rc 0 "$SBA" verify b.tar.zst --trust tr
	SQLBUNDLE_TRUST=$PWD/tr expect_rc 0 "$SBA" verify b.tar.zst
	bad_pub() {
		expect_err 1 "$2" "$SB" verify b.tar.zst --trust tr
		expect_err 1 "$2" "$SBA" verify b.tar.zst --trust tr
		rm -rf "$1"
	}
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2> /dev/null
	openssl pkey -in rsa.key -pubout -out tr/rsa.pub
	bad_pub tr/rsa.pub '"tr/rsa.pub" is not an Ed25519 public key (found rsaEncryption)'
	cp p/keys/hq.key tr/private.pub
	bad_pub tr/private.pub '"tr/private.pub" is not a PEM public key'
	: > tr/empty.pub
	bad_pub tr/empty.pub '"tr/empty.pub" is not a PEM public key'
	head -c 300 /dev/urandom > tr/noise.pub
	bad_pub tr/noise.pub '"tr/noise.pub" is not a PEM public key'
	mkdir tr/dir.pub
	bad_pub tr/dir.pub '"tr/dir.pub" is not a regular file'
	# A symbolic link is refused, dangling or not (StrictModes).
	ln -s "$PWD/nowhere" tr/dangling.pub
	expect_err 1 'trust "tr/dangling.pub" is a symbolic link' "$SB" verify b.tar.zst --trust tr
	expect_err 1 'trust "tr/dangling.pub" is a symbolic link' "$SBA" verify b.tar.zst --trust tr
	rm tr/dangling.pub
	expect_rc 0 "$SBA" verify b.tar.zst --trust tr
}

# A signed bundle whose later seed has a header the applier cannot load
# (what a careless HQ could sign): refused by `sqlbundle verify` and by
# the applier's first pass alike, naming the entry and line, before any
# revision runs; the database is untouched.
test_bad_seed_refused_before_anything() {
	hq_project p
	seeded_rev p <<'EOF2'
CREATE TABLE app.t (id int, name text);
EOF2
	printf 'id,name\n1,one\n' > p/seeds/b2/app.t.csv
	printf 'INSERT INTO app.t VALUES (2, $$two$$);\n' > p/seeds/b2/more.sql
	pack_to p good.tar.zst
	printf 'id,"id"\n1,one\n' > bad.csv
	resign good.tar.zst p/keys/hq.key seeds/0002_b2/app.t.csv bad.csv bad.tar.zst
	local msg='bad.tar.zst: seeds/0002_b2/app.t.csv:1: column "id" named twice in the CSV header (columns 1 and 2)'
	expect_err 1 "$msg" "$SB" verify bad.tar.zst --trust p/keys/hq.pub
	expect_err 1 "$msg" "$SBA" verify bad.tar.zst
	new_db
	expect_err 1 "$msg" "$SBA" upgrade bad.tar.zst
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('sqlbundle', 'app')")" 0
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" t
	# The same with an SQL seed that does not split (an open quote).
	printf 'SELECT 1;\nINSERT INTO app.t VALUES (2, $$two);\n' > bad.sql
	resign good.tar.zst p/keys/hq.key seeds/0002_b2/more.sql bad.sql badsql.tar.zst
	expect_err 1 'badsql.tar.zst: seeds/0002_b2/more.sql:2: unterminated dollar-quoted string' \
	    "$SBA" upgrade badsql.tar.zst
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname IN ('sqlbundle', 'app')")" 0
	expect_rc 0 "$SBA" upgrade good.tar.zst
	assert_eq "$(q 'SELECT string_agg(name, $$,$$ ORDER BY id) FROM app.t')" one,two
}
