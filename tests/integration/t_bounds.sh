# Bounds: memory stays flat on 2 GiB of seed data (pack, both verifiers,
# upgrade), and decompression bombs are refused at once.

BOUNDS_MIB=${BOUNDS_MIB:-2048}		# seed data of the memory test
BOUNDS_RSS_KIB=32768			# the bound: 32 MiB of peak RSS

# True if program $1 was built with AddressSanitizer (its shadow memory
# makes RSS figures meaningless). $1 may be run.sh's JSON wrapper: the
# build looked at is the program in $SB_BIN of the same name.
sanitized() {
	local bin=$SB_BIN/$(basename "$1")
	[ -x "$bin" ] || fail "no program $bin behind $1"
	nm -D "$bin" 2> /dev/null | grep -q '__asan_init' ||
	    nm "$bin" 2> /dev/null | grep -q '__asan_init'
}

# measure NAME CMD...: run CMD under /usr/bin/time; log peak RSS and
# time; fail on a non-zero exit or (unsanitized) RSS over the bound.
measure() {
	local name=$1 rss t0 t1 rc=0
	shift
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M' -o rss "$@" > out 2> err || rc=$?
	t1=$(date +%s.%N)
	[ "$rc" -eq 0 ] || { cat err; fail "$name exited $rc"; }
	rss=$(tail -n 1 rss)
	echo "bounds: $name peak RSS $rss KiB, $(secs "$t0" "$t1") s" | tee -a "$T_DIR/../bounds.txt"
	if sanitized "$1"; then
		echo "bounds: $name: sanitized build, RSS bound not checked" | tee -a "$T_DIR/../bounds.txt"
	elif [ "$rss" -ge "$BOUNDS_RSS_KIB" ]; then
		fail "$name: peak RSS $rss KiB, bound $BOUNDS_RSS_KIB KiB"
	fi
}

test_memory_flat_2gib() {
	mkdir -p big/revisions big/seeds/b1
	echo "project = big" > big/sqlbundle.conf
	cat > big/revisions/b1_rows.sql <<'EOF'
-- revision: b1
-- message: a large seed

-- +upgrade
CREATE SCHEMA big;
CREATE TABLE big.rows (id bigint NOT NULL, name text NOT NULL,
    price numeric(12, 2), note text);

-- +downgrade
DROP SCHEMA big CASCADE;
EOF
	# One block of generated rows (quotes, commas, line breaks, UTF-8),
	# written again and again: streamed, never held whole.
	local rows
	rows=$(/usr/bin/python3 - big/seeds/b1/big.rows.csv "$BOUNDS_MIB" <<'EOF'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
words = ["alpha", "beta", "se\u00f1al", "caf\u00e9", 'quote"d', "comma,here", "x" * 20]
lines, size, i = [], 0, 0
while size < 1024 * 1024:
    i += 1
    note = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 8)))
    if i % 7 == 0:
        note += "\nsecond line"
    line = '%d,item %d,%d.%02d,"%s"\n' % (i, i, rnd.randint(0, 9999), rnd.randint(0, 99),
                                        note.replace('"', '""'))
    lines.append(line)
    size += len(line.encode())
block = "".join(lines).encode()
blocks = mib * 1024 * 1024 // len(block) + 1
with open(path, "wb") as f:
    f.write(b"id,name,price,note\n")
    for _ in range(blocks):
        f.write(block)
print(blocks * i)
EOF
)
	local size
	size=$(stat -c %s big/seeds/b1/big.rows.csv)
	[ "$size" -gt $((BOUNDS_MIB * 1024 * 1024)) ] || fail "seed is $size bytes"
	echo "bounds: seed $size bytes, $rows rows" | tee -a "$T_DIR/../bounds.txt"
	"$SB" -C big keygen hq > /dev/null
	measure "sqlbundle pack" "$SB" -C big pack --key keys/hq.key -o "$PWD/big.tar.zst"
	# The one copy goes: everything below reads the bundle.
	rm big/seeds/b1/big.rows.csv
	tar -tvf big.tar.zst | grep -q " $size .*seeds/0001_b1/big.rows.csv$" || fail "seed entry size"
	echo "bounds: bundle $(stat -c %s big.tar.zst) bytes" | tee -a "$T_DIR/../bounds.txt"
	measure "sqlbundle verify" "$SB" verify big.tar.zst --trust big/keys/hq.pub
	measure "sqlbundle-apply verify" "$SBA" verify big.tar.zst --trust big/keys/hq.pub
	new_db
	measure "sqlbundle-apply upgrade" "$SBA" upgrade big.tar.zst --trust big/keys/hq.pub
	grep -q 'upgraded b1 (1/1) in .* s, seed 2.0 GiB' err || [ "$BOUNDS_MIB" -ne 2048 ] ||
	    fail "no step line: $(cat err)"
	assert_eq "$(q 'SELECT count(*) FROM big.rows')" "$rows" "rows loaded"
	assert_eq "$(q "SELECT count(*) FROM big.rows WHERE note LIKE E'%\\nsecond line'")" "$(q 'SELECT count(*) FROM big.rows WHERE id % 7 = 0')"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" b1
	# Give the space back at once.
	unset PGDATABASE
	dropdb "$(echo "$T_NAME" | tr -c 'a-z0-9_\n' '_' | cut -c1-60)"
	rm -f big.tar.zst
}

# A small signed bundle in $PWD/good.tar.zst (key in p/keys); its plain
# tar in good.tar.
bomb_base() {
	mkdir -p p/revisions p/seeds/a1
	echo "project = bomb" > p/sqlbundle.conf
	printf -- '-- revision: a1\n\n-- +upgrade\nCREATE TABLE t (id int);\n\n-- +downgrade\nDROP TABLE t;\n' \
	    > p/revisions/a1_base.sql
	printf 'id\n1\n2\n' > p/seeds/a1/public.t.csv
	"$SB" -C p keygen hq > /dev/null
	"$SB" -C p pack --key keys/hq.key -o "$PWD/good.tar.zst" > /dev/null
	zstd -q -d -c good.tar.zst > good.tar
	export SQLBUNDLE_TRUST=$PWD/p/keys/hq.pub
}

# bomb OUT ENTRY GIB zstd|gzip: the good bundle up to ENTRY, then ENTRY
# with GIB GiB of zeros (really there, compressed), then the end marker.
# The zeros are one compressed 64 MiB frame or member repeated, so the
# bomb is built in a moment.
bomb() {
	local out=$1 entry=$2 gib=$3 comp=$4 i
	/usr/bin/python3 - good.tar "$entry" $((gib * 1024 * 1024 * 1024)) <<'EOF'
import sys, tarfile
src, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tarfile.open(src) as t:
    m = t.getmember(name)
    mtime = m.mtime
raw = open(src, "rb").read()
ti = tarfile.TarInfo(name)
ti.size, ti.mode, ti.mtime = size, 0o644, mtime
open("bomb.head", "wb").write(raw[:m.offset] + ti.tobuf(tarfile.USTAR_FORMAT))
EOF
	head -c $((64 * 1024 * 1024)) /dev/zero > zeros
	if [ "$comp" = zstd ]; then
		zstd -q -c bomb.head > "$out"
		zstd -q -19 -c zeros > zeros.c
	else
		gzip -n -c bomb.head > "$out"
		gzip -n -9 -c zeros > zeros.c
	fi
	for i in $(seq $((gib * 16))); do cat zeros.c; done >> "$out"
	head -c 1024 /dev/zero > tail.tar
	if [ "$comp" = zstd ]; then zstd -q -c tail.tar >> "$out"; else gzip -n -c tail.tar >> "$out"; fi
	rm -f zeros zeros.c bomb.head tail.tar
	echo "bounds: bomb $out: $gib GiB in $entry, $(stat -c %s "$out") bytes" | tee -a "$T_DIR/../bounds.txt"
}

# fast_base: FAST_SECS, a guard against a hang (not a benchmark) that
# grows with this machine's slowness: 5 s, or 50 times a whole verify of
# the small good bundle (which reads about as much as refusing a bomb at
# its header) when that is longer.
fast_base() {
	local t0 t1
	t0=$(date +%s.%N)
	expect_rc 0 "$SBA" verify good.tar.zst
	t1=$(date +%s.%N)
	FAST_SECS=$(awk -v t="$(secs "$t0" "$t1")" 'BEGIN { m = 50 * t; if (m < 5) m = 5; printf "%.3f", m }')
}

# refused_fast NAME TEXT CODE CMD...: CMD exits CODE saying TEXT, within
# FAST_SECS; the time is logged.
refused_fast() {
	local name=$1 text=$2 code=$3 t0 t1
	shift 3
	t0=$(date +%s.%N)
	expect_err "$code" "$text" "$@"
	t1=$(date +%s.%N)
	echo "bounds: $name refused in $(secs "$t0" "$t1") s (guard ${FAST_SECS} s)" | tee -a "$T_DIR/../bounds.txt"
	awk -v a="$t0" -v b="$t1" -v m="$FAST_SECS" 'BEGIN { exit !(b - a < m) }' ||
	    fail "$name took $(secs "$t0" "$t1") s"
}

test_decompression_bomb() {
	bomb_base
	fast_base
	local unpacked
	unpacked=$(tar -xOf good.tar.zst MANIFEST | sed -n 's/^Unpacked-Size: //p')
	[ "$unpacked" -lt 1000 ] || fail "Unpacked-Size $unpacked"

	# 4 GiB of zeros in a seed entry whose manifest allows a few bytes.
	bomb bomb.tar.zst seeds/0001_a1/public.t.csv 4 zstd
	[ "$(stat -c %s bomb.tar.zst)" -lt $((1024 * 1024)) ] || fail "the bomb is not small"
	# It really expands: the stream holds the 4 GiB.
	[ "$(zstd -q -d -c bomb.tar.zst | head -c $((5 * 1024 * 1024)) | wc -c)" -eq $((5 * 1024 * 1024)) ]
	local msg='entry "seeds/0001_a1/public.t.csv": size exceeds Unpacked-Size'
	refused_fast "sqlbundle verify (zstd seed bomb)" "$msg" 1 "$SB" verify bomb.tar.zst --trust "$SQLBUNDLE_TRUST"
	refused_fast "sqlbundle-apply verify (zstd seed bomb)" "$msg" 1 "$SBA" verify bomb.tar.zst
	new_db
	refused_fast "sqlbundle-apply upgrade (zstd seed bomb)" "$msg" 1 "$SBA" upgrade bomb.tar.zst
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'sqlbundle'")" 0
	assert_eq "$(q "SELECT to_regclass('public.t') IS NULL AND to_regclass('public.alembic_version') IS NULL")" t

	# A script entry, under gzip.
	bomb bomb.tar.gz upgrade/0001_a1.sql 2 gzip
	refused_fast "sqlbundle verify (gzip script bomb)" 'entry "upgrade/0001_a1.sql": size exceeds Unpacked-Size' 1 \
	    "$SB" verify bomb.tar.gz --trust "$SQLBUNDLE_TRUST"
	refused_fast "sqlbundle-apply upgrade (gzip script bomb)" 'entry "upgrade/0001_a1.sql": size exceeds Unpacked-Size' 1 \
	    "$SBA" upgrade bomb.tar.gz

	# The MANIFEST itself: 4 GiB where 1 MiB is the most, also for inspect.
	bomb mbomb.tar.zst MANIFEST 4 zstd
	refused_fast "sqlbundle verify (MANIFEST bomb)" 'MANIFEST is too large (4294967296 bytes, at most 1048576)' 1 \
	    "$SB" verify mbomb.tar.zst --trust "$SQLBUNDLE_TRUST"
	refused_fast "sqlbundle inspect (MANIFEST bomb)" 'MANIFEST is too large (4294967296 bytes, at most 1048576)' 1 \
	    "$SB" inspect mbomb.tar.zst
	refused_fast "sqlbundle-apply upgrade (MANIFEST bomb)" 'MANIFEST is too large (4294967296 bytes, at most 1048576)' 1 \
	    "$SBA" upgrade mbomb.tar.zst
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'sqlbundle'")" 0
	expect_rc 0 "$SBA" upgrade good.tar.zst
	assert_eq "$(q 'SELECT count(*) FROM t')" 2
}
