#!/bin/sh
# Install the Debian packages sqlbundle needs to build, test and demo,
# only those missing. Run by `make demo` and `make check`; `make fuzz`,
# `make bench` and `make profile` add their group (the argument).
set -eu

pkgs="build-essential pkg-config libarchive-dev libssl-dev libpq-dev
libcmocka-dev postgresql-15 postgresql-contrib zstd gzip tar openssl
coreutils python3 alembic python3-sqlalchemy python3-psycopg2 procps time util-linux
python3-jsonschema strace libp11-kit-dev"
for extra in "$@"; do
	case $extra in
	fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
	bench) pkgs="$pkgs gnuplot-nox" ;;
	profile) pkgs="$pkgs valgrind" ;;
	# `make deb`; `make check` adds deb, mender and hsm (tests of each).
	deb) pkgs="$pkgs debhelper dpkg-dev fakeroot lintian" ;;
	mender) pkgs="$pkgs mender-client mender-artifact" ;;
	# What the revisions of scripts/alembic-real/projects import.
	alembic-real) pkgs="$pkgs python3-werkzeug python3-packaging" ;;
	# Keys on a token: SoftHSM and pkcs11-tool for the tests.
	hsm) pkgs="$pkgs softhsm2 opensc" ;;
	*) echo "deps.sh: unknown group \"$extra\"" >&2; exit 2 ;;
	esac
done

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "sqlbundle: missing packages:$missing" >&2
		echo "sqlbundle: run as root: apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The postgresql package would start a cluster of its own; we run ours.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
