#!/usr/bin/env bash
# Check the example chain (revisions/, seeds/) with plain psql and pg_dump,
# independently of sqlbundle: every step applies, every downgrade restores
# the exact schema and data of the step before, and a second upgrade gives
# the same schema as the first.
#
# Usage: scripts/check-example.sh [DBNAME]   (default example_check)
# The database is dropped and created again; the usual PG* environment
# variables say where the server is. KEEP=1 leaves it at head afterwards.
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-example_check}
work=$(mktemp -d "${TMPDIR:-/tmp}/check-example.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() {
	echo "check-example: $*" >&2
	exit 1
}

# header FILE KEY: the value of "-- KEY: value" before the first marker.
header() {
	awk -v key="$2" '
		{ sub(/\r$/, "") }
		/^-- \+(upgrade|downgrade)[ ]*$/ { exit }
		$0 ~ "^-- " key ":" {
			v = substr($0, length(key) + 5)
			gsub(/^[ ]+|[ ]+$/, "", v)
			print v
			exit
		}' "$1"
}

# section FILE upgrade|downgrade: the body lines of that section.
section() {
	awk -v want="$2" '
		/^-- \+upgrade[ \r]*$/ { on = (want == "upgrade"); next }
		/^-- \+downgrade[ \r]*$/ { on = (want == "downgrade"); next }
		on' "$1"
}

# Order the chain: base first, then the revision whose down_revision is the
# one before (the example chain is linear).
declare -A file_of=() down_of=()
for f in "$root"/revisions/*.sql; do
	id=$(header "$f" revision)
	[ -n "$id" ] || die "$f: no revision header"
	case ${f##*/} in
	"${id}_"*) ;;
	*) die "$f: revision $id does not match the file name" ;;
	esac
	[ -z "${file_of[$id]:-}" ] || die "duplicate revision $id"
	file_of[$id]=$f
	d=$(header "$f" down_revision)
	down_of[$id]=${d:-none}
done
order=()
prev=none
while :; do
	next=()
	for id in "${!down_of[@]}"; do
		[ "${down_of[$id]}" = "$prev" ] && next+=("$id")
	done
	[ ${#next[@]} -eq 0 ] && break
	[ ${#next[@]} -eq 1 ] || die "revision ${prev} has several children: ${next[*]}"
	order+=("${next[0]}")
	prev=${next[0]}
done
[ ${#order[@]} -eq ${#file_of[@]} ] ||
	die "chain from base reaches ${#order[@]} of ${#file_of[@]} revisions"

# step_script ID DIRECTION: the psql script of one step, seeds included.
step_script() {
	local id=$1 dir=$2 f s cols table
	section "${file_of[$id]}" "$dir"
	grep -q . < <(section "${file_of[$id]}" "$dir") ||
		die "${file_of[$id]}: empty $dir section"
	[ "$dir" = upgrade ] || return 0
	[ -d "$root/seeds/$id" ] || return 0
	echo
	for s in "$root/seeds/$id"/*; do
		case $s in
		*.csv)
			table=${s##*/}
			table=${table%.csv}
			table=${table#[0-9][0-9]-}
			cols=$(head -n 1 "$s" | tr -d '\r' |
			    awk -F, '{ for (i = 1; i <= NF; i++)
				printf "%s\"%s\"", (i > 1 ? ", " : ""), $i }')
			printf '\\copy "%s"."%s" (%s) FROM '\''%s'\'' (FORMAT csv, HEADER true)\n' \
			    "${table%%.*}" "${table#*.}" "$cols" "$s"
			;;
		*.sql)
			printf '\\i '\''%s'\''\n' "$s"
			;;
		*)
			die "$s: neither .csv nor .sql"
			;;
		esac
	done
}

run_step() {
	step_script "$1" "$2" >"$work/step.sql"
	psql -X -q -v ON_ERROR_STOP=1 -1 -d "$db" -f "$work/step.sql" \
	    >"$work/psql.out" 2>&1 || {
		cat "$work/psql.out" >&2
		die "$2 $1 failed"
	}
}

# dump NAME: schema and data dumps of the database into $work/NAME.{schema,data}.
dump() {
	pg_dump --schema-only --no-owner -d "$db" 2>"$work/pg_dump.err" |
	    grep -v '^\\\(un\)\?restrict ' >"$work/$1.schema" ||
		die "pg_dump failed: $(cat "$work/pg_dump.err")"
	pg_dump --data-only --no-owner -d "$db" 2>"$work/pg_dump.err" |
	    grep -v '^\\\(un\)\?restrict ' >"$work/$1.data" ||
		die "pg_dump failed: $(cat "$work/pg_dump.err")"
}

failures=0
# same WHAT A B: report a difference between two dump files.
same() {
	if diff -u "$2" "$3" >"$work/diff"; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		sed 's/^/     | /' "$work/diff" | head -n 60
		failures=$((failures + 1))
	fi
}

q() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

PGOPTIONS='-c client_min_messages=warning' dropdb --if-exists "$db"
createdb "$db"
dump level0
n=${#order[@]}

for ((i = 0; i < n; i++)); do
	id=${order[$i]}
	run_step "$id" upgrade
	echo "ok   upgrade $id (${file_of[$id]##*/})"
	dump "level$((i + 1))"
	if [ "$i" -eq 0 ] && [ -n "${file_of[853113448960]:-}" ]; then
		# The sanity test must refuse a database that only has the baseline.
		if section "${file_of[853113448960]}" upgrade |
		    psql -X -q -v ON_ERROR_STOP=1 -1 -d "$db" -f - >"$work/psql.out" 2>&1; then
			echo "FAIL sanity test accepted a baseline-only database"
			failures=$((failures + 1))
		elif grep -q 'template sanity test failed: .*view pos.v_daily_sales' "$work/psql.out"; then
			echo "ok   sanity test refuses a baseline-only database"
		else
			echo "FAIL sanity test failed with an unexpected message:"
			sed 's/^/     | /' "$work/psql.out"
			failures=$((failures + 1))
		fi
	fi
done

echo "     head: $(q "SELECT count(*) FROM pg_tables WHERE schemaname IN ('core','acct','inv','pos')") tables," \
    "$(q "SELECT count(*) FROM pg_views WHERE schemaname IN ('core','acct','inv','pos')") views," \
    "$(q "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND n.nspname IN ('core','acct','inv','pos')") enums," \
    "$(q "SELECT count(*) FROM acct.account") accounts," \
    "$(q "SELECT count(*) FROM core.role") roles"
# The sequences must be past the seeded ids.
q "INSERT INTO acct.account (organization_id, code, name, account_type)
   SELECT id, '9.9', 'probe', 'expense' FROM core.organization
   RETURNING id" >/dev/null ||
	die "inserting an account after the seed failed"
q "DELETE FROM acct.account WHERE code = '9.9'"
# The seeded admin's initial password (changed at first login) matches the
# stored bcrypt hash under pgcrypto.
[ "$(q "SELECT password_hash = crypt('ArcoIris-Admin-2024', password_hash) FROM core.app_user WHERE email = 'admin@arcoirispos.example'")" = t ] ||
	die "seeded admin password hash does not match its initial password"

for ((i = n - 1; i >= 0; i--)); do
	id=${order[$i]}
	run_step "$id" downgrade
	dump "down$i"
	same "downgrade $id: schema as before its upgrade" "$work/level$i.schema" "$work/down$i.schema"
	same "downgrade $id: data as before its upgrade" "$work/level$i.data" "$work/down$i.data"
done

for ((i = 0; i < n; i++)); do
	run_step "${order[$i]}" upgrade
done
dump again
same "upgrade, downgrade, upgrade: same schema at head" "$work/level$n.schema" "$work/again.schema"

if [ "${KEEP:-0}" != 1 ]; then
	dropdb "$db"
fi
if [ "$failures" -ne 0 ]; then
	echo "check-example: $failures check(s) failed" >&2
	exit 1
fi
echo "check-example: all checks passed"
