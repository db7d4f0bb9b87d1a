# What a person sees while a seed loads: a live line on a terminal, plain
# lines elsewhere (at most every --progress-interval seconds), totals in
# the JSON chunk events. Driven by the load's own events and sizes.

# Revision a creates s; b seeds it with 20000 rows (600 KB, about 10
# chunks of 64 KiB). SEED_BYTES is the seed's size.
seed_project() {
	mkdir -p proj/revisions proj/keys proj/bundles proj/seeds/b
	echo "project = prog" > proj/sqlbundle.conf
	printf -- '-- revision: a\n-- message: s\n\n-- +upgrade\nCREATE TABLE s (id int PRIMARY KEY, v text);\n\n-- +downgrade\nDROP TABLE s;\n' \
	    > proj/revisions/a_s.sql
	printf -- '-- revision: b\n-- down_revision: a\n-- message: fill s\n\n-- +upgrade\nSELECT 1;\n' \
	    > proj/revisions/b_fill.sql
	/usr/bin/python3 -c '
print("id,v")
for i in range(1, 20001):
    print("%d,value-%018d" % (i, i))' > proj/seeds/b/public.s.csv
	SEED_BYTES=$(stat -c %s proj/seeds/b/public.s.csv)
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/seed.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

test_log_lines() {
	seed_project
	new_db
	expect_rc 0 "$SBA" --progress-interval 0 --chunk-size 64K --jobs 1 upgrade seed.tar.zst
	grep '^upgrade 2/2 b: seed ' "$T_DIR/err" > lines || fail "no progress line: $(cat "$T_DIR/err")"
	# Every line is the same sentence; the bytes only grow, up to all.
	grep -Evx 'upgrade 2/2 b: seed [0-9.]+ of 594\.6 KiB \([0-9]+%\), ([0-9.]+ [KMG]?i?B|-)/s, ETA [0-9:-]+, elapsed [0-9]+:[0-9]{2}' lines &&
	    fail "a line of another form"
	sed -E 's/^upgrade 2\/2 b: seed ([0-9.]+) of.*/\1/' lines | sort -n -c || fail "bytes went back: $(cat lines)"
	tail -n 1 lines | grep -q ': seed 594\.6 of 594\.6 KiB (100%)' || fail "the last line: $(tail -n 1 lines)"
	assert_eq "$SEED_BYTES" 608899 "seed size"
	# The default interval: a load shorter than 10 s prints no such line.
	new_db progress_default
	local t0 t1
	t0=$(date +%s.%N)
	expect_rc 0 "$SBA" --chunk-size 64K --jobs 1 upgrade seed.tar.zst
	t1=$(date +%s.%N)
	assert_eq "$(grep -c '^upgrade 2/2 b: seed ' "$T_DIR/err")" \
	    "$(awk -v s="$(secs "$t0" "$t1")" 'BEGIN { print int(s / 10) }')" "lines at most every 10 s"
	grep -qx 'upgraded b (2/2) in .* s, seed 594.6 KiB' "$T_DIR/err"
	expect_err 2 'invalid --progress-interval "x": expected whole seconds, 0 to 86400' \
	    "$SBA" --progress-interval x status
}

test_json_totals() {
	seed_project
	new_db
	expect_rc 0 "$SBA" --json --chunk-size 64K --jobs 1 upgrade seed.tar.zst
	/usr/bin/python3 - "$T_DIR/out" "$SEED_BYTES" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
chunks = [e for e in events if e["event"] == "chunk"]
assert len(chunks) >= 8, len(chunks)
assert all(e["bytes_total"] == int(sys.argv[2]) for e in chunks), chunks[0]
done = [e["bytes_done"] for e in chunks]
assert done == sorted(done) and done[-1] < int(sys.argv[2]), done
assert all(e["bytes_done"] == e["seed_offset"] for e in chunks), chunks[:2]
EOF
}

test_terminal_line() {
	seed_project
	new_db
	# script(1) gives the applier a terminal; its output is what one shows.
	script -qec "$SB_BIN/sqlbundle-apply --chunk-size 64K --jobs 1 upgrade seed.tar.zst" /dev/null > tty.out
	tr '\r' '\n' < tty.out > tty.lines
	grep -Eq '^upgrade 2/2 b  seed 0\.0/594\.6 KiB +0%  -/s  ETA -:--  elapsed [0-9]+:[0-9]{2} *$' tty.lines ||
	    fail "no live line: $(cat -A tty.out)"
	grep -q 'database at b after 2 upgrades' tty.lines
	# Redrawn in place: carriage returns, no line per step.
	grep -q "$(printf '\r')upgrade 2/2 b  seed" tty.out || fail "not redrawn in place"
}
