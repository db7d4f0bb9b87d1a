#!/bin/sh
# Build the Debian packages out of tree, so the worktree stays clean: copy
# the project's files (git's tracked and untracked-not-ignored ones, so no
# private key) to OUT/src, run `dpkg-buildpackage -us -uc -b` there (it
# writes its .deb, .buildinfo and .changes files to OUT), then lintian.
# When OUT already holds packages built from the same files, they are
# reused: OUT/source.sha256 records what they were built from.
#
#   scripts/deb.sh [OUT]     OUT defaults to build/deb
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

list=$out/files.txt
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files -co --exclude-standard | LC_ALL=C sort -u |
	    while IFS= read -r f; do
		[ -f "$root/$f" ] && printf '%s\n' "$f"
	done >"$list"
else
	(cd "$root" && find . -type f ! -path './.git/*' ! -path './build/*' \
	    ! -path './bin/*' ! -path './.tmp/*' ! -path './.demo/*' \
	    ! -path './bundles/*' ! -name '*.key' | sed 's|^\./||' |
	    LC_ALL=C sort) >"$list"
fi

# What the packages are built from: every file's bytes, name and mode.
sum=$(cd "$root" && tr '\n' '\0' <"$list" | xargs -0 sha256sum |
    sha256sum | cut -d' ' -f1)
modes=$(cd "$root" && tr '\n' '\0' <"$list" | xargs -0 stat -c '%a %n' |
    sha256sum | cut -d' ' -f1)
stamp="$sum $modes"
if [ -f "$out/source.sha256" ] && [ "$(cat "$out/source.sha256")" = "$stamp" ] &&
    [ -f "$out/lintian.txt" ] && ls "$out"/sqlbundle-apply_*.deb >/dev/null 2>&1; then
	echo "deb: packages in ${out#"$root"/} are up to date"
	exit 0
fi

rm -rf "$out/src" "$out/source.sha256" "$out/lintian.txt"
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.buildinfo "$out"/*.changes
mkdir "$out/src"
(cd "$root" && tar -cf - --verbatim-files-from -T "$list") |
    tar -C "$out/src" -xf -

echo "deb: building in ${out#"$root"/}/src (log: ${out#"$root"/}/build.log)"
: "${DEB_BUILD_OPTIONS:=parallel=$(nproc)}"
export DEB_BUILD_OPTIONS
# Run from make (make check SANITIZE=... O=...), the package must not
# inherit the caller's make variables (make exports command-line ones).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES SANITIZE O B V PREFIX \
    DESTDIR BINDIR MANDIR MENDERDIR
(cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
rm -rf "$out/src"

# Errors fail the build; warnings would be printed (there are none: README,
# "Rolling out to a fleet").
rc=0
lintian --fail-on error "$out"/*.changes >"$out/lintian.raw" 2>&1 || rc=$?
grep -v '^running with root privileges' "$out/lintian.raw" >"$out/lintian.txt" || true
rm -f "$out/lintian.raw"
if [ $rc -ne 0 ] || grep -q '^E: ' "$out/lintian.txt"; then
	cat "$out/lintian.txt" >&2
	echo "deb: lintian failed or found errors (exit $rc)" >&2
	exit 1
fi
printf '%s\n' "$stamp" >"$out/source.sha256"
cd "$out"
for f in ./*.deb; do
	echo "deb: ${out#"$root"/}/${f#./}"
done
if [ -s lintian.txt ]; then
	sed 's/^/lintian: /' lintian.txt
else
	echo "lintian: no errors, no warnings"
fi
