# CSV seed headers, HQ against store against PostgreSQL: a table of tricky
# headers. What pack accepts, sqlbundle-apply loads, with the same rows
# and the same column names as psql's \copy (FORMAT csv, HEADER MATCH) of
# the same file; what pack refuses (naming file and line), check refuses
# too, and so does the applier when a signed bundle carries it anyway.
# The grammar is in include/sqlbundle/csv.h.

# Project p: a1 makes schema app; b2 makes the tables of stdin and seeds
# them from p/seeds/b2/.
headers_project() {
	mkdir -p p/revisions p/keys p/seeds/b2
	echo "project = headers" > p/sqlbundle.conf
	printf -- '-- revision: a1\n\n-- +upgrade\nCREATE SCHEMA app;\n\n-- +downgrade\nDROP SCHEMA app CASCADE;\n' \
	    > p/revisions/a1_base.sql
	{
		printf -- '-- revision: b2\n-- down_revision: a1\n\n-- +upgrade\n'
		cat
		printf -- '\n-- +downgrade\nSELECT 1;\n'
	} > p/revisions/b2_tables.sql
	"$SB" -C p keygen hq > /dev/null
	export SQLBUNDLE_TRUST=$PWD/p/keys/hq.pub
}

# Accepted headers: one table each, columns named as the grammar reads the
# header (all text), rows in the line-end style of the header.
test_headers_accepted() {
	headers_project <<'EOF'
CREATE TABLE app.plain (id text, name text);
CREATE TABLE app.joined (id text, namex text);
CREATE TABLE app.mid (abc text, d text);
CREATE TABLE app.doubled (id text, "say ""hi""" text);
CREATE TABLE app.comma (id text, "a,b" text);
CREATE TABLE app.newline (id text, "two
lines" text);
CREATE TABLE app.crlf (id text, name text);
CREATE TABLE app.cr (id text, name text);
CREATE TABLE app.bom (id text, name text);
CREATE TABLE app.spaces (" id" text, "name " text);
CREATE TABLE app.mixed ("ID" text, "Name" text);
CREATE TABLE app.utf8 (id text, "ñandú €" text);
CREATE TABLE app.long63 (id text, c23456789012345678901234567890123456789012345678901234567890123 text);
CREATE TABLE app.onlyheader (id text, name text);
CREATE TABLE app.marker ("\.x" text);
EOF
	local s=p/seeds/b2 rows='1,x\n2,"y,z"\n3,\n'
	printf "id,name\n$rows" > $s/app.plain.csv
	printf "id,\"name\"x\n$rows" > $s/app.joined.csv
	printf "a\"b\"c,d\n$rows" > $s/app.mid.csv
	printf 'id,"say ""hi"""\n'"$rows" > $s/app.doubled.csv
	printf "id,\"a,b\"\n$rows" > $s/app.comma.csv
	printf "id,\"two\nlines\"\n$rows"'4,"quoted\nline break"\n' > $s/app.newline.csv
	printf 'id,name\r\n1,x\r\n2,"y\r\nz"\r\n' > $s/app.crlf.csv
	printf 'id,name\r1,x\r2,y\r' > $s/app.cr.csv
	printf "\xef\xbb\xbfid,name\n$rows" > $s/app.bom.csv
	printf " id,name \n$rows" > $s/app.spaces.csv
	printf "ID,Name\n$rows" > $s/app.mixed.csv
	printf "id,ñandú €\n$rows" > $s/app.utf8.csv
	printf "id,c23456789012345678901234567890123456789012345678901234567890123\n$rows" > $s/app.long63.csv
	printf 'id,name' > $s/app.onlyheader.csv
	printf '\\.x\n1\n\\.y\n' > $s/app.marker.csv
	expect_rc 0 "$SB" -C p check
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o "$PWD/b.tar.zst"
	new_db
	expect_rc 0 "$SBA" upgrade b.tar.zst
	local n=0 f t match digest twin
	for f in $s/*.csv; do
		t=$(basename "$f" .csv)
		t=${t#app.}
		# PostgreSQL takes a BOM as part of the first name: compare
		# its rows only (HEADER true skips the line).
		match=match
		[ "$t" = bom ] && match=true
		q "CREATE TABLE app.twin_$t (LIKE app.$t)"
		psql -X -q -v ON_ERROR_STOP=1 \
		    -c "\\copy app.twin_$t FROM '$f' (FORMAT csv, HEADER $match)" ||
			fail "psql \\copy refused $f"
		digest="SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
		twin=$(q "$digest FROM app.twin_$t r")
		assert_eq "$(q "$digest FROM app.$t r")" "$twin" "rows of $f"
		n=$((n + 1))
	done
	assert_eq "$n" 15 "tables compared"
	# Not vacuous: rows were loaded, quoted line breaks included.
	assert_eq "$(q "SELECT count(*) FROM app.newline")" 4
	assert_eq "$(q "SELECT name FROM app.crlf WHERE id = '2'")" $'y\r\nz'
	assert_eq "$(q "SELECT count(*) FROM app.onlyheader")" 0
	assert_eq "$(q "SELECT string_agg(\"\\.x\", ' ') FROM app.marker")" '1 \.y'
}

# Refused headers: check and pack name the file and line; a bundle signed
# with the file anyway is refused by the applier, naming entry and line.
test_headers_refused() {
	headers_project <<'EOF'
CREATE TABLE app.r (a text, b text);
EOF
	local csv=p/seeds/b2/app.r.csv entry=seeds/0002_b2/app.r.csv
	printf 'a,b\n1,2\n' > $csv
	expect_rc 0 "$SB" -C p pack --key keys/hq.key -o "$PWD/good.tar.zst"
	rm p/revisions/CHECKSUMS
	new_db
	local none="no column name in the CSV header (the first line names the columns)"
	local long64=c234567890123456789012345678901234567890123456789012345678901234
	local -a text=(
		'a,,b\n' 'a,b,\n' 'a,""\n' '\na,b\n' '' 'a,b\0c\n' 'a,b,a\n'
		'a,"a"\n' 'a,"b\n1,2\n' "a,$long64\n" 'a,\xff\n' '\\.\n1,2\n'
		'\r\n' 'a,b"""\n')
	local -a want=(
		"empty column name in the CSV header (column 2)"
		"empty column name in the CSV header (column 3)"
		"empty column name in the CSV header (column 2)"
		"$none" "$none"
		"NUL byte in the CSV header (column 2)"
		'column "a" named twice in the CSV header (columns 1 and 3)'
		'column "a" named twice in the CSV header (columns 1 and 2)'
		"unterminated quoted name in the CSV header (column 2)"
		"column name longer than 63 bytes in the CSV header (column 2)"
		"invalid UTF-8 in the CSV header (column 2)"
		"the CSV header is COPY's end-of-data marker \\."
		"$none"
		"unterminated quoted name in the CSV header (column 2)")
	local i
	for i in "${!text[@]}"; do
		printf "${text[$i]}" > $csv
		refused_everywhere $csv $entry "${want[$i]}"
	done
	# One field that does not end within the limit (1 MiB).
	head -c 1100000 /dev/zero | tr '\0' a > $csv
	refused_everywhere $csv $entry "CSV header longer than 1048576 bytes"
	# More columns than a table can have.
	seq -f 'c%g' 1 1601 | paste -sd, > $csv
	refused_everywhere $csv $entry "more than 1600 columns in the CSV header"
}

# refused_everywhere FILE ENTRY MESSAGE: check and pack refuse FILE with
# MESSAGE at FILE:1, and the applier refuses a good bundle re-signed with
# FILE as ENTRY, at ENTRY:1, before anything runs: the database stays
# untouched (no version table, no schema of the bundle).
refused_everywhere() {
	expect_err 1 "sqlbundle: $1:1: $3" "$SB" -C p check
	expect_err 1 "sqlbundle: $1:1: $3" "$SB" -C p pack --key keys/hq.key -o "$PWD/bad.tar.zst"
	[ ! -e bad.tar.zst ] || fail "pack wrote a bundle for $1"
	resign good.tar.zst p/keys/hq.key "$2" "$1" forged.tar.zst
	expect_err 1 "$2:1: $3" "$SBA" upgrade forged.tar.zst
	assert_eq "$(q "SELECT to_regclass('public.alembic_version') IS NULL AND
	    NOT EXISTS (SELECT FROM pg_namespace WHERE nspname IN ('app', 'sqlbundle'))")" t \
	    "database touched by a bundle with $1"
}
