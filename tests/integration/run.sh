#!/usr/bin/env bash
# Integration tests: the built programs against a real, throwaway
# PostgreSQL started here and stopped on exit, whatever happens.
#
# Each tests/integration/t_*.sh defines functions named test_*; each runs
# in a subshell with `set -e`, in a folder of its own under .tmp/itest/
# (kept when the test fails). Usage: run.sh [FILE-PATTERN [TEST-PATTERN]]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
export SB_ROOT=$root
filepat=${1:-}
testpat=${2:-}
work=${SB_WORK:-$root/.tmp/itest}
pgdir=${SB_PGDIR:-$root/.tmp/itest-pg}
export SB_BIN=${SB_BIN:-$root/bin}
rm -rf "$work"
mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chmod 755 "$root/.tmp" "$work"

# Every --json run's output is kept here and checked against the schema
# after the tests (json_collect.sh stands in for both programs).
export SB_JSON_DIR=$work/json SB_WRAP=$work/wrap
mkdir -p "$SB_JSON_DIR" "$SB_WRAP"
[ "$(id -u)" -eq 0 ] && chmod 1777 "$SB_JSON_DIR"
ln -s "$root/tests/integration/json_collect.sh" "$SB_WRAP/sqlbundle"
ln -s "$root/tests/integration/json_collect.sh" "$SB_WRAP/sqlbundle-apply"

export SB_PGPORT=${SB_PGPORT:-54339}
export SB_PGDIR=$pgdir
env_line=$("$root/scripts/pgserver.sh" start "$pgdir") || {
	echo "integration: could not start PostgreSQL"
	echo "integration: 0 passed, 1 failed"
	exit 1
}
eval "$env_line"
trap '"$root/scripts/pgserver.sh" stop "$pgdir"' EXIT INT TERM

pass=0 fail=0 skipped=0 failed=()
for f in "$root"/tests/integration/t_*.sh; do
	[ -n "$filepat" ] && [[ $(basename "$f") != *$filepat* ]] && continue
	tests=$(bash -c ". '$root/tests/integration/lib.sh'; . '$f'; declare -F" |
	    awk '$3 ~ /^test_/ { print $3 }')
	for t in $tests; do
		[ -n "$testpat" ] && [[ $t != *$testpat* ]] && continue
		dir=$work/$(basename "$f" .sh)/$t
		mkdir -p "$dir"
		[ "$(id -u)" -eq 0 ] && chmod 777 "$dir"
		start=$(date +%s)
		(
			cd "$dir" || exit 1
			export T_NAME=$t T_DIR=$dir
			. "$root/tests/integration/lib.sh"
			. "$f"
			set -e
			"$t"
		) >"$dir/log" 2>&1
		rc=$?
		secs=$(( $(date +%s) - start ))
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "ok   $(basename "$f" .sh) $t (${secs}s)"
			rm -rf "$dir"
		elif [ $rc -eq 77 ]; then
			skipped=$((skipped + 1))
			echo "skip $(basename "$f" .sh) $t: $(tail -n 1 "$dir/log")"
			rm -rf "$dir"
		else
			fail=$((fail + 1))
			failed+=("$(basename "$f" .sh) $t")
			echo "FAIL $(basename "$f" .sh) $t (${secs}s), log: ${dir#$root/}/log"
			tail -n 25 "$dir/log" | sed 's/^/     | /'
		fi
	done
done
# The --json lines the tests made, against docs/sqlbundle.schema.json;
# a run of the whole suite must have made every kind of line.
require=--require
[ -n "$filepat$testpat" ] && require=
if /usr/bin/python3 "$root/tests/integration/json_schema.py" \
    "$root/docs/sqlbundle.schema.json" "$SB_JSON_DIR" "$root/man" $require \
    >"$work/json_schema.log" 2>&1; then
	pass=$((pass + 1))
	echo "ok   $(tail -n 1 "$work/json_schema.log")"
else
	fail=$((fail + 1))
	failed+=("json_schema")
	echo "FAIL json schema, log: ${work#$root/}/json_schema.log"
	tail -n 25 "$work/json_schema.log" | sed 's/^/     | /'
fi
for t in "${failed[@]+"${failed[@]}"}"; do echo "failed: $t"; done
echo "integration: $pass passed, $fail failed, $skipped skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
