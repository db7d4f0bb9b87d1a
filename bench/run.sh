#!/usr/bin/env bash
# `make bench`: sqlbundle side by side with stock tools (psql, zstd, tar,
# sha256sum, Alembic) on generated chains and seed data, against a
# throwaway PostgreSQL started here. Writes bench/RESULTS.md,
# bench/apply-vs-chain.png and bench/seed-vs-jobs.png; raw figures stay in
# .tmp/bench/results/.
#
# Sizes and counts come from the environment (defaults in brackets):
#   BENCH_REVS [1000]        revisions applied (no seeds)
#   BENCH_PLOT_REVS [100 300 1000]  chain lengths of the plot
#   BENCH_SEED_MB [256]      CSV loaded by the seed-load comparison
#   BENCH_VERIFY_MB [1024]   seed data in the verify and pack bundle
#   BENCH_RSS_MB [64 2048]   seed sizes for peak RSS of pack, verify, apply
#   BENCH_RUNS [5]           runs of each comparison, interleaved A B A B
#   BENCH_PLOT_RUNS [3]      runs of each extra chain length of the plot
#   BENCH_NONTX_EVERY [100]  every Kth revision is transactional: false
#   BENCH_QUICK=1            tiny sizes and 3 runs (a couple of minutes)
#   BENCH_IMPORT_REVS [500]  revisions of the `sqlbundle import alembic` bench
#   BENCH_SHAPES_MB [32]     CSV of each seed shape (wide text, jsonb, foreign
#                            keys, composite key, defaults), bench/gen_shapes.py
#   BENCH_SHAPES_FILES [200] files of the shape of many small files
#   BENCH_JOBS_N [1 2 4]     `sqlbundle-apply upgrade --jobs N` of the jobs bench
#                            (the BENCH_SEED_MB catalog), when the build has it
#   BENCH_FP_TABLES [500]    tables of the schema `sqlbundle-apply fingerprint`
#                            describes (bench/gen_fp_schema.py)
#   BENCH_ONLY               a subset of: apply seed shapes jobs verify pack rss
#                            plot import fingerprint locks
#   BENCH_LOCK_HOLD [3]      seconds the blocker of the locks bench holds its
#                            lock while an update waits behind it
#   BENCH_PGPORT [54347]     port of the throwaway server (unix socket)
#   BENCH_DIR [.tmp/bench]   generated data, bundles, server, results
#   BENCH_OUT [bench]        where RESULTS.md and the plot go
#   BENCH_MACHINE [shared]   "quiet" when nothing else ran on the machine
#   SB_BIN [bin, or $B from make]  folder of sqlbundle and sqlbundle-apply
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=/usr/bin/python3
# PostgreSQL's own client programs, not Debian's wrappers: /usr/bin/psql is
# a Perl script that costs about 0.1 s per start, which would be charged
# to the anchor.
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -n "$PGBIN" ] && export PATH=$PGBIN:$PATH
[ -x "$PY" ] || PY=python3

# What the caller set, for the "command" line of the report.
given=$(env | grep -E '^(BENCH_[A-Z_]+|SB_BIN|PGBIN)=' | sort | tr '\n' ' ' || true)
if [ -n "${MAKELEVEL:-}" ]; then
	given="${given}make bench${B:+ B=$B}"
else
	given="${given}bench/run.sh"
fi

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_REVS:=60}" "${BENCH_PLOT_REVS:=20 40 60}"
	: "${BENCH_SEED_MB:=8}" "${BENCH_VERIFY_MB:=32}"
	: "${BENCH_RSS_MB:=4 32}" "${BENCH_RUNS:=3}" "${BENCH_PLOT_RUNS:=3}"
	: "${BENCH_NONTX_EVERY:=20}" "${BENCH_SHAPES_MB:=2}"
fi
REVS=${BENCH_REVS:-1000}
PLOT_REVS=${BENCH_PLOT_REVS:-100 300 1000}
SEED_MB=${BENCH_SEED_MB:-256}
VERIFY_MB=${BENCH_VERIFY_MB:-1024}
RSS_MB=${BENCH_RSS_MB:-64 2048}
RUNS=${BENCH_RUNS:-5}
PLOT_RUNS=${BENCH_PLOT_RUNS:-3}
NONTX_EVERY=${BENCH_NONTX_EVERY:-100}
SHAPES_MB=${BENCH_SHAPES_MB:-32}
SHAPES_FILES=${BENCH_SHAPES_FILES:-200}
JOBS_N=${BENCH_JOBS_N:-1 2 4}
ONLY=${BENCH_ONLY:-apply seed shapes jobs verify pack rss plot import fingerprint locks}
FP_TABLES=${BENCH_FP_TABLES:-500}
LOCK_HOLD=${BENCH_LOCK_HOLD:-3}
IMPORT_REVS=${BENCH_IMPORT_REVS:-500}
PGPORT_BENCH=${BENCH_PGPORT:-54347}
work=${BENCH_DIR:-$root/.tmp/bench}
out=${BENCH_OUT:-$root/bench}
machine=${BENCH_MACHINE:-shared}
if [ -n "${SB_BIN:-}" ]; then
	bin=$SB_BIN
elif [ -n "${B:-}" ]; then
	case $B in /*) bin=$B ;; *) bin=$root/$B ;; esac
else
	bin=$root/bin
fi
[ -d "$bin" ] && bin=$(cd "$bin" && pwd)
SB=$bin/sqlbundle
SBA=$bin/sqlbundle-apply
export SOURCE_DATE_EPOCH=1700000000

res=$work/results
logs=$work/logs
bundles=$work/bundles
mkdir -p "$work" "$res" "$logs" "$bundles"
rm -f "$logs"/*.log
# The server runs as "postgres" and must reach its folder.
[ "$(id -u)" -eq 0 ] && chmod 755 "$root/.tmp" "$work"
: >"$res/times.tsv"
: >"$res/rss.tsv"
: >"$res/meta.tsv"
: >"$res/locks.tsv"
: >"$res/notes.txt"
failures=0
t_start=$EPOCHREALTIME

log() { printf 'bench [%4ss]: %s\n' "$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')" "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
meta() { printf '%s\t%s\n' "$1" "$2" >>"$res/meta.tsv"; }
note() { echo "$*" >>"$res/notes.txt"; log "note: $*"; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }
fail() { failures=$((failures + 1)); note "FAILED: $*"; }

for tool in psql createdb dropdb pg_dump zstd tar sha256sum awk; do
	command -v "$tool" >/dev/null || die "$tool is missing (run scripts/deps.sh)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
have_sb=1
for p in "$SB" "$SBA"; do
	[ -x "$p" ] || { note "$p is missing: build it first (make)"; have_sb=0; }
done
# sqlbundle-apply upgrade --jobs N: parallel load of a CSV's chunks.
have_jobs=0
[ "$have_sb" = 1 ] && "$SBA" --help 2>/dev/null | grep -q -- --jobs && have_jobs=1
have_alembic=0
if command -v alembic >/dev/null && dpkg-query -W -f='${Status}' alembic 2>/dev/null |
    grep -q 'ok installed'; then
	have_alembic=1
fi

# -- timing ---------------------------------------------------------------

# run_timed LOG CMD...: run CMD (stdout and stderr to LOG), leave the
# wall-clock seconds in $secs and the exit status in $rc.
secs='' rc=''
run_timed() {
	local logf=$1 t0 t1
	shift
	rc=0
	t0=$EPOCHREALTIME
	"$@" >"$logf" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
}

# record BENCH SIDE RUN: append the last run_timed (rc may have been
# changed by a check since).
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$secs" "$rc" >>"$res/times.tsv"
	if [ "$rc" -ne 0 ]; then
		fail "$1 $2 run $3 exited $rc, log: ${logs#"$root"/}/$1-$2-$3.log"
		tail -n 5 "$logs/$1-$2-$3.log" | sed 's/^/    | /' >&2
	fi
}

# rss_of KEY LOG CMD...: peak RSS of CMD in KiB (/usr/bin/time -f %M).
rss_of() {
	local key=$1 logf=$2 kib
	shift 2
	rc=0
	/usr/bin/time -f %M -o "$work/rss.out" "$@" >"$logf" 2>&1 || rc=$?
	kib=$(tail -n 1 "$work/rss.out")
	printf '%s\t%s\n' "$key" "$kib	$rc" >>"$res/rss.tsv"
	[ "$rc" -eq 0 ] || fail "$key exited $rc, log: ${logf#"$root"/}"
	log "peak RSS $key: $kib KiB"
}

# Before each timed run: dirty pages written out, so one run's writeback
# does not land in the next one's time.
settle() { sync; }

# -- the server -----------------------------------------------------------

pgdir=$work/pg
export SB_PGPORT=$PGPORT_BENCH
pg_started=0
stop_pg() {
	[ "$pg_started" = 1 ] && "$root/scripts/pgserver.sh" stop "$pgdir"
	pg_started=0
}
trap stop_pg EXIT
trap 'stop_pg; exit 130' INT TERM

start_pg() {
	local env_line
	env_line=$("$root/scripts/pgserver.sh" start "$pgdir") ||
		die "could not start PostgreSQL in $pgdir"
	pg_started=1
	eval "$env_line"
	unset PGDATABASE
	log "PostgreSQL on $PGHOST port $PGPORT"
}

fresh_db() {
	dropdb --if-exists "$1" >/dev/null 2>&1 || true
	createdb -T template0 "$1"
	psql -X -q -d postgres -c CHECKPOINT
	settle
}
drop_db() { dropdb --if-exists "$1" >/dev/null 2>&1 || true; }

db_head() {
	psql -X -At -d "$1" -c \
	    "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version" \
	    2>/dev/null || echo "(no version table)"
}

# check_head DB WANT: the run reached WANT, else rc=98.
check_head() {
	local got
	got=$(db_head "$1")
	if [ "$got" != "$2" ]; then
		note "$1: version table holds '$got', expected '$2'"
		rc=98
	fi
}

schema_dump() {
	pg_dump --schema-only --no-owner --exclude-schema=sqlbundle -d "$1" |
	    grep -v '^\\\(un\)\?restrict '
}

# -- generated data and bundles -------------------------------------------

chain=$work/chain
keyring=$work/keyring
key=$keyring/keys/bench.key
pub=$keyring/keys/bench.pub

gen_chain() {
	log "generating a chain of $REVS revisions"
	"$PY" bench/gen_chain.py --out "$chain" --revs "$REVS" \
	    --lengths "$(for n in $PLOT_REVS; do [ "$n" -le "$REVS" ] && echo "$n"; done | tr '\n' ' ')" \
	    --nontx-every "$NONTX_EVERY"
}

gen_seed() {	# gen_seed MB: the project folder on stdout
	local d=$work/seed-$1
	log "generating $1 MiB of catalog CSV in ${d#"$root"/}"
	"$PY" bench/gen_seed.py --out "$d" --mb "$1" >&2
	echo "$d"
}

csv_bytes() { cat "$1"/seeds/*/*.csv | wc -c; }

keygen() {
	[ -f "$key" ] && return 0
	mkdir -p "$keyring"
	"$SB" -C "$keyring" keygen bench >"$logs/keygen.log" 2>&1 ||
		{ cat "$logs/keygen.log" >&2; fail "sqlbundle keygen"; return 1; }
}

# pack_bundle PROJECT OUT [ARGS...]: untimed set-up pack.
pack_bundle() {
	local proj=$1 dst=$2
	shift 2
	rm -f "$dst"
	if ! "$SB" -C "$proj" pack --key "$key" -o "$dst" "$@" \
	    >"$logs/pack-$(basename "$dst").log" 2>&1; then
		fail "sqlbundle pack of ${proj#"$root"/} $*: see ${logs#"$root"/}/pack-$(basename "$dst").log"
		tail -n 5 "$logs/pack-$(basename "$dst").log" | sed 's/^/    | /' >&2
		rm -f "$dst"
		return 1
	fi
}

# -- the comparisons ------------------------------------------------------

apply_sides="ours psql floor"
[ "$have_alembic" = 1 ] && apply_sides="$apply_sides alembic"

# apply_once N RUN SIDE: one side of the apply comparison on a fresh db.
apply_once() {
	local n=$1 run=$2 side=$3 db=bench_apply_$3 head bench=apply-$1
	head=$(sed -n "${n}p" "$chain/ids")
	fresh_db "$db"
	case $side in
	ours)
		[ -f "$bundles/chain-$n.tar.zst" ] || return 0
		PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
		    "$SBA" upgrade "$bundles/chain-$n.tar.zst" --trust "$pub" -q ;;
	psql)
		PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
		    psql -X -q -v ON_ERROR_STOP=1 -f "$chain/psql/per-rev-$n.sql" ;;
	floor)
		PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
		    psql -X -q -1 -v ON_ERROR_STOP=1 -f "$chain/psql/floor-$n.sql" ;;
	alembic)
		PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
		    alembic -c "$chain/alembic/alembic.ini" upgrade "$head" ;;
	esac
	[ "$rc" -eq 0 ] && check_head "$db" "$head"
	record "$bench" "$side" "$run"
	# The first run of each side: the same schema as psql's, or a note.
	if [ "$run" = 1 ] && [ "$rc" -eq 0 ]; then
		schema_dump "$db" >"$work/schema-$n-$side.sql"
		if [ "$side" != psql ] && [ -f "$work/schema-$n-psql.sql" ]; then
			if cmp -s "$work/schema-$n-psql.sql" "$work/schema-$n-$side.sql"; then
				meta "schema-$n-$side" same
			else
				meta "schema-$n-$side" differs
				note "apply $n: the schema after $side differs from psql's (diff ${work#"$root"/}/schema-$n-psql.sql ${work#"$root"/}/schema-$n-$side.sql)"
			fi
		fi
	fi
	drop_db "$db"
}

bench_apply() {	# bench_apply N RUNS
	local n=$1 runs=$2 run side
	log "apply $n revisions: $runs runs of: $apply_sides"
	for run in $(seq 1 "$runs"); do
		# psql first in the first run, so the others' schemas compare to it.
		for side in psql ours floor alembic; do
			[[ " $apply_sides " == *" $side "* ]] || continue
			apply_once "$n" "$run" "$side"
		done
		log "apply $n: run $run done"
	done
}

# bench_load BENCH PROJECT BUNDLE SIDES: RUNS runs of a seed load,
# interleaved in the order of SIDES, each on a fresh database. Sides:
# "psql" runs PROJECT/psql-load.sql (\copy), "ours" applies BUNDLE, "jN"
# applies it with --jobs N. Every run must end at PROJECT/head; the first
# run of each side records PROJECT/rows.sql's row counts as meta
# BENCH-rows-SIDE.
bench_load() {
	local bench=$1 proj=$2 b=$3 sides=$4 warm=${5:-} run side db head
	local -a jobs
	db=bench_${bench//-/_}
	head=$(cat "$proj/head")
	log "$bench: $RUNS runs of: $sides"
	for run in $(seq 1 "$RUNS"); do
		for side in $sides; do
			fresh_db "$db"
			[ -n "$warm" ] && warm_db "$db" "$side" "$proj" "$b"
			case $side in
			psql)
				PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
				    psql -X -q -v ON_ERROR_STOP=1 -f "$proj/psql-load.sql" ;;
			*)
				[ -f "$b" ] || { drop_db "$db"; continue; }
				jobs=()
				[[ $side == j[0-9]* ]] && jobs=(--jobs "${side#j}")
				PGDATABASE=$db run_timed "$logs/$bench-$side-$run.log" \
				    "$SBA" upgrade "$b" --trust "$pub" -q "${jobs[@]}" ;;
			esac
			[ "$rc" -eq 0 ] && check_head "$db" "$head"
			record "$bench" "$side" "$run"
			if [ "$run" = 1 ] && [ "$rc" -eq 0 ]; then
				meta "$bench-rows-$side" "$(psql -X -At -d "$db" -f "$proj/rows.sql")"
			fi
			drop_db "$db"
		done
		log "$bench: run $run done"
	done
}

# warm_db DB SIDE PROJ BUNDLE, untimed: the database as at a store after
# its first bundle. Ours: the bookkeeping tables (an upgrade to base runs
# no step); psql: its version table.
warm_db() {
	if [ "$2" = psql ]; then
		psql -X -q -d "$1" -c "$(sed -n '1,/;/p' "$3/psql-load.sql")"
	else
		PGDATABASE=$1 "$SBA" upgrade "$4" base --trust "$pub" -q
	fi
	psql -X -q -d postgres -c CHECKPOINT
	settle
}

# The seed shapes (bench/gen_shapes.py), each ours against psql \copy:
# times.tsv benches "shape-NAME"; the many small files also as
# "shape-small-warm", on a database that holds the bookkeeping already.
bench_shapes() {
	local d=$work/shapes-$SHAPES_MB shape proj b
	log "generating the seed shapes, $SHAPES_MB MiB each, in ${d#"$root"/}"
	"$PY" bench/gen_shapes.py --out "$d" --mb "$SHAPES_MB" \
	    --small-files "$SHAPES_FILES" >&2
	meta shapes-mb "$SHAPES_MB"
	for proj in "$d"/*/; do
		proj=${proj%/}
		shape=$(basename "$proj")
		b=$bundles/shape-$shape.tar.zst
		meta "shape-$shape-files" "$(ls "$proj"/seeds/*/*.csv | wc -l)"
		meta "shape-$shape-bytes" "$(csv_bytes "$proj")"
		if [ "$have_sb" = 1 ] && [ -f "$key" ]; then
			pack_bundle "$proj" "$b" || true
		fi
		bench_load "shape-$shape" "$proj" "$b" "ours psql"
		if [ "$shape" = small ]; then
			meta "shape-small-warm-files" "$(ls "$proj"/seeds/*/*.csv | wc -l)"
			meta "shape-small-warm-bytes" "$(csv_bytes "$proj")"
			bench_load "shape-small-warm" "$proj" "$b" "ours psql" warm
		fi
		rm -f "$b"
	done
}

# Speed of the building blocks on this machine, for the reader of the
# figures: SHA-256 in coreutils and in OpenSSL, zstd -3 one thread.
calibrate() {
	local f=$1 mib
	mib=$(awk -v n="$(stat -c %s "$f")" 'BEGIN { printf "%.3f", n / 1048576 }')
	cat "$f" >/dev/null
	run_timed "$logs/calibrate.log" sha256sum "$f"
	meta speed-sha256sum "$(awk -v m="$mib" -v s="$secs" 'BEGIN { printf "%.0f", m / s }')"
	run_timed "$logs/calibrate.log" openssl dgst -sha256 "$f"
	meta speed-openssl-sha256 "$(awk -v m="$mib" -v s="$secs" 'BEGIN { printf "%.0f", m / s }')"
	run_timed "$logs/calibrate.log" sh -c 'zstd -3 -c "$1" >/dev/null' sh "$f"
	meta speed-zstd3 "$(awk -v m="$mib" -v s="$secs" 'BEGIN { printf "%.0f", m / s }')"
}

bench_verify() {
	local b=$bundles/verify.tar.zst run
	[ -f "$b" ] || return 0
	log "verify $VERIFY_MB MiB: $RUNS runs of: ours ours-apply zstd"
	cat "$b" >/dev/null
	for run in $(seq 1 "$RUNS"); do
		settle
		run_timed "$logs/verify-ours-$run.log" "$SB" verify "$b" --trust "$pub"
		record verify ours "$run"
		settle
		run_timed "$logs/verify-zstd-$run.log" \
		    sh -c 'zstd -dc "$1" | sha256sum' sh "$b"
		record verify zstd "$run"
		settle
		run_timed "$logs/verify-ours-apply-$run.log" \
		    "$SBA" verify "$b" --trust "$pub"
		record verify ours-apply "$run"
	done
}

bench_pack() {
	local proj=$1 run o1=$work/pack-ours.tar.zst o2=$work/pack-tar.tar.zst
	log "pack $VERIFY_MB MiB: $RUNS runs of: ours tar"
	cat "$proj"/seeds/*/* "$proj"/revisions/* >/dev/null
	for run in $(seq 1 "$RUNS"); do
		rm -f "$o1" "$o2"
		settle
		run_timed "$logs/pack-ours-$run.log" \
		    "$SB" -C "$proj" pack --key "$key" -o "$o1"
		record pack ours "$run"
		rm -f "$o1"
		settle
		run_timed "$logs/pack-tar-$run.log" sh -c '
			cd "$1" && tar --zstd -cf "$2" sqlbundle.conf revisions seeds &&
			sha256sum revisions/* seeds/*/* >"$2.sha256"' sh "$proj" "$o2"
		record pack tar "$run"
		rm -f "$o2" "$o2.sha256"
	done
}

bench_rss() {	# bench_rss MB
	local mb=$1 proj b db=bench_rss
	proj=$(gen_seed "$mb")
	meta "rss-csv-bytes-$mb" "$(csv_bytes "$proj")"
	b=$bundles/rss-$mb.tar.zst
	rm -f "$b"
	settle
	rss_of "pack $mb" "$logs/rss-pack-$mb.log" \
	    "$SB" -C "$proj" pack --key "$key" -o "$b"
	[ -f "$b" ] || return 0
	meta "rss-bundle-bytes-$mb" "$(stat -c %s "$b")"
	rss_of "verify $mb" "$logs/rss-verify-$mb.log" \
	    "$SB" verify "$b" --trust "$pub"
	rss_of "apply-verify $mb" "$logs/rss-apply-verify-$mb.log" \
	    "$SBA" verify "$b" --trust "$pub"
	fresh_db "$db"
	PGDATABASE=$db rss_of "apply $mb" "$logs/rss-apply-$mb.log" \
	    "$SBA" upgrade "$b" --trust "$pub" -q
	drop_db "$db"
	if [ "$have_jobs" = 1 ]; then
		fresh_db "$db"
		PGDATABASE=$db rss_of "apply-jobs4 $mb" "$logs/rss-apply-jobs4-$mb.log" \
		    "$SBA" upgrade "$b" --trust "$pub" -q --jobs 4
		drop_db "$db"
	fi
	rm -f "$b"
}

# -- main -----------------------------------------------------------------

meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta command "$given"
meta quick "${BENCH_QUICK:-0}"
meta machine "$machine"
meta revs "$REVS"
meta plot-revs "$PLOT_REVS"
meta seed-mb "$SEED_MB"
meta verify-mb "$VERIFY_MB"
meta rss-mb "$RSS_MB"
meta runs "$RUNS"
meta plot-runs "$PLOT_RUNS"
meta nontx-every "$NONTX_EVERY"
meta only "$ONLY"
meta jobs-n "$JOBS_N"
meta jobs-available "$have_jobs"
meta alembic "$have_alembic"
meta cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores"
meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), Linux $(uname -r)"
meta filesystem "$(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }')"
meta load-start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta git "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain -- src include 2>/dev/null | grep -q . && echo ' + uncommitted changes in src/ or include/')"
meta tools "$(zstd -V | sed 's/^\*\*\* //; s/, by.*//'); $(tar --version | head -n 1); $(psql --version) ($(command -v psql)); alembic $(dpkg-query -W -f='${Version}' alembic 2>/dev/null || echo none); SQLAlchemy $(dpkg-query -W -f='${Version}' python3-sqlalchemy 2>/dev/null || echo '?')"
if [ "$have_sb" = 1 ]; then
	meta sqlbundle "$("$SB" --version 2>/dev/null | head -n 1) ($SB)"
fi

gen_chain
meta chain-sql-bytes "$(cat "$chain"/project/revisions/*.sql | wc -c)"
start_pg
meta postgres "$(psql -X -At -d postgres -c 'SHOW server_version')"
meta pg-settings "$(psql -X -At -F '=' -d postgres -c "
    SELECT name, setting || coalesce(unit, '') FROM pg_settings
     WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit',
       'wal_level', 'full_page_writes', 'max_wal_size', 'checkpoint_timeout',
       'wal_buffers', 'work_mem', 'maintenance_work_mem', 'max_connections',
       'autovacuum', 'wal_compression')
     ORDER BY name" | tr '\n' ' ')"

if [ "$have_sb" = 1 ] && keygen; then
	for n in $PLOT_REVS $REVS; do
		[ "$n" -le "$REVS" ] || continue
		[ -f "$bundles/chain-$n.tar.zst" ] && [ "$bundles/chain-$n.tar.zst" -nt "$chain/.stamp" ] && continue
		pack_bundle "$chain/project" "$bundles/chain-$n.tar.zst" \
		    --to "$(sed -n "${n}p" "$chain/ids")" || true
	done
fi

if wants apply; then
	bench_apply "$REVS" "$RUNS"
fi

if wants seed || wants jobs; then
	proj=$(gen_seed "$SEED_MB")
	meta seed-csv-bytes "$(csv_bytes "$proj")"
	if [ "$have_sb" = 1 ] && [ -f "$key" ]; then
		pack_bundle "$proj" "$bundles/seed.tar.zst" || true
	fi
	wants seed && bench_load seed "$proj" "$bundles/seed.tar.zst" "ours psql"
	if wants jobs; then
		if [ "$have_jobs" = 1 ]; then
			bench_load jobs "$proj" "$bundles/seed.tar.zst" \
			    "psql $(printf 'j%s ' $JOBS_N)"
		else
			note "jobs: --jobs not available in this build"
		fi
	fi
	rm -f "$bundles/seed.tar.zst"
fi

if wants shapes; then
	bench_shapes
fi

if wants verify || wants pack; then
	proj=$(gen_seed "$VERIFY_MB")
	meta verify-csv-bytes "$(csv_bytes "$proj")"
	command -v openssl >/dev/null && calibrate "$(ls -S "$proj"/seeds/*/*.csv | head -n 1)"
	if [ "$have_sb" = 1 ] && [ -f "$key" ]; then
		pack_bundle "$proj" "$bundles/verify.tar.zst" || true
		[ -f "$bundles/verify.tar.zst" ] &&
			meta verify-bundle-bytes "$(stat -c %s "$bundles/verify.tar.zst")"
	fi
	wants verify && bench_verify
	rm -f "$bundles/verify.tar.zst"
	if wants pack; then
		if [ "$have_sb" = 1 ] && [ -f "$key" ]; then
			bench_pack "$proj"
		else
			note "pack: not run (no sqlbundle or no key)"
		fi
	fi
fi

if wants rss && [ "$have_sb" = 1 ] && [ -f "$key" ]; then
	for mb in $RSS_MB; do
		bench_rss "$mb"
	done
fi

# sqlbundle import alembic of a generated Alembic chain (the same kind of
# revisions as the apply bench), capture on this server and offline; one
# Python process each. Times in times.tsv as bench "import".
bench_import() {
	local ichain=$work/import-chain proj side i
	"$PY" bench/gen_chain.py --out "$ichain" --revs "$IMPORT_REVS" \
	    --nontx-every "$NONTX_EVERY" >/dev/null
	meta import-revs "$IMPORT_REVS"
	for i in $(seq 1 "$RUNS"); do
		for side in capture offline; do
			proj=$work/import-proj
			rm -rf "$proj"
			mkdir -p "$proj"
			echo "project = bench" >"$proj/sqlbundle.conf"
			settle
			if [ "$side" = capture ]; then
				run_timed "$logs/import-$side-$i.log" "$SB" -C "$proj" \
				    import alembic --config "$ichain/alembic/alembic.ini" \
				    --scratch "host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
			else
				run_timed "$logs/import-$side-$i.log" "$SB" -C "$proj" \
				    import alembic --config "$ichain/alembic/alembic.ini" --offline
			fi
			[ "$rc" = 0 ] && ! grep -q "^$IMPORT_REVS new," "$logs/import-$side-$i.log" && rc=97
			[ "$rc" = 0 ] && { "$SB" -C "$proj" check >/dev/null 2>&1 || rc=96; }
			record import "$side" "$i"
			log "import alembic $side, $IMPORT_REVS revisions: ${secs}s"
		done
	done
}

# sqlbundle-apply fingerprint of a generated schema of FP_TABLES tables,
# against pg_dump --schema-only of the same database (context: another
# full read of the catalog). Times in times.tsv as bench "fingerprint".
bench_fingerprint() {
	local db=bench_fp i
	fresh_db "$db"
	"$PY" bench/gen_fp_schema.py "$FP_TABLES" |
	    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null
	"$SBA" -q -d "dbname=$db" fingerprint >"$work/fp.txt"
	meta fp-tables "$FP_TABLES"
	meta fp-objects "$(wc -l <"$work/fp.txt")"
	log "fingerprint of $FP_TABLES tables ($(wc -l <"$work/fp.txt") objects): $RUNS runs of: ours pg_dump"
	for i in $(seq 1 "$RUNS"); do
		run_timed "$logs/fingerprint-ours-$i.log" \
		    "$SBA" -q -d "dbname=$db" fingerprint
		record fingerprint ours "$i"
		run_timed "$logs/fingerprint-pg_dump-$i.log" \
		    pg_dump --schema-only -d "$db" -f /dev/null
		record fingerprint pg_dump "$i"
	done
	drop_db "$db"
}

if wants fingerprint && [ "$have_sb" = 1 ]; then
	bench_fingerprint
fi

# Till latency while an update waits behind a blocker. A till runs
# one-statement transactions (an INSERT returning a SELECT) on a table
# without pause, psql's \timing giving each one's latency; a second
# session holds a lock on the table for LOCK_HOLD seconds; the update
# (ALTER TABLE ... ADD COLUMN) starts once it holds it. Side "default":
# sqlbundle-apply's lock timeout and retries; side "none": --lock-timeout
# 0, the update queued until the blocker ends, the till behind it. Per
# run in locks.tsv: side, run, worst and p99 latency (ms) of the till's
# transactions from the update's start to its end, their count, the
# update's seconds, how long it ran on after the blocker let go (the
# retries' cost), its exit status.
TILL_SQL="INSERT INTO till (n) VALUES (1) RETURNING (SELECT count(*) FROM till WHERE id > currval('till_id_seq') - 10);"
lock_once() {
	local side=$1 run=$2 db=bench_locks b=$bundles/locks.tar.zst
	local till blocker t0 t1 released done_at stats extra=""
	[ "$side" = none ] && extra="--lock-timeout 0"
	fresh_db "$db"
	psql -X -q -d "$db" -c "CREATE TABLE till (id bigserial PRIMARY KEY, n int)"
	{ echo '\timing on'; yes "$TILL_SQL"; } |
	    PGAPPNAME=till psql -X -q -At -d "$db" -v ON_ERROR_STOP=1 >"$work/till.out" 2>&1 &
	till=$!
	( PGAPPNAME=blocker psql -X -q -d "$db" -c "BEGIN" \
	    -c "LOCK TABLE till IN ACCESS SHARE MODE" \
	    -c "SELECT pg_sleep($LOCK_HOLD)" -c "COMMIT" >/dev/null 2>&1
	  echo "$EPOCHREALTIME" >"$work/released" ) &
	blocker=$!
	until [ "$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blocker' AND wait_event = 'PgSleep'")" = 1 ]; do
		sleep 0.01
	done
	t0=$(wc -l <"$work/till.out")
	# shellcheck disable=SC2086
	PGDATABASE=$db run_timed "$logs/locks-$side-$run.log" \
	    "$SBA" upgrade "$b" --trust "$pub" $extra
	done_at=$EPOCHREALTIME
	# The till's transaction that waited ends after the update: count
	# it, and a few after it.
	t1=$(wc -l <"$work/till.out")
	until [ "$(wc -l <"$work/till.out")" -ge $((t1 + 20)) ]; do
		sleep 0.01
	done
	t1=$(wc -l <"$work/till.out")
	wait "$blocker"
	released=$(cat "$work/released")
	kill "$till" 2>/dev/null || true
	wait "$till" 2>/dev/null || true
	[ "$rc" -eq 0 ] && check_head "$db" l1
	stats=$(sed -n "$((t0 + 1)),${t1}p" "$work/till.out" |
	    awk '/^Time: / { print $2 }' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR == 0) { print "0\t0\t0"; exit }
	        i = int(NR * 0.99); if (i < 1) i = 1
	        printf "%.1f\t%.1f\t%d\n", v[NR], v[i], NR }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$run" "$stats" "$secs" \
	    "$(awk -v a="$released" -v b="$done_at" 'BEGIN { printf "%.3f", b - a }')" \
	    "$rc" >>"$res/locks.tsv"
	[ "$rc" -eq 0 ] || fail "locks $side run $run exited $rc, log: ${logs#"$root"/}/locks-$side-$run.log"
	log "locks $side run $run: till worst/p99/n $(echo "$stats" | tr '\t' '/') (ms), update ${secs}s"
	drop_db "$db"
}

bench_locks() {
	local proj=$work/locks-proj i side
	rm -rf "$proj"
	mkdir -p "$proj/revisions"
	echo "project = benchlocks" >"$proj/sqlbundle.conf"
	printf '%s\n' '-- revision: l1' '' '-- +upgrade' \
	    'ALTER TABLE till ADD COLUMN note text;' '' '-- +downgrade' \
	    'ALTER TABLE till DROP COLUMN note;' >"$proj/revisions/l1_alter.sql"
	pack_bundle "$proj" "$bundles/locks.tar.zst" || return 0
	meta lock-hold "${LOCK_HOLD}s"
	for i in $(seq 1 "$RUNS"); do
		for side in default none; do
			lock_once "$side" "$i"
		done
	done
	rm -f "$bundles/locks.tar.zst"
}

if wants locks && [ "$have_sb" = 1 ] && [ -f "$key" ]; then
	bench_locks
fi

if wants import && [ "$have_sb" = 1 ] && [ "$have_alembic" = 1 ]; then
	bench_import
fi

if wants plot; then
	for n in $PLOT_REVS; do
		[ "$n" -le "$REVS" ] || { note "plot: $n revisions is more than BENCH_REVS=$REVS, skipped"; continue; }
		if [ "$n" = "$REVS" ] && wants apply; then
			continue
		fi
		bench_apply "$n" "$PLOT_RUNS"
	done
fi

meta load-end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta elapsed "$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d s", b - a }')"
stop_pg

# `make bench` installs gnuplot (scripts/deps.sh bench); without it there
# is no plot, and the report says so.
command -v gnuplot >/dev/null || note "gnuplot is missing, no plot (scripts/deps.sh bench installs it)"
"$PY" bench/report.py "$res" "$out"
log "wrote ${out#"$root"/}/RESULTS.md"
if [ "$failures" -ne 0 ]; then
	echo "bench: $failures failure(s), see $res/notes.txt" >&2
	exit 1
fi
