#!/usr/bin/env bash
# Run a real Alembic project through sqlbundle and compare with Alembic.
#
#   scripts/alembic-real.sh MIRROR COMMIT ALEMBIC_DIR [NAME]
#   scripts/alembic-real.sh -p NAME [-m MIRRORS]   one project of the list
#   scripts/alembic-real.sh -a [-m MIRRORS]         every project of the list
#
# MIRROR is a git directory (bare or not) holding COMMIT; ALEMBIC_DIR is
# the folder of env.py and versions/ in that commit. The list is
# scripts/alembic-real/projects: name, source (owner/repo), pinned commit,
# Alembic folder, Debian packages the revisions import, notes. With -p or
# -a the mirror of owner/repo is MIRRORS/owner+repo/repo (MIRRORS:
# -m, else $SB_MIRRORS). Third-party files are extracted under
# .tmp/alembic-real/NAME/ only (SB_REAL_OUT for another folder), never
# into the repository.
#
# For each project, on a private PostgreSQL (scripts/pgserver.sh with
# SB_PGDIR, default .tmp/alembic-real-pg, and SB_PGPORT):
#   1. sqlbundle import alembic (capture on that server), check, keygen, pack;
#   2. sqlbundle-apply upgrade on a fresh database, `alembic upgrade head`
#      online on another: schema dumps (and sorted data) compared;
#   3. `alembic downgrade` half way down (the middle of Alembic's order),
#      then to base, one transaction per revision, so that it stops at the
#      first revision whose downgrade fails; sqlbundle-apply downgrade to
#      where Alembic ended, each time; compared likewise;
#   4. import alembic --check, twice (PYTHONHASHSEED 1 and 2; the second
#      on the import's own private server): both must exit 0; and no revision may mention the catalog (pg_catalog,
#      attrelid, information_schema...).
# The project's env.py is replaced by scripts/alembic-real/env.py (the
# import never runs env.py anyway); scripts/alembic-real/shims/NAME/ is
# put on PYTHONPATH for both sides: minimal stand-ins for the application
# modules a project's revisions import; shims/common/sitecustomize.py
# adds the few SQLAlchemy 2.0 names revisions use to Debian's 1.4. One result row per project goes
# to stdout and to .tmp/alembic-real/results.md; the logs and dumps stay
# in .tmp/alembic-real/NAME/.
set -uo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/scripts/alembic-real
list=$here/projects
SB_BIN=${SB_BIN:-$root/bin}
SB=$SB_BIN/sqlbundle
SBA=$SB_BIN/sqlbundle-apply
out=${SB_REAL_OUT:-$root/.tmp/alembic-real}
mirrors=${SB_MIRRORS:-}

die() {
	echo "alembic-real: $*" >&2
	exit 2
}

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# field NAME N: column N of NAME's line in the list.
field() {
	awk -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$list"
}

# Schema without pg_dump's random \restrict lines and the bookkeeping of
# either tool; then the data, sorted (the order of rows is not compared),
# with the values each database makes up itself (gen_random_uuid(),
# now()) masked.
dump() {
	pg_dump --schema-only --no-owner --no-privileges -N sqlbundle \
	    -T public.alembic_version "$1" | grep -v '^\\\(un\)\?restrict '
	echo '-- data (sorted)'
	pg_dump --data-only --no-owner -N sqlbundle -T public.alembic_version "$1" 2>/dev/null |
	    grep -v '^\\\(un\)\?restrict ' | grep -v '^--' |
	    grep -v '^SELECT pg_catalog.setval' |
	    sed -E -e 's/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/<uuid>/g' \
	        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([+-][0-9]{2})?/<time>/g' |
	    sort
}

fresh_db() {
	dropdb --if-exists "$1" >/dev/null 2>&1
	createdb "$1"
}

run_alembic() {
	SB_REAL_URL="postgresql+psycopg2:///$1?host=$PGHOST&port=$PGPORT&user=$PGUSER" \
	    alembic -c "$w/alembic.ini" "${@:2}"
}

# midpoint INI: the revision half way down Alembic's upgrade order.
midpoint() {
	/usr/bin/python3 - "$1" <<'EOF'
import sys
from alembic.config import Config
from alembic.script import ScriptDirectory
order = list(ScriptDirectory.from_config(Config(sys.argv[1]))
             .revision_map.iterate_revisions("heads", "base"))
if len(order) >= 4:
    print(order[len(order) // 2].revision)
EOF
}

# compare A B LOGNAME: "identical" or "differs (N lines)".
compare() {
	dump "$1" > "$w/$3.sqlbundle.sql"
	dump "$2" > "$w/$3.alembic.sql"
	if diff -u "$w/$3.alembic.sql" "$w/$3.sqlbundle.sql" > "$w/$3.diff"; then
		echo identical
	else
		echo "differs ($(grep -c '^[-+][^-+]' "$w/$3.diff") lines, $3.diff)"
	fi
}

# project NAME MIRROR COMMIT DIR: one row of the results table.
project() {
	local name=$1 mirror=$2 commit=$3 dir=$4
	local revs imp up down chk notes="" t0 t1 rc1 rc2 at
	w=$out/$name
	rm -rf "$w"
	mkdir -p "$w/src" "$w/proj/revisions"
	git --git-dir="$mirror" archive "$commit" "$dir" 2>"$w/archive.log" |
	    tar -x -C "$w/src" || die "$name: cannot extract $dir at $commit from $mirror"
	cp "$here/env.py" "$w/src/$dir/env.py"
	revs=$(grep -l '^revision' "$w/src/$dir"/versions/*.py 2>/dev/null | wc -l)
	local shims=$w/src:$here/shims/common
	[ -d "$here/shims/$name" ] && shims=$here/shims/$name:$shims
	cat > "$w/alembic.ini" <<EOF
[alembic]
script_location = $w/src/$dir
prepend_sys_path = $shims
EOF
	export PYTHONPATH=$shims${PYTHONPATH:+:$PYTHONPATH}
	echo "project = $(echo "$name" | tr -c 'a-z0-9_\n' '_')" > "$w/proj/sqlbundle.conf"
	local scratch="host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"

	t0=$(date +%s)
	if "$SB" -C "$w/proj" import alembic --config "$w/alembic.ini" \
	    --scratch "$scratch" > "$w/import.log" 2>&1; then
		t1=$(date +%s)
		imp="yes ($(ls "$w/proj/revisions" | wc -l) files, $((t1 - t0)) s)"
		local warns
		warns=$(grep -c '^sqlbundle: warning' "$w/import.log")
		[ "$warns" -gt 0 ] && notes="$warns warnings; "
	else
		imp="**no**: $(grep -v '^\s*$' "$w/import.log" | tail -n 1 | cut -c1-160)"
		row "$name" "$commit" "$revs" "$imp" - - - "$notes"
		return
	fi
	if ! "$SB" -C "$w/proj" check > "$w/check.log" 2>&1; then
		row "$name" "$commit" "$revs" "$imp; check: **no**: $(tail -n 1 "$w/check.log")" - - - "$notes"
		return
	fi
	"$SB" -C "$w/proj" keygen hq > /dev/null 2>&1
	if ! "$SB" -C "$w/proj" pack --key keys/hq.key -o "$w/bundle.tar.zst" \
	    > "$w/pack.log" 2>&1; then
		row "$name" "$commit" "$revs" "$imp; pack: **no**: $(tail -n 1 "$w/pack.log")" - - - "$notes"
		return
	fi
	export SQLBUNDLE_TRUST=$w/proj/keys/hq.pub

	# Upgrade to head, both ways.
	local db_sb=real_sb db_al=real_al
	fresh_db $db_sb
	fresh_db $db_al
	if ! "$SBA" -d "dbname=$db_sb" upgrade "$w/bundle.tar.zst" > "$w/apply-up.log" 2>&1; then
		up="**apply failed**: $(tail -n 1 "$w/apply-up.log")"
	elif ! run_alembic $db_al upgrade head > "$w/alembic-up.log" 2>&1; then
		up="alembic failed: $(tail -n 1 "$w/alembic-up.log")"
	else
		up=$(compare $db_sb $db_al upgrade)
	fi

	# Half way down first, when Alembic gets there: an intermediate state.
	local mid
	mid=$(midpoint "$w/alembic.ini")
	if [ -n "$mid" ] &&
	    run_alembic $db_al downgrade "$mid" > "$w/alembic-mid.log" 2>&1; then
		if "$SBA" -d "dbname=$db_sb" downgrade "$w/bundle.tar.zst" "$mid" \
		    > "$w/apply-mid.log" 2>&1; then
			notes="${notes}half way down (to $mid): $(compare $db_sb $db_al middle); "
		else
			notes="${notes}half way down (to $mid): **refused**: $(tail -n 1 "$w/apply-mid.log" | cut -c1-160); "
		fi
	fi

	# Downgrade as far as Alembic goes.
	if run_alembic $db_al downgrade base > "$w/alembic-down.log" 2>&1; then
		at=base
	else
		at=$(psql -X -At -d $db_al -c 'SELECT version_num FROM public.alembic_version' 2>/dev/null)
		[ -n "$at" ] || at=base
		notes="${notes}alembic downgrade stops at $at ($(grep -v '^\s*$' "$w/alembic-down.log" | tail -n 1 | cut -c1-100)); "
	fi
	if "$SBA" -d "dbname=$db_sb" downgrade "$w/bundle.tar.zst" "$at" > "$w/apply-down.log" 2>&1; then
		down="to $at: $(compare $db_sb $db_al downgrade)"
	else
		down="to $at: **refused**: $(tail -n 1 "$w/apply-down.log" | cut -c1-160)"
	fi

	# An unchanged project imports the same, twice, whatever the hash seed
	# and the server (the second on the import's own private server).
	PYTHONHASHSEED=1 "$SB" -C "$w/proj" import alembic --config "$w/alembic.ini" \
	    --check --scratch "$scratch" > "$w/check1.log" 2>&1
	rc1=$?
	PYTHONHASHSEED=2 "$SB" -C "$w/proj" import alembic --config "$w/alembic.ini" \
	    --check > "$w/check2.log" 2>&1
	rc2=$?
	# Nothing of the scratch database's catalog in a revision.
	local cat
	cat=$(grep -l -i -E 'pg_catalog\.|attrelid|relnamespace|information_schema\.' \
	    "$w/proj/revisions"/*.sql 2>/dev/null | wc -l)
	[ "$cat" -eq 0 ] || notes="${notes}$cat revisions mention the catalog; "
	chk="exit $rc1, $rc2"
	row "$name" "$commit" "$revs" "$imp" "$up" "$down" "$chk" "$notes"
}

row() {
	local r
	r="| $1 | ${2:0:12} | $3 | $4 | $5 | $6 | $7 | ${8%; } |"
	echo "$r"
	echo "$r" >> "$out/results.md"
}

# by_name NAME: run one project of the list.
by_name() {
	local src commit dir debs p
	src=$(field "$1" 2)
	[ -n "$src" ] || die "no project \"$1\" in $list"
	commit=$(field "$1" 3)
	dir=$(field "$1" 4)
	debs=$(field "$1" 5)
	[ -n "$mirrors" ] || die "-m MIRRORS (or SB_MIRRORS) is needed with -p and -a"
	for p in ${debs//,/ }; do
		[ "$p" = - ] && continue
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		    die "$1 needs the Debian package $p (apt-get install $p)"
	done
	project "$1" "$mirrors/${src/\//+}/repo" "$commit" "$dir"
}

mode=one name=
while getopts "ap:m:h" opt; do
	case $opt in
	a) mode=all ;;
	p) mode=list name=$OPTARG ;;
	m) mirrors=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ -x "$SB" ] && [ -x "$SBA" ] || die "no programs in $SB_BIN (make first, or set SB_BIN)"
command -v alembic > /dev/null || die "alembic is not installed"
if [ $mode = one ]; then
	[ $# -ge 3 ] || usage
fi

mkdir -p "$out"
pgdir=${SB_PGDIR:-$out-pg}
env_line=$(SB_PGPORT=${SB_PGPORT:-54339} "$root/scripts/pgserver.sh" start "$pgdir") ||
    die "could not start PostgreSQL in $pgdir"
eval "$env_line"
trap '"$root/scripts/pgserver.sh" stop "$pgdir"' EXIT INT TERM

echo "| project | commit | revisions | import | upgrade: identical? | downgrade as far as Alembic | --check twice | notes |"
echo "|---|---|---|---|---|---|---|---|"
case $mode in
one) project "${4:-$(basename "$3")}" "$1" "$2" "$3" ;;
list) by_name "$name" ;;
all)
	for n in $(awk '!/^#/ && NF { print $1 }' "$list"); do
		(by_name "$n")
	done
	;;
esac
