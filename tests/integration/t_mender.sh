# The Mender update module, inventory script and artifact wrapper
# (mender/), end to end with the real client in standalone mode (mender
# install, commit, rollback; no server, no systemd) against this suite's
# PostgreSQL. Mender's fixed paths (/etc/mender, its modules and inventory
# folders) are replaced by this test's folders with bind mounts in a
# private mount namespace, so it needs root; the machine's own files are
# never touched. The store's connection is a libpq service file that names
# the test database, with the PG* variables removed from Mender's
# environment, so only the documented configuration reaches the database.

DEVICE=store-terminal

# Sets MD (this test's Mender root), a store database (PGDATABASE) with its
# service file, a copy of the example project in proj/ with key hq, and the
# store's trust folder holding hq.pub.
mender_setup() {
	[ "$(id -u)" -eq 0 ] ||
		skip "needs root: Mender's fixed paths are bind-mounted in a private mount namespace"
	command -v mender >/dev/null && command -v mender-artifact >/dev/null ||
		fail "mender or mender-artifact missing (scripts/deps.sh mender installs them)"
	MD=$T_DIR/mender
	mkdir -p "$MD/etc" "$MD/modules" "$MD/inventory" "$MD/data" "$MD/trust"
	echo "artifact_name=factory" >"$MD/etc/artifact_info"
	echo "device_type=$DEVICE" >"$MD/data/device_type"
	echo '{}' >"$MD/mender.conf"
	cp "$SB_ROOT/mender/sqlbundle" "$MD/modules/"
	cp "$SB_ROOT/mender/mender-inventory-sqlbundle" "$MD/inventory/"
	copy_example proj
	"$SB" -C proj keygen hq >/dev/null
	cp proj/keys/hq.pub "$MD/trust/"
	new_db
	STORE_DB=$PGDATABASE
	cat >"$MD/in-ns" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c '
	mount --bind "\$1/etc" /etc/mender &&
	mount --bind "\$1/modules" /usr/share/mender/modules/v3 &&
	mount --bind "\$1/inventory" /usr/share/mender/inventory || exit 99
	shift
	exec "\$@"' sh "$MD" \\
    env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGSERVICE \\
    PGSERVICEFILE="$MD/pg_service.conf" SQLBUNDLE_TRUST="$MD/trust" \\
    PATH="$SB_BIN:$PATH" "\$@"
EOF
	chmod +x "$MD/in-ns"
	cat >"$MD/pg_service.conf" <<EOF
[sqlbundle]
host=$PGHOST
port=$PGPORT
user=$PGUSER
dbname=$STORE_DB
EOF
}

# in_ns CMD...: CMD in a private mount namespace where Mender's fixed
# paths are this test's folders, with the store's environment only (a
# script, so that setsid can run it too).
in_ns() {
	"$MD/in-ns" "$@"
}

# mender_ RC ARGS...: the client, expected to exit RC; its log (stderr) is
# kept in $T_DIR/err and appended to $MD/mender.log.
mender_() {
	local rc=$1
	shift
	expect_rc "$rc" in_ns mender --no-syslog --config "$MD/mender.conf" \
	    --fallback-config "$MD/mender.conf" --data "$MD/data" "$@"
	{ echo "### mender $*"; cat "$T_DIR/err"; } >>"$MD/mender.log"
}

# log_has TEXT: the last mender call logged TEXT (Mender's log quotes
# messages: a " in TEXT appears as \").
log_has() {
	grep -qF -- "${1//\"/\\\"}" "$T_DIR/err" || {
		echo "--- mender log"; cat "$T_DIR/err"
		fail "mender's log lacks \"$1\""
	}
}

shown_artifact() {
	mender_ 0 show-artifact
	cat "$T_DIR/out"
}

# The inventory script, run where Mender runs it, into $T_DIR/inv.
inventory() {
	in_ns /usr/share/mender/inventory/mender-inventory-sqlbundle >"$T_DIR/inv"
}

# inv_is KEY VALUE: the last inventory has exactly this one KEY line.
inv_is() {
	local got
	got=$(sed -n "s/^$1=//p" "$T_DIR/inv")
	[ "$got" = "$2" ] || {
		cat "$T_DIR/inv"
		fail "inventory $1: expected \"$2\", got \"$got\""
	}
}

# bundle_of NAME PACK-ARGS...: packs proj into NAME.tar.zst, wraps it as
# NAME.mender; sets BID (the bundle id).
bundle_of() {
	local name=$1
	shift
	"$SB" -C proj pack "$@" -o "$T_DIR/$name.tar.zst" >/dev/null
	PATH=$SB_BIN:$PATH "$SB_ROOT/mender/sqlbundle-mender-artifact" \
	    -t "$DEVICE" -o "$T_DIR/$name.mender" "$T_DIR/$name.tar.zst" >/dev/null
	BID=$(tar -xOf "$T_DIR/$name.tar.zst" MANIFEST | sha256sum | cut -d' ' -f1)
}

# The database's heads, "" at base (with or without a version table).
version() {
	[ "$(q "SELECT to_regclass('public.alembic_version') IS NULL")" = f ] || return 0
	q 'SELECT string_agg(version_num, $$ $$ ORDER BY version_num) FROM alembic_version'
}

# The database's schema and user tables (not its history).
db_state() {
	schema_dump --exclude-schema=sqlbundle
	table_digest
}

test_install_commit() {
	mender_setup
	bundle_of full --key keys/hq.key
	mender_ 0 install "$T_DIR/full.mender"
	log_has 'sqlbundle: database at base; applying full.tar.zst'
	log_has 'upgraded 2864583ca021 (4/4)'
	assert_eq "$(version)" 2864583ca021
	# Pending until committed; nothing to do for the database then.
	assert_eq "$(shown_artifact)" factory
	mender_ 0 commit
	assert_eq "$(shown_artifact)" arcoirispos-base-2864583ca021
	mender_ 0 show-provides
	assert_out "sqlbundle.arcoirispos.version=2864583ca021"
	mender_ 2 commit

	# The same schema and rows (defaults make fresh ids and times) as
	# the applier run by hand.
	db_state | cut -d' ' -f1,2 >mender.state
	new_db by_hand
	expect_rc 0 "$SBA" upgrade --trust "$MD/trust" "$T_DIR/full.tar.zst"
	db_state | cut -d' ' -f1,2 >by_hand.state
	diff mender.state by_hand.state || fail "Mender's install differs from the applier's"
	export PGDATABASE=$STORE_DB

	inventory
	inv_is sqlbundle_status ok
	inv_is sqlbundle_project arcoirispos
	inv_is sqlbundle_revision 2864583ca021
	inv_is sqlbundle_last_revision 2864583ca021
	inv_is sqlbundle_last_direction upgrade
	inv_is sqlbundle_last_bundle_id "$BID"
	inv_is sqlbundle_last_key_id "$(q 'SELECT DISTINCT key_id FROM sqlbundle.history')"
	grep -qE '^sqlbundle_last_applied_at=[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:]{8}' "$T_DIR/inv" ||
	    fail "no applied_at: $(cat "$T_DIR/inv")"
	# Packed without a rehearsal: no expected schema to compare with.
	inv_is sqlbundle_drift unchecked
	assert_eq "$(wc -l <"$T_DIR/inv")" 9
}

# A rehearsed bundle: the inventory says none, then how many objects a
# hand edit made differ once `sqlbundle-apply drift` has looked.
test_inventory_drift() {
	mender_setup
	new_db scratch
	"$SB" -C proj test --scratch "dbname=scratch" >/dev/null 2>&1 ||
	    fail "the rehearsal of the example failed"
	export PGDATABASE=$STORE_DB
	bundle_of full --key keys/hq.key
	tar -tf "$T_DIR/full.tar.zst" | grep -qx FINGERPRINTS || fail "no FINGERPRINTS"
	mender_ 0 install "$T_DIR/full.mender"
	mender_ 0 commit
	inventory
	inv_is sqlbundle_drift none
	grep -qE '^sqlbundle_drift_checked_at=[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$' "$T_DIR/inv" ||
	    fail "no drift_checked_at: $(cat "$T_DIR/inv")"
	q "CREATE INDEX by_hand ON pos.sale (created_at); ALTER TABLE pos.sale ADD COLUMN note2 text"
	expect_rc 7 "$SBA" drift --trust "$MD/trust" "$T_DIR/full.tar.zst"
	inventory
	inv_is sqlbundle_drift 2
}

test_install_rollback() {
	mender_setup
	bundle_of part --key keys/hq.key --to 37a02ec8662a
	bundle_of full --key keys/hq.key
	mender_ 0 install "$T_DIR/part.mender"
	mender_ 0 commit
	assert_eq "$(version)" 37a02ec8662a
	db_state >before.state

	mender_ 0 install "$T_DIR/full.mender"
	log_has 'sqlbundle: database at 37a02ec8662a; applying full.tar.zst'
	assert_eq "$(version)" 2864583ca021
	mender_ 0 rollback
	log_has 'sqlbundle: rolling the database back from 2864583ca021 to 37a02ec8662a'
	log_has 'sqlbundle: database back at 37a02ec8662a'
	assert_eq "$(version)" 37a02ec8662a
	db_state >after.state
	diff before.state after.state || fail "the rollback did not restore the database"
	assert_eq "$(shown_artifact)" arcoirispos-base-37a02ec8662a
	mender_ 2 rollback

	inventory
	inv_is sqlbundle_revision 37a02ec8662a
	inv_is sqlbundle_last_direction downgrade
	inv_is sqlbundle_last_revision 853113448960
	inv_is sqlbundle_last_bundle_id "$BID"

	# From base, a rollback returns to base.
	new_db from_base
	sed -i "s/^dbname=.*/dbname=$PGDATABASE/" "$MD/pg_service.conf"
	mender_ 0 install "$T_DIR/part.mender"
	mender_ 0 rollback
	log_has 'to base'
	assert_eq "$(version)" ""
	inventory
	inv_is sqlbundle_revision base
}

# The store at 2864583ca021 through Mender (artifact good.mender, committed).
deploy_good() {
	bundle_of good --key keys/hq.key --to 2864583ca021
	mender_ 0 install "$T_DIR/good.mender"
	mender_ 0 commit
}

# proj gets r5 (a table; reversible unless $1 is "irreversible") and r6,
# whose second statement fails after its first created a table.
failing_chain() {
	{
		printf -- '-- revision: r5\n-- down_revision: 2864583ca021\n'
		printf -- '-- message: fleet table\n\n-- +upgrade\n'
		printf 'CREATE TABLE core.fleet_r5 (id int);\n'
		[ "${1:-}" = irreversible ] ||
			printf '\n-- +downgrade\nDROP TABLE core.fleet_r5;\n'
	} >proj/revisions/r5_fleet_table.sql
	cat >proj/revisions/r6_fails.sql <<'EOF'
-- revision: r6
-- down_revision: r5
-- message: fails half-way

-- +upgrade
CREATE TABLE core.fleet_r6 (id int);
SELECT 1 / 0;

-- +downgrade
DROP TABLE core.fleet_r6;
EOF
}

test_failing_revision_rolls_back() {
	mender_setup
	failing_chain
	bundle_of bad --key keys/hq.key
	deploy_good
	db_state >before.state

	mender_ 1 install "$T_DIR/bad.mender"
	log_has 'sqlbundle-apply: revision "r6" (revisions/r6_fails.sql:7): division by zero'
	log_has 'division by zero'
	log_has 'sqlbundle: ArtifactInstall failed: sqlbundle-apply upgrade exited 3'
	log_has 'sqlbundle: rolling the database back from r5 to 2864583ca021'
	log_has 'deployment failed; store database: 2864583ca021'
	assert_eq "$(version)" 2864583ca021
	db_state >after.state
	diff before.state after.state || fail "the failed deployment changed the database"
	assert_eq "$(shown_artifact)" arcoirispos-base-2864583ca021
	mender_ 2 commit
	inventory
	inv_is sqlbundle_revision 2864583ca021
	inv_is sqlbundle_last_direction downgrade
}

test_failing_revision_irreversible() {
	mender_setup
	failing_chain irreversible
	bundle_of bad --key keys/hq.key
	bundle_of fixed --key keys/hq.key --to r5
	deploy_good

	# No rollback through r5: the database stays at the last good
	# revision, never half-way through r6, and Mender says so.
	mender_ 1 install "$T_DIR/bad.mender"
	log_has 'sqlbundle: bundle has irreversible revisions (r5): no rollback'
	log_has 'division by zero'
	log_has 'revision "r5" (r5_fleet_table.sql) is irreversible'
	log_has 'sqlbundle: no rollback to 2864583ca021'
	assert_eq "$(version)" r5
	assert_eq "$(q "SELECT to_regclass('core.fleet_r5') IS NOT NULL, to_regclass('core.fleet_r6') IS NULL")" "t|t"
	assert_eq "$(shown_artifact)" arcoirispos-base-r6_INCONSISTENT
	inventory
	inv_is sqlbundle_revision r5

	# The technician's fix: deploy a bundle that ends where the store
	# is. Mender commits it at once (no rollback to offer).
	mender_ 0 install "$T_DIR/fixed.mender"
	assert_out "Committing immediately"
	log_has 'nothing to do'
	assert_eq "$(shown_artifact)" arcoirispos-base-r5
	assert_eq "$(version)" r5
}

test_untrusted_and_tampered() {
	mender_setup
	bundle_of part --key keys/hq.key --to 37a02ec8662a
	mender_ 0 install "$T_DIR/part.mender"
	mender_ 0 commit
	full_dump >before.sql

	"$SB" -C proj keygen intruder >intruder.id
	bundle_of untrusted --key keys/intruder.key
	mender_ 1 install "$T_DIR/untrusted.mender"
	log_has "untrusted.tar.zst: bundle signed by untrusted key $(sed -n 's/^key id: *//p' intruder.id)"
	log_has 'sqlbundle: ArtifactInstall failed: sqlbundle-apply upgrade exited 1'
	log_has 'sqlbundle: database already at 37a02ec8662a: nothing to roll back'
	grep -F 'sqlbundle-apply: ' "$T_DIR/err" >untrusted.msg

	# One flipped byte in a script, the manifest and signature intact.
	bundle_of full --key keys/hq.key
	zstd -q -d -c "$T_DIR/full.tar.zst" >plain.tar
	/usr/bin/python3 - plain.tar <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
name = data.index(b"upgrade/0003_")
while name % 512:       # the entry's header, not the manifest's line
    name = data.index(b"upgrade/0003_", name + 1)
data[name + 512] ^= 1   # the first byte of its data
open(sys.argv[1], "wb").write(bytes(data))
EOF
	zstd -q -f plain.tar -o "$T_DIR/tampered.tar.zst"
	PATH=$SB_BIN:$PATH "$SB_ROOT/mender/sqlbundle-mender-artifact" \
	    -t "$DEVICE" -o "$T_DIR/tampered.mender" "$T_DIR/tampered.tar.zst" >/dev/null
	mender_ 1 install "$T_DIR/tampered.mender"
	log_has 'tampered.tar.zst: tampered entry "upgrade/0003_853113448960.sql": SHA-256 mismatch'
	log_has 'sqlbundle: database already at 37a02ec8662a: nothing to roll back'
	grep -F 'sqlbundle-apply: ' "$T_DIR/err" >tampered.msg

	# Both refused with the applier's own words, before any SQL ran.
	cmp -s untrusted.msg tampered.msg && fail "the two refusals read the same"
	full_dump >after.sql
	diff before.sql after.sql || fail "a refused bundle changed the database"
	assert_eq "$(shown_artifact)" arcoirispos-base-37a02ec8662a
	inventory
	inv_is sqlbundle_revision 37a02ec8662a
	inv_is sqlbundle_last_direction upgrade
}

test_unreadable_database() {
	mender_setup
	bundle_of full --key keys/hq.key
	sed -i 's/^dbname=.*/dbname=no_such_store/' "$MD/pg_service.conf"
	inventory
	inv_is sqlbundle_status error
	grep -q '^sqlbundle_error=sqlbundle-apply: could not connect to the database: .*"no_such_store" does not exist' "$T_DIR/inv" ||
	    fail "inventory: $(cat "$T_DIR/inv")"
	assert_eq "$(wc -l <"$T_DIR/inv")" 2
	mender_ 1 install "$T_DIR/full.mender"
	log_has 'sqlbundle: ArtifactInstall failed: cannot read the database: sqlbundle-apply: could not connect'
	log_has 'sqlbundle: nothing to roll back: the install did not reach the database'
	assert_eq "$(shown_artifact)" factory

	rm "$MD/pg_service.conf"
	inventory
	inv_is sqlbundle_error 'sqlbundle-apply: could not connect to the database: service file "'"$MD"'/pg_service.conf" not found'
}

# Mender's own signature on the artifact: with ArtifactVerifyKey set, the
# client refuses an unsigned or wrongly signed artifact before the module
# sees it; our Ed25519 signature inside is checked either way.
test_mender_signature() {
	mender_setup
	openssl ecparam -genkey -name prime256v1 -noout -out mender.key 2>/dev/null
	openssl ec -in mender.key -pubout -out "$MD/mender.pub" 2>/dev/null
	openssl ecparam -genkey -name prime256v1 -noout -out other.key 2>/dev/null
	echo "{\"ArtifactVerifyKey\": \"$MD/mender.pub\"}" >"$MD/mender.conf"
	"$SB" -C proj pack --key keys/hq.key -o "$T_DIR/full.tar.zst" >/dev/null
	for k in mender other; do
		PATH=$SB_BIN:$PATH "$SB_ROOT/mender/sqlbundle-mender-artifact" \
		    -t "$DEVICE" -k $k.key -o "$T_DIR/$k.mender" \
		    "$T_DIR/full.tar.zst" >/dev/null
	done
	PATH=$SB_BIN:$PATH "$SB_ROOT/mender/sqlbundle-mender-artifact" \
	    -t "$DEVICE" -o "$T_DIR/unsigned.mender" "$T_DIR/full.tar.zst" >/dev/null
	expect_rc 0 mender-artifact validate -k "$MD/mender.pub" "$T_DIR/mender.mender"

	mender_ 1 install "$T_DIR/unsigned.mender"
	log_has 'expecting signed artifact, but no signature file found'
	mender_ 1 install "$T_DIR/other.mender"
	log_has 'invalid signature: signer: verification failed'
	grep -q 'modules/v3/sqlbundle' "$MD/mender.log" &&
	    fail "the module ran for a badly signed artifact"
	assert_eq "$(version)" ""
	mender_ 0 install "$T_DIR/mender.mender"
	assert_eq "$(version)" 2864583ca021
	mender_ 0 commit
}

# The HQ wrapper: name, provides and meta-data from the manifest; needs no
# root.
test_artifact_wrapper() {
	command -v mender-artifact >/dev/null ||
		fail "mender-artifact missing (scripts/deps.sh mender installs it)"
	copy_example proj
	"$SB" -C proj keygen hq >/dev/null
	failing_chain irreversible
	"$SB" -C proj pack --key keys/hq.key --from 37a02ec8662a --to r5 >/dev/null
	local b=proj/bundles/arcoirispos-37a02ec8662a-r5.tar.zst w
	w=$SB_ROOT/mender/sqlbundle-mender-artifact
	PATH=$SB_BIN:$PATH expect_rc 0 "$w" -t t1 --device-type=t2 \
	    --trust proj/keys/hq.pub "$b"
	assert_out "artifact proj/bundles/arcoirispos-37a02ec8662a-r5.mender"
	expect_rc 0 "$SBA" verify --json --trust proj/keys/hq.pub "$b"
	local id kid
	id=$(sed -n 's/.*"bundle_id":"\([0-9a-f]*\)".*/\1/p' out)
	kid=$(sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p' out)
	[ ${#id} -eq 64 ] && [ ${#kid} -eq 16 ] || fail "no ids from the applier"
	expect_rc 0 mender-artifact read proj/bundles/arcoirispos-37a02ec8662a-r5.mender
	assert_out "Name: arcoirispos-37a02ec8662a-r5"
	assert_out "Compatible devices: '[t1 t2]'"
	assert_out "Type:   sqlbundle"
	assert_out "sqlbundle.arcoirispos.version: r5"
	assert_out "\"sqlbundle_bundle_id\": \"$id\""
	assert_out "\"sqlbundle_from\": \"37a02ec8662a\""
	assert_out "\"sqlbundle_to\": \"r5\""
	assert_out "\"sqlbundle_irreversible\": \"r5\""
	assert_out "\"sqlbundle_key_id\": \"$kid\""
	assert_out "name:     arcoirispos-37a02ec8662a-r5.tar.zst"

	PATH=$SB_BIN:$PATH expect_err 2 'no device type (-t)' "$w" "$b"
	# Each -t is one word, never an option of mender-artifact.
	rm proj/bundles/arcoirispos-37a02ec8662a-r5.mender
	PATH=$SB_BIN:$PATH expect_err 2 'invalid device type "store -n INJECTED"' \
	    "$w" -t "store -n INJECTED" "$b"
	PATH=$SB_BIN:$PATH expect_err 2 'invalid device type "-n"' \
	    "$w" --device-type=-n "$b"
	PATH=$SB_BIN:$PATH expect_err 2 'invalid device type "*"' "$w" -t '*' "$b"
	[ ! -e proj/bundles/arcoirispos-37a02ec8662a-r5.mender ] ||
		fail "an artifact with a refused device type"
	PATH=$SB_BIN:$PATH expect_err 2 'unknown option "--bogus"' "$w" --bogus -t x "$b"
	PATH=$SB_BIN:$PATH expect_err 4 'cannot read bundle "missing.tar.zst"' "$w" -t x missing.tar.zst
	"$SB" -C proj keygen other >/dev/null
	PATH=$SB_BIN:$PATH expect_rc 1 "$w" -t x --trust proj/keys/other.pub "$b"
	[ ! -e proj/bundles/arcoirispos-37a02ec8662a-r5.mender.tmp ] || fail "left a file"
	PATH=$SB_BIN:$PATH expect_rc 0 "$w" --help
	assert_out "Usage: sqlbundle-mender-artifact -t DEVICE_TYPE"
}

# The README's store-update script, word for word, in ./store-update, and
# a `mender` in ./shim that runs the client on this test's configuration.
store_update_script() {
	sed -n '/^## Rolling out to a fleet/,/^## /p' "$SB_ROOT/README.md" |
	    awk '/^```sh$/ { inb = 1; buf = ""; next }
		/^```$/ { if (inb && buf ~ /# store-update /) printf "%s", buf; inb = 0; next }
		inb { buf = buf $0 "\n" }' >store-update
	grep -q '^mender install "$1"' store-update ||
		fail "no store-update script in README.md"
	mkdir -p shim
	printf '#!/bin/sh\nexec /usr/bin/mender --no-syslog --config "%s" --fallback-config "%s" --data "%s" "$@"\n' \
	    "$MD/mender.conf" "$MD/mender.conf" "$MD/data" >shim/mender
	chmod +x shim/mender
}

# store_update ARTIFACT: the script, under the test's lock file.
store_update() {
	expect_rc 0 in_ns env PATH="$T_DIR/shim:$SB_BIN:$PATH" LOCK="$T_DIR/lock" \
	    sh store-update "$1"
}

# The README's store-update script, word for word: one deployment at a
# time under a lock, and a pending install is rolled back before the next.
test_store_update_recipe() {
	mender_setup
	store_update_script
	bundle_of part --key keys/hq.key --to 37a02ec8662a
	bundle_of full --key keys/hq.key

	store_update "$T_DIR/part.mender"
	assert_eq "$(shown_artifact)" arcoirispos-base-37a02ec8662a
	assert_eq "$(version)" 37a02ec8662a

	# A power cut left an install pending: undone first, then the new one.
	mender_ 0 install "$T_DIR/full.mender"
	assert_eq "$(version)" 2864583ca021
	store_update "$T_DIR/full.mender"
	log_has 'sqlbundle: rolling the database back from 2864583ca021 to 37a02ec8662a'
	log_has 'sqlbundle: database at 37a02ec8662a; applying full.tar.zst'
	assert_eq "$(version)" 2864583ca021
	assert_eq "$(shown_artifact)" arcoirispos-base-2864583ca021
	mender_ 2 commit
	[ -e "$T_DIR/lock" ] || fail "the script took no lock"
}

# The inventory's parser against strings that look like keys: a database
# user named like a piece of status JSON (it lands in the history). Runs
# the script directly, so it needs no root.
test_inventory_hostile_strings() {
	copy_example proj
	"$SB" -C proj keygen hq >/dev/null
	"$SB" -C proj pack --key keys/hq.key --to 37a02ec8662a -o "$T_DIR/part.tar.zst" >/dev/null
	new_db
	local evil='x","revisions":["evil"],"history":[{"revision":"evil'
	q "CREATE ROLE \"${evil//\"/\"\"}\" LOGIN SUPERUSER"
	PGUSER=$evil expect_rc 0 "$SBA" upgrade --trust proj/keys/hq.pub part.tar.zst
	assert_eq "$(q 'SELECT DISTINCT db_user FROM sqlbundle.history')" "$evil"
	printf '[sqlbundle]\nhost=%s\nport=%s\nuser=%s\ndbname=%s\n' \
	    "$PGHOST" "$PGPORT" "$PGUSER" "$PGDATABASE" >svc.conf
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER PGSERVICEFILE="$T_DIR/svc.conf" \
	    PATH="$SB_BIN:$PATH" "$SB_ROOT/mender/mender-inventory-sqlbundle" >"$T_DIR/inv"
	inv_is sqlbundle_status ok
	inv_is sqlbundle_revision 37a02ec8662a
	inv_is sqlbundle_last_revision 37a02ec8662a
	inv_is sqlbundle_last_direction upgrade
	# Version-table values that try to add a key, or glob: printed as
	# they are, one line each, the newline written \x0a.
	q "INSERT INTO public.alembic_version VALUES (E'x\"\\nsqlbundle_error=forged'), ('*')"
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER PGSERVICEFILE="$T_DIR/svc.conf" \
	    PATH="$SB_BIN:$PATH" "$SB_ROOT/mender/mender-inventory-sqlbundle" >"$T_DIR/inv"
	! grep -q '^sqlbundle_error' "$T_DIR/inv" || fail "forged key: $(cat "$T_DIR/inv")"
	grep -c '^sqlbundle_revision=' "$T_DIR/inv" >n
	assert_eq "$(cat n)" 3 "revision lines"
	grep -qxF 'sqlbundle_revision=x"\x0asqlbundle_error=forged' "$T_DIR/inv" ||
		fail "escaped head: $(cat "$T_DIR/inv")"
	grep -qxF 'sqlbundle_revision=*' "$T_DIR/inv" || fail "glob head: $(cat "$T_DIR/inv")"
	[ "$(wc -l <"$T_DIR/inv")" -eq 11 ] || fail "lines: $(cat "$T_DIR/inv")"
}

# A power cut in the middle of a deployment: every process of it and the
# database server die at once, while a revision runs. The README's
# store-update script then deploys again, from the last committed step.
test_power_cut_during_install() {
	mender_setup
	cat >proj/revisions/r4_first.sql <<'EOF'
-- revision: r4
-- down_revision: 2864583ca021
-- message: committed before the cut

-- +upgrade
CREATE TABLE core.fleet_r4 (id int);

-- +downgrade
DROP TABLE core.fleet_r4;
EOF
	cat >proj/revisions/r5_waits.sql <<'EOF'
-- revision: r5
-- down_revision: r4
-- message: waits for the test's lock

-- +upgrade
CREATE TABLE core.fleet_r5 (id int);
SELECT pg_advisory_xact_lock(4242);

-- +downgrade
DROP TABLE core.fleet_r5;
EOF
	bundle_of next --key keys/hq.key
	deploy_good

	# The test's session holds the lock r5 waits for, granted before the
	# install starts.
	local pid
	hold_advisory 4242
	setsid "$MD/in-ns" mender --no-syslog --config "$MD/mender.conf" \
	    --fallback-config "$MD/mender.conf" --data "$MD/data" \
	    install "$T_DIR/next.mender" >cut.log 2>&1 3>&- &
	pid=$!
	# Until r5 waits (the server polls; the limit only ends a stuck test).
	q "SET statement_timeout = '300s';
	   DO \$\$ BEGIN
	     WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity
	                       WHERE application_name = 'sqlbundle-apply'
	                         AND wait_event = 'advisory') LOOP
	       PERFORM pg_stat_clear_snapshot();
	       PERFORM pg_sleep(0.01);
	     END LOOP;
	   END \$\$;" || { cat cut.log; fail "r5 never waited"; }
	# Mender relays the module's lines on its own time: the kill must
	# not come before the first one is in the log.
	wait_for "grep -qF 'applying next.tar.zst' cut.log"
	kill -KILL -- "-$pid"
	wait "$pid" || true
	# (The server must not inherit the lock holder's pipe.)
	"$SB_ROOT/scripts/pgserver.sh" restart "$SB_PGDIR" 3>&-
	release_session
	# r5's table went with its transaction. r4 committed, but without
	# waiting for the disk (docs/DESIGN.md, "Durability"): the cut may
	# take it back too, never anything before it.
	local cut steps
	cut=$(version)
	case $cut in
	r4) steps=1 ;;
	2864583ca021) steps=2 ;;
	*) fail "after the cut: \"$cut\", expected r4 or 2864583ca021" ;;
	esac
	assert_eq "$(q "SELECT to_regclass('core.fleet_r5') IS NULL")" t

	# After the restart: the store-update script. Mender kept no record of
	# an install cut short (its rollback finds nothing pending), so the
	# new install resumes from what the cut left.
	store_update_script
	store_update "$T_DIR/next.mender"
	log_has "sqlbundle: database at $cut; applying next.tar.zst"
	log_has "upgraded r5 ($steps/$steps)"
	assert_eq "$(version)" r5
	assert_eq "$(q "SELECT count(*) FROM sqlbundle.history WHERE outcome = 'done' AND revision = 'r4'")" 1
	assert_eq "$(shown_artifact)" arcoirispos-base-r5
}
