#!/usr/bin/env bash
# `make profile`: where the work of a seed load goes, counted in machine
# instructions (valgrind --tool=callgrind) instead of seconds, so that
# two sides compare exactly on a noisy machine. One PostgreSQL runs under
# callgrind; the same generated catalog is loaded by `psql \copy` (one
# transaction) and by `sqlbundle-apply upgrade` (default chunks, then
# small chunks). Each client runs under callgrind too. Prints, per side,
# the instructions of the server backend and of the client, the client's
# split by library, and the server functions whose counts differ most.
#
#   PROFILE_MB [8]           CSV size of the generated catalog
#   PROFILE_SHAPE            a seed shape of bench/gen_shapes.py (wide, jsonb,
#                            small, fkeys, pricelist, defaults) instead of
#                            the catalog
#   PROFILE_CHUNK [1M]       --chunk-size of the chunked run
#   PROFILE_DIR [.tmp/profile]  data, server, callgrind files, report
#   PROFILE_PGPORT [54348]   port of the server (unix socket)
#   SB_BIN [bin, or $B from make]
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
export PATH=$PGBIN:$PATH
MB=${PROFILE_MB:-8}
SHAPE=${PROFILE_SHAPE:-}
CHUNK=${PROFILE_CHUNK:-1M}
work=${PROFILE_DIR:-$root/.tmp/profile}
port=${PROFILE_PGPORT:-54348}
if [ -n "${SB_BIN:-}" ]; then
	bin=$SB_BIN
elif [ -n "${B:-}" ]; then
	case $B in /*) bin=$B ;; *) bin=$root/$B ;; esac
else
	bin=$root/bin
fi
bin=$(cd "$bin" && pwd)

die() { echo "profile: $*" >&2; exit 1; }
log() { echo "profile: $*" >&2; }
for tool in valgrind callgrind_annotate psql pg_ctl; do
	command -v "$tool" >/dev/null || die "$tool is missing (run scripts/deps.sh profile)"
done
[ -x "$bin/sqlbundle-apply" ] || die "$bin/sqlbundle-apply is missing: build it first (make)"

mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chmod 755 "$root/.tmp" "$work"
if [ -n "$SHAPE" ]; then
	data=$work/shapes-$MB/$SHAPE
else
	data=$work/seed-$MB
fi
cg=$work/cg
srv=$work/pg
rm -rf "$cg"
mkdir -p "$cg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$cg"

if [ -n "$SHAPE" ]; then
	log "generating the seed shape $SHAPE, $MB MiB of CSV"
	python3 bench/gen_shapes.py --out "$work/shapes-$MB" --mb "$MB" \
	    --shapes "$SHAPE" >/dev/null
elif [ ! -f "$data/psql-load.sql" ]; then
	log "generating $MB MiB of catalog CSV"
	python3 bench/gen_seed.py --out "$data" --mb "$MB" >/dev/null
fi
if [ ! -f "$work/keys/keys/prof.key" ]; then
	mkdir -p "$work/keys"
	"$bin/sqlbundle" -C "$work/keys" keygen prof >/dev/null
fi
rm -f "$work/seed.tar.zst"
"$bin/sqlbundle" -C "$data" pack --key "$work/keys/keys/prof.key" \
    -o "$work/seed.tar.zst" >/dev/null

# The server: initdb through pgserver.sh, then the postmaster itself under
# callgrind (every backend it forks writes its own profile at exit).
# Autovacuum is off so that the only new profile after a load is the
# load's backend.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
eval "$(SB_PGPORT=$port scripts/pgserver.sh start "$srv")"
export PGHOST PGPORT PGUSER
pgdata=$(cd "$srv" && pwd -P)/data
as_pg pg_ctl -D "$pgdata" -w -m fast stop >/dev/null
stop_server() { as_pg pg_ctl -D "$pgdata" -w -t 120 -m fast stop >/dev/null 2>&1 || true; }
trap stop_server EXIT
as_pg valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$cg/server.%p" \
    postgres -D "$pgdata" -c autovacuum=off >"$work/server.log" 2>&1 &
for _ in $(seq 1 120); do
	psql -X -Atq -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
	sleep 1
done
psql -X -Atq -d postgres -c 'SELECT 1' >/dev/null || die "server under valgrind did not start (see $work/server.log)"

# load NAME CMD...: one load on a fresh database; keeps the backend's and
# the client's profiles as $cg/NAME.server and $cg/NAME.client.
load() {
	local name=$1 f best=0 n
	shift
	psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS prof' \
	    -c 'CREATE DATABASE prof TEMPLATE template0' -c CHECKPOINT
	sleep 2	# the backend of these writes its own profile first
	touch "$cg/.mark"
	log "$name: $*"
	PGDATABASE=prof valgrind --tool=callgrind \
	    --callgrind-out-file="$cg/$name.client" "$@" >"$cg/$name.log" 2>&1 ||
		{ cat "$cg/$name.log" >&2; die "$name failed"; }
	# The backend writes its profile once it has seen the client go; it
	# is the new profile with the most instructions.
	sleep 5
	for f in $(find "$cg" -name 'server.*' -newer "$cg/.mark"); do
		n=$(sed -n 's/^summary: //p' "$f")
		if [ "${n:-0}" -gt "$best" ]; then
			best=$n
			cp "$f" "$cg/$name.server"
		fi
	done
	[ "$best" -gt 0 ] || die "$name: no backend profile"
}

pub=$work/keys/keys/prof.pub
load psql "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$data/psql-load.sql"
load sqlbundle "$bin/sqlbundle-apply" upgrade "$work/seed.tar.zst" --trust "$pub" -q
load chunked "$bin/sqlbundle-apply" upgrade "$work/seed.tar.zst" --trust "$pub" -q \
    --chunk-size "$CHUNK"

csv=$(cat "$data"/seeds/*/*.csv | wc -c)
python3 bench/cgreport.py --csv-bytes "$csv" --chunk "$CHUNK" \
    psql="$cg/psql" sqlbundle="$cg/sqlbundle" chunked="$cg/chunked" |
    tee "$work/report.txt"
log "report in ${work#"$root"/}/report.txt"
