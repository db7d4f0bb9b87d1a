# Power can fail at any moment: an upgrade killed again and again (and a
# server restarted under it) ends, once rerun, exactly where an
# uninterrupted run ends.

RESUME_REVS=${RESUME_REVS:-80}
RESUME_SEED_KIB=${RESUME_SEED_KIB:-6144}
RESUME_CHUNK=32K

# The synthetic chain, packed once, in $PWD/chain.tar.zst.
chain_bundle() {
	"$SB_ROOT/tests/integration/gen_chain.sh" proj "$RESUME_REVS" "$RESUME_SEED_KIB"
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/chain.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# The reference: one uninterrupted run into database $1.
reference_run() {
	new_db "$1"
	expect_rc 0 "$SBA" upgrade chain.tar.zst
	schema_dump > ref.schema
	table_digest > ref.tables
	[ "$(wc -l < ref.tables)" -gt $((RESUME_REVS / 2)) ] || fail "too few tables: $(wc -l < ref.tables)"
}

# The current database equals the reference, and its bookkeeping shows
# each revision applied exactly once.
assert_like_reference() {
	schema_dump > got.schema
	diff ref.schema got.schema > schema.diff || { head -40 schema.diff; fail "schema differs"; }
	table_digest > got.tables
	diff ref.tables got.tables || fail "table contents differ"
	assert_eq "$(q "SELECT count(*) || ' ' || count(DISTINCT revision) || ' ' || bool_and(direction = 'upgrade') FROM sqlbundle.history")" \
	    "$RESUME_REVS $RESUME_REVS true" "history rows"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" "$(printf 'g%04d' "$RESUME_REVS")"
	assert_eq "$(q 'SELECT count(*) FROM pg_index WHERE NOT indisvalid')" 0 "invalid indexes"
}

test_resume_after_kills() {
	chain_bundle
	reference_run resume_ref
	new_db resume_killed
	local kills=0 tries=0 rc pid ms steps_seen
	while [ "$kills" -lt 60 ] && [ "$tries" -lt 300 ]; do
		tries=$((tries + 1))
		"$SBA" --wait --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst > run.out 2> run.err &
		pid=$!
		ms=$((RANDOM % 401))
		sleep "$(printf '0.%03d' "$ms")"
		if kill -9 "$pid" 2> /dev/null; then
			kills=$((kills + 1))
		fi
		rc=0
		wait "$pid" 2> /dev/null || rc=$?
		if [ "$rc" -ne 137 ] && [ "$rc" -ne 0 ]; then
			cat run.err
			fail "run $tries exited $rc"
		fi
		[ "$rc" -eq 0 ] && break
	done
	steps_seen=$(q "SELECT count(*) FROM sqlbundle.history" 2> /dev/null || echo 0)
	# Also beside the test's folder, which is removed when it passes.
	echo "resume: $kills kills in $tries runs; $steps_seen of $RESUME_REVS steps done before the final run" |
	    tee -a "$T_DIR/../kills.txt"
	[ "$kills" -ge 15 ] || fail "only $kills kills happened (the chain finished too soon)"
	expect_rc 0 "$SBA" --wait --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst
	assert_like_reference
}

test_resume_after_server_restart() {
	chain_bundle
	reference_run restart_ref
	new_db restart_killed
	local pid rc=0 i
	"$SBA" --chunk-size "$RESUME_CHUNK" --json upgrade chain.tar.zst > run.out 2> run.err &
	pid=$!
	# Restart while a seed file is half loaded (chunks committed).
	for i in $(seq 600); do
		[ "$(q "SELECT count(*) FROM sqlbundle.progress WHERE seed_offset > 0" 2> /dev/null)" = 1 ] && break
		sleep 0.01
	done
	"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR"
	wait "$pid" || rc=$?
	[ "$rc" -eq 3 ] || { cat run.err; fail "upgrade exited $rc, expected 3"; }
	grep -q 'connection to the database lost' run.err || fail "no lost-connection message: $(cat run.err)"
	grep -q 'HINT: run the same command again to resume' run.err || fail "no hint: $(cat run.err)"
	/usr/bin/python3 - run.out <<'EOF'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
assert events[-1]["event"] == "error" and events[-1]["code"] == 3, events[-1]
chunks = [e for e in events if e["event"] == "chunk"]
assert chunks and all(e["seed_file"].endswith("/01-gen.items.csv") for e in chunks), chunks[:3]
offsets = [e["seed_offset"] for e in chunks]
assert offsets == sorted(offsets) and offsets[0] > 0, offsets[:5]
EOF
	local done_before
	done_before=$(q 'SELECT count(*) FROM sqlbundle.history')
	[ "$done_before" -lt "$RESUME_REVS" ] || fail "the run had finished before the restart"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress WHERE seed_offset > 0')" 1 "chunks kept across the crash"
	expect_rc 0 "$SBA" --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst
	grep -q '^resuming upgrade g[0-9]*: seed file 1 of 3 (seeds/[0-9]*_g[0-9]*/01-gen.items.csv), byte [1-9]' err ||
	    fail "no resume line: $(cat err)"
	echo "restart: $done_before of $RESUME_REVS steps done before the crash" | tee -a "$T_DIR/../kills.txt"
	assert_like_reference
}

# Downgrades resume too: a killed downgrade to base, rerun, leaves the
# database as a fresh one plus the bookkeeping.
test_resume_downgrade() {
	RESUME_REVS=30 RESUME_SEED_KIB=512
	chain_bundle
	new_db resume_down
	expect_rc 0 "$SBA" upgrade chain.tar.zst
	local kills=0 tries=0 rc pid
	while [ "$kills" -lt 5 ] && [ "$tries" -lt 100 ]; do
		tries=$((tries + 1))
		"$SBA" --wait downgrade chain.tar.zst base > /dev/null 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' $((RANDOM % 151)))"
		kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
		rc=0
		wait "$pid" 2> /dev/null || rc=$?
		[ "$rc" -eq 0 ] && break
		[ "$rc" -eq 137 ] || fail "run $tries exited $rc"
	done
	expect_rc 0 "$SBA" --wait downgrade chain.tar.zst base
	echo "downgrade: $kills kills in $tries runs" | tee -a "$T_DIR/../kills.txt"
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'gen'")" 0
	assert_eq "$(q 'SELECT count(*) FROM alembic_version')" 0
	assert_eq "$(q "SELECT count(*) FILTER (WHERE direction = 'upgrade') || ' ' || count(*) FILTER (WHERE direction = 'downgrade') || ' ' || count(DISTINCT revision) FILTER (WHERE direction = 'downgrade') FROM sqlbundle.history")" "30 30 30"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
}
