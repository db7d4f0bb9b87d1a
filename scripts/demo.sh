#!/bin/sh
# `make demo`: from nothing to an applied example database. Makes a demo
# key, rehearses the ArcoIrisPOS chain (sqlbundle test: up, down, up again
# on a private throwaway server, recording revisions/FINGERPRINTS), packs
# it, starts a throwaway PostgreSQL in .demo/,
# verifies and applies the bundle, and shows the database status.
# Stop the server with `make demo-stop`.
set -eu
cd "$(dirname "$0")/.."
SB=bin/sqlbundle
SBA=bin/sqlbundle-apply

step() { printf '\n==> %s\n' "$*"; }

if [ ! -f keys/demo.key ]; then
	step "sqlbundle keygen demo"
	$SB keygen demo
fi

step "sqlbundle check"
$SB check

step "sqlbundle test (rehearse the chain on a throwaway PostgreSQL)"
$SB test

step "sqlbundle pack --key keys/demo.key"
$SB pack --key keys/demo.key
B=bundles/arcoirispos-base-$($SB history | awk 'END { print $2 }').tar.zst

step "starting a throwaway PostgreSQL in .demo/pg"
eval "$(SB_PGPORT=${SB_PGPORT:-54328} scripts/pgserver.sh start .demo/pg)"
createdb arcoirispos 2>/dev/null || true
export PGDATABASE=arcoirispos

step "sqlbundle-apply verify $B --trust keys/demo.pub"
$SBA verify "$B" --trust keys/demo.pub

step "sqlbundle-apply upgrade $B --trust keys/demo.pub"
$SBA upgrade "$B" --trust keys/demo.pub

step "sqlbundle-apply status"
$SBA status

# Coming from Alembic: the same chain, written as Alembic revisions in
# examples/alembic/, imported into a scratch copy of a project.
rm -rf .demo/from-alembic
mkdir -p .demo/from-alembic
cp sqlbundle.conf .demo/from-alembic/
step "sqlbundle -C .demo/from-alembic import alembic --config examples/alembic/alembic.ini"
$SB -C .demo/from-alembic import alembic --config "$PWD/examples/alembic/alembic.ini" \
    --scratch "host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres"
step "sqlbundle -C .demo/from-alembic check"
$SB -C .demo/from-alembic check

step "a look at the data"
psql -X -q -c "SELECT code, name, account_type FROM acct.account ORDER BY code LIMIT 8" || true

cat <<MSG

The demo database keeps running on the unix socket in $PGHOST:
  PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER psql arcoirispos
Stop and remove it with: make demo-stop
MSG
