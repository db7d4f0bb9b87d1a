# Helpers for integration tests (sourced by run.sh). Each test function
# runs with `set -e` in its own empty folder ($T_DIR).
# Through json_collect.sh when run.sh set it up: --json output is kept.
SB=${SB_WRAP:-$SB_BIN}/sqlbundle
SBA=${SB_WRAP:-$SB_BIN}/sqlbundle-apply
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
# Sanitized builds: report leaks and errors, fail the program.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}

fail() {
	echo "FAILED: $*" >&2
	exit 1
}

# skip WHY: end the test as skipped; run.sh prints WHY. Only for a missing
# privilege (not root), never for a missing package: deps.sh installs those.
skip() {
	echo "$*"
	exit 77
}

# expect_rc CODE CMD...: run CMD, keep stdout in $T_DIR/out and stderr in
# $T_DIR/err, fail unless it exits with CODE.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "--- stdout"; cat "$T_DIR/out"
		echo "--- stderr"; cat "$T_DIR/err"
		fail "'$*' exited $rc, expected $want"
	fi
}

# expect_err CODE TEXT CMD...: exit CODE and TEXT (fixed string) in stderr.
expect_err() {
	local want=$1 text=$2
	shift 2
	expect_rc "$want" "$@"
	grep -qF -- "$text" "$T_DIR/err" || {
		echo "--- stderr"; cat "$T_DIR/err"
		fail "'$*': stderr lacks \"$text\""
	}
}

# assert_out TEXT: the last command's stdout holds TEXT.
assert_out() {
	grep -qF -- "$1" "$T_DIR/out" || {
		echo "--- stdout"; cat "$T_DIR/out"
		fail "stdout lacks \"$1\""
	}
}

assert_eq() {
	[ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"
}

# A fresh database for this test; exported as PGDATABASE.
new_db() {
	local name=${1:-$T_NAME}
	name=$(echo "$name" | tr -c 'a-z0-9_\n' '_' | cut -c1-60)
	dropdb --if-exists "$name" >/dev/null 2>&1 || true
	createdb "$name"
	export PGDATABASE=$name
}

# psql returning one unaligned value.
q() {
	psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"
}

# Schema dump without the random \restrict lines of pg_dump 15.14+.
schema_dump() {
	pg_dump --schema-only --no-owner "$@" | grep -v '^\\\(un\)\?restrict '
}

# A copy of the example project (revisions, seeds, config) in $1.
copy_example() {
	mkdir -p "$1"
	cp -r "$SB_ROOT/revisions" "$SB_ROOT/seeds" "$1/"
	# Unrehearsed, whatever `make demo` left in the tree.
	rm -f "$1/revisions/FINGERPRINTS"
	[ -f "$SB_ROOT/sqlbundle.conf" ] && cp "$SB_ROOT/sqlbundle.conf" "$1/"
	mkdir -p "$1/keys" "$1/bundles"
}

# Every user table: name, row count and a digest of its rows.
table_digest() {
	psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 <<'EOF'
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %I.%I t',
              n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sqlbundle')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
\gexec
EOF
}

# Seconds from $1 to $2 (date +%s.%N stamps), three decimals.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'
}

# Schema and data dump without the random \restrict lines.
full_dump() {
	pg_dump --no-owner "$@" | grep -v '^\\\(un\)\?restrict '
}

# audit BUNDLE PUB...: the auditor's recipe, taken word for word from the
# README, run by its own shell (so that its `set -e` holds) in a folder of
# its own on copies of BUNDLE and the PUBs (in its keys/). Output in
# $T_DIR/audit.out; returns the recipe's exit status.
audit() {
	local dir=$T_DIR/audit.$$.$RANDOM rc=0
	mkdir -p "$dir/keys"
	cp "$1" "$dir/bundle.tar.zst"
	shift
	cp "$@" "$dir/keys/"
	sed -n '/^## Auditing a bundle with stock tools/,/^## /p' \
	    "$SB_ROOT/README.md" | sed -n '/^```sh$/,/^```$/p' |
	    sed '1d;$d' >"$dir/recipe.sh"
	grep -q '^B=bundle.tar.zst KEYS=keys$' "$dir/recipe.sh" ||
		fail "no auditor recipe found in README.md"
	(cd "$dir" && sh recipe.sh) >"$T_DIR/audit.out" 2>&1 || rc=$?
	cat "$T_DIR/audit.out"
	return $rc
}

# resign BUNDLE KEY ENTRY FILE OUT: a copy of BUNDLE with ENTRY's data
# replaced by FILE's, the manifest updated (hash, Unpacked-Size) and signed
# again with KEY: what a compromised or careless HQ could ship.
resign() {
	local dir=$T_DIR/resign.$RANDOM
	mkdir "$dir"
	zstd -q -d -c "$1" > "$dir/in.tar"
	/usr/bin/python3 - "$dir" "$3" "$4" <<'EOF'
import hashlib, pickle, sys, tarfile
d, name, repl = sys.argv[1:4]
with tarfile.open(d + "/in.tar") as t:
    members = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
data = open(repl, "rb").read()
entries = [(n, data if n == name else b) for n, b in members[2:]]
head, body = members[0][1].decode().split("\n\n", 1)
old = dict(reversed(l.split("  ", 1)) for l in body.splitlines())
body = body.replace(old[name] + "  " + name,
                    hashlib.sha256(data).hexdigest() + "  " + name)
size = sum(len(b) for n, b in entries)
head = "\n".join("Unpacked-Size: %d" % size if l.startswith("Unpacked-Size: ")
                 else l for l in head.split("\n"))
open(d + "/MANIFEST", "w").write(head + "\n\n" + body)
pickle.dump(entries, open(d + "/entries", "wb"))
EOF
	openssl pkeyutl -sign -inkey "$2" -rawin -in "$dir/MANIFEST" -out "$dir/MANIFEST.sig"
	/usr/bin/python3 - "$dir" "$dir/out.tar" <<'EOF'
import io, pickle, sys, tarfile
d, out = sys.argv[1:3]
entries = [("MANIFEST", open(d + "/MANIFEST", "rb").read()),
           ("MANIFEST.sig", open(d + "/MANIFEST.sig", "rb").read())]
entries += pickle.load(open(d + "/entries", "rb"))
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    for name, data in entries:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
        t.addfile(ti, io.BytesIO(data))
EOF
	zstd -q -f "$dir/out.tar" -o "$5"
}

# wait_for COND: until the shell condition COND holds (checked every
# 50 ms). A condition, not a duration: the limit ($SB_WAIT_SECS, 300 s)
# only stops a test whose condition never comes.
wait_for() {
	local end=$((SECONDS + ${SB_WAIT_SECS:-300}))
	until eval "$1"; do
		[ "$SECONDS" -lt "$end" ] || fail "timed out waiting for: $1"
		sleep 0.05
	done
}

# hold_session SQL: a psql session of the test that ran SQL and stays
# open (its input is a fifo on fd 3) until release_session. Start other
# background programs with 3>&- so that only the test keeps it open.
hold_session() {
	rm -f "$T_DIR/hold"
	mkfifo "$T_DIR/hold"
	psql -X -q -At -v ON_ERROR_STOP=1 < "$T_DIR/hold" > "$T_DIR/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 3> "$T_DIR/hold"
	echo "$1" >&3
}

release_session() {
	exec 3>&-
	wait "$HOLD_PID" || true
}

# hold_advisory KEY: hold_session holding advisory lock KEY (< 2^32),
# returning once the lock is granted.
hold_advisory() {
	hold_session "SELECT pg_advisory_lock($1);"
	wait_for '[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = '"'advisory'"' AND objid = '"$1"' AND granted")" = 1 ]'
}

# measure_units CMD...: run CMD (an uninterrupted applier with --json)
# and set UNITS (its progress events: steps done, chunks committed) and
# UNIT_SECS (the time from its first event to its last, per event: what
# comes before the first, verifying and connecting, is not a unit).
measure_units() {
	local pid rc=0 line first="" last=""
	rm -f events
	mkfifo events
	"$@" > events 2> "$T_DIR/err" &
	pid=$!
	: > "$T_DIR/out"
	while IFS= read -r line; do
		printf '%s\n' "$line" >> "$T_DIR/out"
		case $line in
		*'"step_done"'* | *'"chunk"'*)
			last=$EPOCHREALTIME
			first=${first:-$last}
			;;
		esac
	done < events
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T_DIR/out" "$T_DIR/err"; fail "'$*' exited $rc"; }
	UNITS=$(grep -c '"step_done"\|"chunk"' "$T_DIR/out")
	[ "$UNITS" -gt 1 ] || fail "'$*': $UNITS progress events"
	UNIT_SECS=$(awk -v t="$(secs "$first" "$last")" -v n="$UNITS" 'BEGIN { printf "%.4f", t / (n - 1) }')
}

# run_killed N CMD...: run CMD (an applier with --json) and kill -9 it
# right after its Nth progress event, plus a delay drawn from [0,
# UNIT_SECS): the kill lands at a random point of the next unit of work,
# whatever the machine's speed. Sets RC (137 when killed, 0 when CMD
# finished first).
run_killed() {
	local n=$1 seen=0 pid line
	shift
	rm -f events
	mkfifo events
	"$@" > events 2> run.err &
	pid=$!
	exec 4< events
	while IFS= read -r line <&4; do
		case $line in
		*'"step_done"'* | *'"chunk"'*) seen=$((seen + 1)) ;;
		esac
		if [ "$seen" -ge "$n" ]; then
			sleep "$(awk -v u="$UNIT_SECS" -v r="$RANDOM" 'BEGIN { printf "%.4f", u * r / 32768 }')"
			kill -9 "$pid" 2> /dev/null || true
			break
		fi
	done
	RC=0
	wait "$pid" 2> /dev/null || RC=$?
	exec 4<&-
}

# kill_until WANT MAXEV CMD...: run_killed with 1..MAXEV events, again
# and again, until WANT kills happened (or a run finished first); sets
# KILLS and TRIES.
kill_until() {
	local want=$1 maxev=$2
	shift 2
	KILLS=0 TRIES=0
	while [ "$KILLS" -lt "$want" ]; do
		TRIES=$((TRIES + 1))
		run_killed $((RANDOM % maxev + 1)) "$@"
		case $RC in
		137) KILLS=$((KILLS + 1)) ;;
		0) break ;;
		*) cat run.err; fail "run $TRIES exited $RC" ;;
		esac
	done
}
