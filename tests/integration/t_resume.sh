# Power can fail at any moment: an upgrade killed again and again (and a
# server restarted under it) ends, once rerun, exactly where an
# uninterrupted run ends. The kills and crashes hit parallel seed loads
# (--jobs 2) too; the restart holds a serial one between two chunks.

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

# The reference: one uninterrupted run into database $1, measured.
reference_run() {
	new_db "$1"
	measure_units "$SBA" --json --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst
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
	assert_eq "$(q "SELECT count(*) || ' ' || count(DISTINCT revision) || ' ' || bool_and(direction = 'upgrade') FROM sqlbundle.history WHERE outcome = 'done'")" \
	    "$RESUME_REVS $RESUME_REVS true" "history rows"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0 "progress rows"
	assert_eq "$(q 'SELECT version_num FROM alembic_version')" "$(printf 'g%04d' "$RESUME_REVS")"
	assert_eq "$(q 'SELECT count(*) FROM pg_index WHERE NOT indisvalid')" 0 "invalid indexes"
}

# A lost connection, in any of the words libpq or the server use.
LOST_WORDS='connection to the database lost|server closed the connection unexpectedly|terminating connection due to administrator command|no connection to the server'

test_resume_after_kills() {
	local want=20 steps_seen
	chain_bundle
	reference_run resume_ref
	# A killed run does at most 3 events' work and part of the next, so
	# the chain cannot finish before `want` kills.
	[ "$UNITS" -gt $((4 * want)) ] || fail "only $UNITS progress events in the chain"
	new_db resume_killed
	kill_until "$want" 3 "$SBA" --json --wait --chunk-size "$RESUME_CHUNK" --jobs 2 upgrade chain.tar.zst
	steps_seen=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")
	# Also beside the test's folder, which is removed when it passes.
	echo "resume: $KILLS kills in $TRIES runs ($UNITS events, ${UNIT_SECS}s each); $steps_seen of $RESUME_REVS steps done before the final run" |
	    tee -a "$T_DIR/../kills.txt"
	assert_eq "$KILLS" "$want" "kills before the chain finished"
	expect_rc 0 "$SBA" --wait --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst
	assert_like_reference
}

test_resume_after_server_restart() {
	chain_bundle
	reference_run restart_ref
	new_db restart_killed
	local pid rc=0
	"$SBA" --chunk-size "$RESUME_CHUNK" --jobs 1 --json upgrade chain.tar.zst > run.out 2> run.err 3>&- &
	pid=$!
	# Serially (a parallel load's chunks are t_jobs's), hold the applier
	# still between two chunks of the first seed: once
	# a chunk has committed, a session queues for an exclusive lock on
	# the seeded table, and the applier's next chunk waits behind it.
	wait_for '[ "$(q "SELECT count(*) FROM sqlbundle.progress WHERE seed_offset > 0" 2> /dev/null)" = 1 ]'
	hold_session "BEGIN; LOCK TABLE gen.items IN ACCESS EXCLUSIVE MODE;"
	wait_for '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'sqlbundle-apply'"' AND wait_event_type = '"'Lock'"'")" = 1 ]'
	# (Without fd 3: the restarted server must not keep the fifo open.)
	"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR" 3>&-
	release_session
	wait "$pid" || rc=$?
	[ "$rc" -eq 3 ] || { cat run.err; fail "upgrade exited $rc, expected 3"; }
	grep -Eq "$LOST_WORDS" run.err || fail "no lost-connection message: $(cat run.err)"
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
	done_before=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")
	[ "$done_before" -lt "$RESUME_REVS" ] || fail "the run had finished before the restart"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress WHERE seed_offset > 0')" 1 "chunks kept across the crash"
	expect_rc 0 "$SBA" --chunk-size "$RESUME_CHUNK" --jobs 1 upgrade chain.tar.zst
	grep -q '^resuming upgrade g[0-9]*: seed file 1 of 3 (seeds/[0-9]*_g[0-9]*/01-gen.items.csv), byte [1-9]' err ||
	    fail "no resume line: $(cat err)"
	echo "restart: $done_before of $RESUME_REVS steps done before the crash" | tee -a "$T_DIR/../kills.txt"
	assert_like_reference
}

# Downgrades resume too: a killed downgrade to base, rerun, leaves the
# database as a fresh one plus the bookkeeping.
test_resume_downgrade() {
	local want=5
	# A downgrade step takes about a millisecond and a kill lands a few
	# after its event (the shell forks awk and sleep): 100 steps leave
	# room for five kills.
	RESUME_REVS=100 RESUME_SEED_KIB=512
	chain_bundle
	new_db resume_down
	expect_rc 0 "$SBA" upgrade chain.tar.zst
	# The reference downgrade, measured, in a copy of the database.
	dropdb --if-exists resume_down_ref > /dev/null 2>&1 || true
	createdb -T resume_down resume_down_ref
	PGDATABASE=resume_down_ref measure_units "$SBA" --json downgrade chain.tar.zst base
	[ "$UNITS" -gt $((3 * want)) ] || fail "only $UNITS progress events in the downgrade"
	kill_until "$want" 2 "$SBA" --json --wait downgrade chain.tar.zst base
	echo "downgrade: $KILLS kills in $TRIES runs ($UNITS events, ${UNIT_SECS}s each)" | tee -a "$T_DIR/../kills.txt"
	assert_eq "$KILLS" "$want" "kills before the downgrade finished"
	expect_rc 0 "$SBA" --wait downgrade chain.tar.zst base
	assert_eq "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'gen'")" 0
	assert_eq "$(q 'SELECT count(*) FROM alembic_version')" 0
	assert_eq "$(q "SELECT count(*) FILTER (WHERE direction = 'upgrade') || ' ' || count(*) FILTER (WHERE direction = 'downgrade') || ' ' || count(DISTINCT revision) FILTER (WHERE direction = 'downgrade') FROM sqlbundle.history WHERE outcome = 'done'")" "$RESUME_REVS $RESUME_REVS $RESUME_REVS"
	assert_eq "$(q 'SELECT count(*) FROM sqlbundle.progress')" 0
}

# run_crashed N CMD...: run CMD (an applier with --json) and crash the
# server (pg_ctl stop -m immediate, then start) right after CMD's Nth
# progress event, plus a delay drawn from [0, UNIT_SECS) as in
# run_killed. Commits are asynchronous but the last: the crash can take
# back commits CMD already reported. Sets RC (3 when the connection was
# lost, 0 when CMD finished first) and SEEN (step_done events seen).
run_crashed() {
	local n=$1 seen=0 crashed=0 pid line
	shift
	rm -f events
	mkfifo events
	"$@" > events 2> run.err 3>&- &
	pid=$!
	exec 4< events
	SEEN=0
	while IFS= read -r line <&4; do
		case $line in
		*'"step_done"'*) SEEN=$((SEEN + 1)); seen=$((seen + 1)) ;;
		*'"chunk"'*) seen=$((seen + 1)) ;;
		esac
		if [ "$crashed" = 0 ] && [ "$seen" -ge "$n" ]; then
			sleep "$(awk -v u="$UNIT_SECS" -v r="$RANDOM" 'BEGIN { printf "%.4f", u * r / 32768 }')"
			"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR" 3>&- 4<&-
			crashed=1
		fi
	done
	RC=0
	wait "$pid" 2> /dev/null || RC=$?
	exec 4<&-
}

# The server crashes at random points of asynchronous runs: each rerun
# starts from what survived (a prefix of the commits), and the last one
# ends exactly where an uninterrupted run ends.
test_resume_after_server_crashes() {
	local want=4 crashes=0 tries=0 before after lost=0
	chain_bundle
	reference_run crash_ref
	new_db crash_killed
	while [ "$crashes" -lt "$want" ]; do
		tries=$((tries + 1))
		[ "$tries" -le $((want * 3)) ] || fail "only $crashes crashes in $tries runs"
		before=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'" 2> /dev/null || echo 0)
		run_crashed $((RANDOM % (UNITS / want + 1) + 1)) "$SBA" --json --chunk-size "$RESUME_CHUNK" --jobs 2 upgrade chain.tar.zst
		case $RC in
		3)
			crashes=$((crashes + 1))
			grep -Eq "$LOST_WORDS" run.err || fail "no lost-connection message: $(cat run.err)"
			after=$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done'")
			# What the run reported done and the crash took back.
			[ $((before + SEEN)) -gt "$after" ] && lost=$((lost + before + SEEN - after))
			;;
		0) break ;;
		*) cat run.err; fail "run $tries exited $RC" ;;
		esac
	done
	echo "server crashes: $crashes in $tries runs; $lost reported steps taken back by the crashes" |
	    tee -a "$T_DIR/../kills.txt"
	expect_rc 0 "$SBA" --chunk-size "$RESUME_CHUNK" upgrade chain.tar.zst
	assert_like_reference
	# The last commit is synchronous: a crash now loses nothing.
	"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR" 3>&-
	assert_like_reference
}
