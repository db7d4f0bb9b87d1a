# --json in both programs: the same bundle gives the same "verify" and
# "error" lines from sqlbundle and sqlbundle-apply, and one scenario
# makes every kind of applier line (run.sh checks them all against
# docs/sqlbundle.schema.json afterwards).

# The example project in proj/ plus revision c1 (transactional: false)
# whose fourth statement divides by the rows of public.json_gate: it
# fails while that table is empty, and resumes there once it is not.
json_bundle() {
	copy_example proj
	cat > proj/revisions/c1_gate.sql <<'EOF2'
-- revision: c1
-- down_revision: 2864583ca021
-- message: a gated step
-- transactional: false

-- +upgrade
CREATE TABLE IF NOT EXISTS core.c1_log (n int);
INSERT INTO core.c1_log VALUES (1);
DO $$ BEGIN RAISE NOTICE 'c1 half-way'; END $$;
SELECT 1 / (SELECT count(*) FROM public.json_gate)::int;
INSERT INTO core.c1_log VALUES (2);

-- +downgrade
DROP TABLE core.c1_log;
EOF2
	"$SB" -C proj keygen hq > /dev/null
	"$SB" -C proj keygen other > /dev/null
	"$SB" -C proj pack --key keys/hq.key -o "$PWD/c1.tar.zst" > /dev/null
	cp c1.tar.zst rogue.tar.zst
	"$SB" -C proj pack --key keys/other.key --force -o "$PWD/rogue.tar.zst" > /dev/null
	export SQLBUNDLE_TRUST=$PWD/proj/keys/hq.pub
}

# py CODE FILE: run a python assertion on the JSON lines of FILE (`ev`,
# a list of objects).
py() {
	/usr/bin/python3 - "$2" <<EOF3
import json, sys
ev = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
$1
EOF3
}

# Both programs say the same thing, in the same words, about a bundle.
test_verify_same_in_both() {
	json_bundle
	expect_rc 0 "$SB" verify --json c1.tar.zst --trust proj/keys/hq.pub
	mv out hq.sb
	expect_rc 0 "$SBA" verify --json c1.tar.zst --trust proj/keys/hq.pub
	diff hq.sb out || fail "the two verify lines differ"
	py 'assert len(ev) == 1 and ev[0]["event"] == "verify", ev
v = ev[0]
assert v["project"] == "arcoirispos" and v["from"] == "base" and v["to"] == "c1", v
assert v["revision_count"] == 5 and v["key_file"] == "proj/keys/hq.pub", v' out
	local id kid
	id=$(tar -xOf c1.tar.zst MANIFEST | sha256sum | cut -c1-64)
	kid=$(openssl pkey -pubin -in proj/keys/hq.pub -outform DER | tail -c 32 | sha256sum | cut -c1-16)
	py "assert ev[0]['bundle_id'] == '$id' and ev[0]['key_id'] == '$kid', ev" out

	# Refused: one "error" line, the same from both, and on stderr too.
	expect_rc 1 "$SB" verify --json rogue.tar.zst --trust proj/keys/hq.pub
	mv out rogue.sb
	grep -q 'bundle signed by untrusted key' err || fail "no error on stderr: $(cat err)"
	expect_rc 1 "$SBA" verify --json rogue.tar.zst --trust proj/keys/hq.pub
	diff rogue.sb out || fail "the two error lines differ"
	py 'assert len(ev) == 1 and ev[0]["event"] == "error" and ev[0]["code"] == 1, ev
assert "bundle signed by untrusted key" in ev[0]["message"], ev' out
	# The default trust folder, from the environment, for both.
	mkdir trusted
	cp proj/keys/hq.pub trusted/
	SQLBUNDLE_TRUST=$PWD/trusted expect_rc 0 "$SB" verify --json c1.tar.zst
	SQLBUNDLE_TRUST=$PWD/trusted expect_rc 0 "$SBA" verify --json c1.tar.zst
	SQLBUNDLE_TRUST=$PWD/missing expect_rc 4 "$SB" verify --json c1.tar.zst
	mv out missing.sb
	SQLBUNDLE_TRUST=$PWD/missing expect_rc 4 "$SBA" verify --json c1.tar.zst
	diff missing.sb out || fail "the two error lines differ"
	py 'e = ev[0]
assert e["event"] == "error" and e["code"] == 4, e
assert e["detail"] == "trusted keys from $SQLBUNDLE_TRUST", e' out
	grep -qxF 'DETAIL: trusted keys from $SQLBUNDLE_TRUST' err || fail "no DETAIL: $(cat err)"
	# Not a regular file: refused the same way by both.
	mkfifo fifo
	expect_err 1 'bundle "fifo" is not a regular file' "$SB" verify fifo --trust proj/keys/hq.pub
	expect_err 1 'bundle "fifo" is not a regular file' "$SBA" verify fifo --trust proj/keys/hq.pub
}

# Every kind of applier line, in one story: chunks and a notice, a
# failure, plan and status of an interrupted step, a note, a resumed
# step, a downgrade.
test_apply_lines() {
	json_bundle
	new_db
	q "CREATE TABLE public.json_gate (x int)"
	expect_rc 3 "$SBA" --json --chunk-size 1K upgrade c1.tar.zst
	py 'k = [e["event"] for e in ev]
assert k[0] == "start" and k[-1] == "error", k
assert k.count("step_begin") == 5 and k.count("step_done") == 4, k
s = ev[0]
assert s["direction"] == "upgrade" and s["revisions"] == [] and s["target"] == "c1", s
assert s["step_count"] == 5 and s["database"] == "test_apply_lines", s
ch = [e for e in ev if e["event"] == "chunk"]
assert ch and all(e["revision"] == "2864583ca021" for e in ch), ch
assert any(e["seed_file"].endswith("/70-acct.account.csv") for e in ch), ch
assert [e["message"] for e in ev if e["event"] == "notice"] == ["NOTICE:  c1 half-way"], ev
e = ev[-1]
assert e["code"] == 3 and e["sqlstate"] == "22012", e
assert e["message"].startswith("revision \"c1\" (revisions/c1_gate.sql:10): division by zero"), e' out

	expect_rc 0 "$SBA" --json plan c1.tar.zst
	py 'p = ev[0]
assert len(ev) == 1 and p["event"] == "plan", ev
assert p["revisions"] == ["2864583ca021"] and p["target"] == "c1", p
assert p["direction"] == "upgrade" and p["step_count"] == 1, p
st = p["steps"][0]
assert st["revision"] == "c1" and st["revision_message"] == "a gated step", st
assert st["file"] == "c1_gate.sql" and st["transactional"] is False, st
assert st["resume"]["statements_done"] == 3, st
assert st["resume"]["message"] == "resumes at statement 4", st' out
	expect_rc 0 "$SBA" status --json
	py 's = ev[0]
assert s["event"] == "status" and s["revisions"] == ["2864583ca021"], s
f = s["in_progress"]
assert len(f) == 1 and f[0]["revision"] == "c1" and f[0]["statements_done"] == 3, f
assert f[0]["bundle_id"] == s["history"][0]["bundle_id"], s' out

	# Nothing to run, but a step is half-done: a note.
	expect_rc 0 "$SBA" --json upgrade c1.tar.zst 2864583ca021
	py 'k = [e["event"] for e in ev]
assert k == ["info", "start", "done"], k
assert "was interrupted; it resumes when the database moves on" in ev[0]["message"], ev' out

	q "INSERT INTO public.json_gate VALUES (1)"
	expect_rc 0 "$SBA" --json upgrade c1.tar.zst
	py 'k = [e["event"] for e in ev]
assert k == ["start", "step_begin", "resume", "step_done", "done"], k
assert ev[2]["revision"] == "c1" and ev[2]["message"] == "statement 4 of 5", ev
assert ev[-1]["target"] == "c1" and ev[-1]["step_count"] == 1, ev' out
	assert_eq "$(q "SELECT string_agg(n::text, ',' ORDER BY n) FROM core.c1_log")" "1,2"

	expect_rc 0 "$SBA" --json downgrade c1.tar.zst -2
	py 'k = [e["event"] for e in ev]
assert k == ["start", "step_begin", "step_done", "step_begin", "step_done", "done"], k
assert all(e["direction"] == "downgrade" for e in ev if "direction" in e), ev
assert [e["revision"] for e in ev if e["event"] == "step_done"] == ["c1", "2864583ca021"], ev
assert ev[0]["revisions"] == ["c1"] and ev[-1]["target"] == "853113448960", ev' out
	expect_rc 0 "$SBA" status --json
	py 'h = ev[0]["history"]
assert [(x["direction"], x["revision"]) for x in h[:3]] == [("downgrade", "2864583ca021"), ("downgrade", "c1"), ("upgrade", "c1")], h' out
}
