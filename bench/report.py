#!/usr/bin/python3
"""Turn the measurements of bench/run.sh into RESULTS.md and the plot of
apply time against chain length.

    report.py RESULTS_DIR OUT_DIR

RESULTS_DIR holds times.tsv (bench, side, run, seconds, exit status),
rss.tsv (program and size, KiB, exit status), meta.tsv (key, value) and
notes.txt. OUT_DIR gets RESULTS.md and apply-vs-chain.png (with gnuplot).
"""
import os
import shutil
import statistics
import subprocess
import sys

RSS_LIMIT_KIB = 32 * 1024
# "Flat": from the smallest to the largest size, peak RSS grows by less
# than this fraction plus this many KiB.
FLAT_FRACTION = 0.10
FLAT_SLACK_KIB = 1024


def read_tsv(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    rows.append(line.split("\t"))
    return rows


class Series:
    def __init__(self):
        self.ok, self.failed, self.by_run = [], 0, {}

    def add(self, secs, rc, run=None):
        if rc == "0":
            self.ok.append(float(secs))
            self.by_run[run] = float(secs)
        else:
            self.failed += 1

    @property
    def n(self):
        return len(self.ok) + self.failed

    def median(self):
        return statistics.median(self.ok) if self.ok else None

    def cell(self):
        if not self.n:
            return "not run"
        if not self.ok:
            return "failed (%d of %d runs)" % (self.failed, self.n)
        s = "%s [%s–%s]" % (fmt_s(self.median()), fmt_s(min(self.ok)),
                             fmt_s(max(self.ok)))
        if self.failed:
            s += ", %d of %d runs failed" % (self.failed, self.n)
        return s


def fmt_s(x):
    if x >= 100:
        return "%.0f s" % x
    if x >= 10:
        return "%.1f s" % x
    return "%.2f s" % x if x >= 1 else "%.3f s" % x


def fmt_mib(nbytes):
    n = int(nbytes)
    if n < 1048576:
        return "%.0f KiB" % (n / 1024)
    return "%.1f MiB" % (n / 1048576)


def main():
    res, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    meta = dict((r[0], r[1] if len(r) > 1 else "")
                for r in read_tsv(os.path.join(res, "meta.tsv")))
    series = {}
    order = []
    for r in read_tsv(os.path.join(res, "times.tsv")):
        bench, side, run, secs, rc = r
        if (bench, side) not in series:
            series[(bench, side)] = Series()
            order.append((bench, side))
        series[(bench, side)].add(secs, rc, run)
    rss = {}
    for r in read_tsv(os.path.join(res, "rss.tsv")):
        prog, mb = r[0].rsplit(" ", 1)
        rss[(prog, int(mb))] = (int(r[1]) if r[1].isdigit() else None,
                                r[2] if len(r) > 2 else "?")
    notes_path = os.path.join(res, "notes.txt")
    notes = open(notes_path).read().splitlines() if os.path.exists(
        notes_path) else []

    def get(bench, side):
        return series.get((bench, side), Series())

    revs = meta.get("revs", "?")
    L = []
    L.append("# sqlbundle benchmarks\n")
    quick = meta.get("quick") == "1"
    when = meta.get("date", "?")
    if meta.get("machine") != "quiet":
        L.append("**Figures of %s on a shared machine** (other builds and "
                 "tests may have run at the same time; load average %s at "
                 "the start, %s at the end): indicative, not final.%s\n" % (
                     when, meta.get("load-start", "?"),
                     meta.get("load-end", "?"),
                     " **Quick run** (`BENCH_QUICK=1`): tiny sizes, so the "
                     "targets, set for the full sizes, are not judged by "
                     "it." if quick else ""))
    else:
        L.append("Figures of %s on a quiet machine (load average %s at the "
                 "start, %s at the end).%s\n" % (
                     when, meta.get("load-start", "?"),
                     meta.get("load-end", "?"),
                     " Quick run (`BENCH_QUICK=1`)." if quick else ""))
    L.append("Produced by `%s` in %s (script `bench/run.sh`; raw figures "
             "in `.tmp/bench/results/`).\n" % (meta.get("command", "?"),
                                                  meta.get("elapsed", "?")))

    L.append("## Time\n")
    L.append("Medians of %s runs [min–max], each comparison interleaved "
             "(A B A B ...), each database run on a fresh database "
             "(`createdb -T template0`, then `CHECKPOINT` and `sync`, "
             "untimed). Ratio = ours / anchor (medians).\n" %
             meta.get("runs", "?"))
    L.append("| work | ours median [min–max] | anchor | anchor median "
             "[min–max] | ratio | target | met? |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")

    pairs = []

    def judge(work, ours, anchor, target):
        """Ratio, target and met? cells of ours against anchor; the pairs
        of runs where ours was faster go to pairs."""
        mo, ma = ours.median(), anchor.median()
        both = sorted(set(ours.by_run) & set(anchor.by_run))
        if target is not None and both:
            wins = sum(ours.by_run[r] < anchor.by_run[r] for r in both)
            pairs.append("%s: %d of %d" % (work, wins, len(both)))
        ratio = "%.2f" % (mo / ma) if mo and ma else "—"
        met = "—"
        if target is not None:
            if mo and ma and not ours.failed and not anchor.failed:
                met = "yes" if mo / ma <= target else "no"
            else:
                met = "no (not measured)" if not (mo and ma) else \
                    "no (failed runs)"
        return (ratio, "≤ %.1f" % target if target is not None else
                "context", "**%s**" % met if met.startswith("no") else met)

    def row(work, ours, anchor_name, anchor, target):
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % ((
            work, ours.cell(), anchor_name, anchor.cell()) +
            judge(work, ours, anchor, target)))

    a = "apply-%s" % revs
    if (a, "ours") in series or (a, "psql") in series:
        row("apply %s revisions, no seeds" % revs, get(a, "ours"),
            "`psql -f`, one transaction per revision + version update",
            get(a, "psql"), 1.0)
        row("apply %s revisions" % revs, get(a, "ours"),
            "`psql -1 -f`, everything in one transaction (the floor)",
            get(a, "floor"), 1.0)
        if (a, "alembic") in series:
            row("apply %s revisions" % revs, get(a, "ours"),
                "`alembic upgrade head`", get(a, "alembic"), None)
    seed_mb = meta.get("seed-mb", "?")
    if ("seed", "ours") in series or ("seed", "psql") in series:
        row("seed load %s MiB CSV" % seed_mb, get("seed", "ours"),
            "`psql -f` with `\\copy`, one transaction",
            get("seed", "psql"), 1.0)
    vmb = meta.get("verify-mb", "?")
    if ("verify", "ours") in series:
        row("verify, %s MiB seed data (`sqlbundle verify`)" % vmb,
            get("verify", "ours"), "`zstd -dc \\| sha256sum`",
            get("verify", "zstd"), 1.0)
        row("verify, same bundle (`sqlbundle-apply verify`)",
            get("verify", "ours-apply"), "`zstd -dc \\| sha256sum`",
            get("verify", "zstd"), None)
    if ("pack", "ours") in series or ("pack", "tar") in series:
        row("pack %s MiB seed data" % vmb, get("pack", "ours"),
            "`tar --zstd -cf` + `sha256sum` of the files",
            get("pack", "tar"), 1.0)
    L.append("")
    if pairs:
        L.append("Runs alternate, so run *i* of ours and run *i* of the "
                 "anchor ran side by side under the same load. Pairs where "
                 "ours was faster: %s.\n" % "; ".join(pairs))
    L.append("Wall-clock times on a shared machine move by 10–30 % between "
             "runs of the same command (see min–max). How the seed load "
             "splits between server and client, counted in instructions "
             "instead of seconds: [PROFILE.md](PROFILE.md) (`make "
             "profile`).\n")

    shapes = sorted((b[len("shape-"):] for b, side in order
                     if b.startswith("shape-") and side == "psql"),
                    key=lambda x: (list(SHAPE_NAMES) + [x]).index(x))
    if shapes:
        L.append("## Seed shapes\n")
        L.append("Each shape (`bench/gen_shapes.py`, %s MiB of CSV each but "
                 "the many small files) loaded by `sqlbundle-apply upgrade` "
                 "and by `psql` with the same DDL and `\\copy` of the same "
                 "files, one transaction per revision; same protocol as "
                 "above.\n" % meta.get("shapes-mb", "?"))
        L.append("| shape | ours median [min–max] | `\\copy` median "
                 "[min–max] | ratio | target | met? | CSV | rows (ours; "
                 "psql) |")
        L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for shape in shapes:
            b = "shape-" + shape
            ro, rp = (meta.get("%s-rows-%s" % (b, side), "?")
                      for side in ("ours", "psql"))
            nfiles = meta.get(b + "-files", "?")
            L.append("| %s | %s | %s | %s | %s | %s | %s, %s | %s; "
                     "%s%s |" % ((
                         SHAPE_NAMES.get(shape, shape), get(b, "ours").cell(),
                         get(b, "psql").cell()) + judge(
                             "shape " + shape, get(b, "ours"),
                             get(b, "psql"), 1.0) + (
                         "1 file" if nfiles == "1" else nfiles + " files",
                         fmt_mib(meta.get(b + "-bytes", 0)), ro, rp,
                         "" if ro == rp else " **differ**")))
        L.append("")
        L.append("Pairs where ours was faster: %s.\n" % "; ".join(
            p for p in pairs if p.startswith("shape ")))

    jobs_png = os.path.join(out, "seed-vs-jobs.png")
    if "jobs" in meta.get("only", "").split():
        L.append("## Seed load against --jobs\n")
        if meta.get("jobs-available") != "1":
            L.append("--jobs not available in this build (`sqlbundle-apply "
                     "--help` does not list it): not measured.\n")
        else:
            jobs_section(L, meta, get, judge, res, jobs_png, notes)

    if "locks" in meta.get("only", "").split():
        L.append("## Till latency while an update waits behind a blocker\n")
        locks_section(L, meta, res)

    def mibs(key_bytes, s):
        m = s.median()
        if not m or key_bytes not in meta:
            return "—"
        return "%.0f MiB/s" % (int(meta[key_bytes]) / 1048576 / m)

    lines = []
    if "seed-csv-bytes" in meta:
        lines.append("- seed load: %s of CSV (%s rows of category/brand/"
                     "product/barcode by sqlbundle, %s by psql); ours %s, "
                     "psql %s" % (
                         fmt_mib(meta["seed-csv-bytes"]),
                         meta.get("seed-rows-ours", "?"),
                         meta.get("seed-rows-psql", "?"),
                         mibs("seed-csv-bytes", get("seed", "ours")),
                         mibs("seed-csv-bytes", get("seed", "psql"))))
    if "verify-csv-bytes" in meta:
        lines.append("- verify and pack: %s of CSV, bundle %s; verify ours "
                     "%s, zstd|sha256sum %s; pack ours %s, tar+sha256sum "
                     "%s" % (
                         fmt_mib(meta["verify-csv-bytes"]),
                         fmt_mib(meta["verify-bundle-bytes"])
                         if "verify-bundle-bytes" in meta else "?",
                         mibs("verify-csv-bytes", get("verify", "ours")),
                         mibs("verify-csv-bytes", get("verify", "zstd")),
                         mibs("verify-csv-bytes", get("pack", "ours")),
                         mibs("verify-csv-bytes", get("pack", "tar"))))
    if "chain-sql-bytes" in meta:
        same = [k for k in meta if k.startswith("schema-%s-" % revs)]
        lines.append("- chain: %s revisions, %s of SQL (every %sth "
                     "revision non-transactional); schema after each side "
                     "compared with psql's (`pg_dump --schema-only`, "
                     "schema `sqlbundle` left out): %s" % (
                         revs, fmt_mib(meta["chain-sql-bytes"]),
                         meta.get("nontx-every", "?"),
                         ", ".join("%s %s" % (k.rsplit("-", 1)[1], meta[k])
                                   for k in sorted(same)) or "not compared"))
    if "speed-sha256sum" in meta:
        lines.append("- building blocks on this machine (largest CSV file, "
                     "cached): coreutils `sha256sum` %s MiB/s, OpenSSL "
                     "SHA-256 (what sqlbundle uses) %s MiB/s, `zstd -3` "
                     "one thread %s MiB/s" % (
                         meta["speed-sha256sum"],
                         meta.get("speed-openssl-sha256", "?"),
                         meta.get("speed-zstd3", "?")))
    if lines:
        L.append("Data and throughput (size / median):\n")
        L += lines
        L.append("")

    if rss:
        sizes = sorted({mb for _, mb in rss})
        progs = [("pack", "`sqlbundle pack`"),
                 ("verify", "`sqlbundle verify`"),
                 ("apply-verify", "`sqlbundle-apply verify`"),
                 ("apply", "`sqlbundle-apply upgrade`"),
                 ("apply-jobs4", "`sqlbundle-apply upgrade --jobs 4`")]
        L.append("## Peak memory\n")
        L.append("Peak RSS (`/usr/bin/time -f %%M`), one run per size; "
                 "target: under 32 MiB and flat (from %d MiB to %d MiB of "
                 "seed data, growth under %d%% + 1 MiB).\n" % (
                     sizes[0], sizes[-1], FLAT_FRACTION * 100))
        L.append("| program | " + " | ".join(
            "%d MiB seed" % s for s in sizes) + " | target | met? |")
        L.append("| --- | " + " | ".join("---" for _ in sizes) +
                 " | --- | --- |")
        for key, name in progs:
            vals = [rss.get((key, s)) for s in sizes]
            if not any(vals):
                continue
            cells, ok = [], True
            for v in vals:
                if v is None:
                    cells.append("not run")
                    ok = False
                elif v[1] != "0" or v[0] is None:
                    cells.append("failed (exit %s)" % v[1])
                    ok = False
                else:
                    cells.append("%.1f MiB" % (v[0] / 1024))
            if ok:
                kib = [v[0] for v in vals]
                under = max(kib) < RSS_LIMIT_KIB
                flat = kib[-1] <= kib[0] * (1 + FLAT_FRACTION) + FLAT_SLACK_KIB
                met = "yes" if under and flat else "**no** (%s)" % ", ".join(
                    w for w, c in (("over 32 MiB", not under),
                                   ("grows", not flat)) if c)
            else:
                met = "**no** (not measured)"
            L.append("| %s | %s | < 32 MiB, flat | %s |" % (
                name, " | ".join(cells), met))
        L.append("")

    # The plot: median apply time against chain length, per tool.
    plot_revs = sorted({int(x) for x in meta.get("plot-revs", "").split()
                        if x.isdigit() and
                        ("apply-%s" % x, "psql") in series})
    sides = [("ours", "sqlbundle-apply"),
             ("psql", "psql, one transaction per revision"),
             ("floor", "psql -1 (floor)"),
             ("alembic", "Alembic")]
    png = os.path.join(out, "apply-vs-chain.png")
    if plot_revs:
        L.append("## Apply time against chain length\n")
        L.append("![apply time against chain length](apply-vs-chain.png)\n")
        L.append("| revisions | " + " | ".join(n for _, n in sides) + " |")
        L.append("| --- | " + " | ".join("---" for _ in sides) + " |")
        data = os.path.join(res, "plot.dat")
        with open(data, "w") as f:
            f.write("# revisions " + " ".join(s for s, _ in sides) + "\n")
            for n in plot_revs:
                meds = [get("apply-%d" % n, s).median() for s, _ in sides]
                f.write("%d %s\n" % (n, " ".join(
                    "%.4f" % m if m else "NaN" for m in meds)))
                L.append("| %d | %s |" % (n, " | ".join(
                    fmt_s(m) if m else "—" for m in meds)))
        L.append("")
        L.append("(medians; %s runs at %s revisions, %s at the other "
                 "lengths)\n" % (meta.get("runs", "?"), revs,
                                  meta.get("plot-runs", "?")))
        if shutil.which("gnuplot"):
            title = "Apply time against chain length (medians, %s, %s " \
                "machine)" % (when, meta.get("machine", "shared"))
            if not plot(data, png, [(i + 2, STYLES[s], name) for i, (s, name)
                                    in enumerate(sides)], title,
                        "revisions", "top left"):
                notes.append("gnuplot failed: no plot")
        else:
            notes.append("gnuplot is missing: no plot")

    L.append("## Set-up\n")
    for key, name in (("cpu", "CPU"), ("memory", "memory"), ("os", "system"),
                      ("filesystem", "file system of .tmp/"),
                      ("postgres", "PostgreSQL"),
                      ("pg-settings", "PostgreSQL settings (scripts/"
                       "pgserver.sh defaults, unix socket)"),
                      ("tools", "tools"), ("sqlbundle", "sqlbundle"),
                      ("git", "source")):
        if key in meta:
            L.append("- %s: %s" % (name, meta[key].strip()))
    L.append("- sizes: BENCH_REVS=%s, BENCH_PLOT_REVS=\"%s\", "
             "BENCH_SEED_MB=%s, BENCH_VERIFY_MB=%s, BENCH_RSS_MB=\"%s\", "
             "BENCH_RUNS=%s, BENCH_PLOT_RUNS=%s, BENCH_NONTX_EVERY=%s, "
             "BENCH_SHAPES_MB=%s, BENCH_JOBS_N=\"%s\"" % (
                 revs, meta.get("plot-revs"), seed_mb, vmb,
                 meta.get("rss-mb"), meta.get("runs"), meta.get("plot-runs"),
                 meta.get("nontx-every"), meta.get("shapes-mb", "—"),
                 meta.get("jobs-n")))
    L.append("")
    fp = get("fingerprint", "ours")
    if fp.n:
        mo = fp.median()
        L.append("## Schema fingerprint\n")
        L.append("`sqlbundle-apply fingerprint` (connection, catalog query, "
                 "sorted description and SHA-256) of a generated schema of "
                 "%s tables, %s objects (`bench/gen_fp_schema.py`: keys, "
                 "defaults, checks, foreign keys, indexes, grants, views, "
                 "functions, triggers). The applier runs it before the "
                 "first statement and after every step.\n" % (
                     meta.get("fp-tables", "?"), meta.get("fp-objects", "?")))
        L.append("| work | median [min–max] | target | met? |")
        L.append("| --- | --- | --- | --- |")
        met = "yes" if mo is not None and mo < 0.5 and not fp.failed \
            else "**no**"
        L.append("| `sqlbundle-apply fingerprint`, %s tables | %s | < 0.5 s "
                 "| %s |" % (meta.get("fp-tables", "?"), fp.cell(), met))
        pd = get("fingerprint", "pg_dump")
        if pd.n:
            L.append("| `pg_dump --schema-only` of the same database "
                     "(context) | %s | — | — |" % pd.cell())
        L.append("")
    imp = [(side, get("import", side)) for side in ("capture", "offline")]
    if any(ser.n for _, ser in imp):
        L.append("## Import from Alembic\n")
        L.append("`sqlbundle import alembic` of a generated Alembic chain of "
                 "%s revisions (the apply bench's kind of revisions, as "
                 "`bench/gen_chain.py` writes them), into an empty project, "
                 "checked with `sqlbundle check`; one Python process per "
                 "import. Capture creates and drops a scratch database on "
                 "the bench server and runs every upgrade once, up to "
                 "head, then every downgrade once, from head down.\n"
                 % meta.get("import-revs", "?"))
        L.append("| mode | median [min–max] | per revision |")
        L.append("| --- | --- | --- |")
        for side, ser in imp:
            if ser.n:
                L.append("| %s | %s | %s |" % (
                    side, ser.cell(), "%.1f ms" % (1000 * ser.median() / float(
                        meta.get("import-revs", "1"))) if ser.ok else "–"))
        L.append("")

    L.append("""\
## What runs

Data is generated under `.tmp/bench/` by `bench/gen_chain.py` (a chain of
schemas, enums, tables with foreign keys, checks and indexes, added
columns, views, plpgsql functions and triggers, small data fixes, and
every Kth revision a non-transactional `CREATE INDEX CONCURRENTLY`) and
`bench/gen_seed.py` (a product catalog: categories, brands, products,
barcodes, with foreign keys and indexes). Both sides get the same SQL and
the same CSV files.

- apply, ours: `sqlbundle-apply upgrade BUNDLE --trust bench.pub -q`
  (verification of the bundle included); anchor: `psql -X -q -v
  ON_ERROR_STOP=1 -f` of a file with `BEGIN; <revision>; UPDATE
  alembic_version ...; COMMIT;` per revision (non-transactional revisions
  run statement by statement); floor: `psql -1` of all revisions with one
  version-table insert (`CONCURRENTLY` dropped, it cannot run in a
  transaction); Alembic: `alembic upgrade <id>` over version modules with
  the same ids, each executing the same SQL text, one transaction per
  revision. Every run is checked to end at the expected revision.
- seed load, ours: `sqlbundle-apply upgrade` of a bundle of the schema
  revision and the seed revision (a CSV file over 2 MiB is committed in
  2 MiB chunks, each with a progress row; small files go to the server
  together, one query of COPY statements); anchor: the same two revisions with
  `psql -f`, the seed step one transaction of `\\copy ... (FORMAT csv,
  HEADER true)` per file.
- verify: `sqlbundle verify BUNDLE --trust bench.pub` (and
  `sqlbundle-apply verify`) against `zstd -dc BUNDLE | sha256sum`
  (two processes, so the anchor decompresses and hashes on two cores;
  coreutils `sha256sum` does not use the CPU's SHA instructions, see the
  building blocks above).
- pack: `sqlbundle -C PROJECT pack --key bench.key -o FILE` (which fsyncs
  the bundle) against `tar --zstd -cf FILE sqlbundle.conf revisions seeds`
  then `sha256sum revisions/* seeds/*/*` (no fsync).
""")
    if notes:
        L.append("## Notes of this run\n")
        L += ["- " + n for n in notes]
        L.append("")

    L.append("## Every run\n")
    L.append("Seconds, in run order (x: failed).\n")
    for bench, side in order:
        s = [r for r in read_tsv(os.path.join(res, "times.tsv"))
             if r[0] == bench and r[1] == side]
        L.append("- %s, %s: %s" % (bench, side, " ".join(
            ("%.3f" % float(r[3])) if r[4] == "0" else "x" for r in s)))
    L.append("")

    with open(os.path.join(out, "RESULTS.md"), "w") as f:
        f.write("\n".join(L))
    return 0


STYLES = {"ours": "lw 2 pt 7", "psql": "lw 2 pt 5",
          "floor": "lw 1 dt 2 pt 4", "alembic": "lw 2 pt 9"}

SHAPE_NAMES = {
    "wide": "wide text rows (16 text columns, quotes, commas, newlines)",
    "jsonb": "jsonb attributes column",
    "small": "many small files",
    "small-warm": "many small files, bookkeeping tables in place (a "
                  "store's every bundle after its first)",
    "fkeys": "sales lines, 4 foreign keys each",
    "pricelist": "price list, key (store, product, valid_from)",
    "defaults": "2 of 10 columns in the CSV, the rest defaults",
}

# The jobs bench: the best N must load in at most this share of \copy's
# time; the goal is the second.
JOBS_TARGET = 0.8
JOBS_GOAL = 0.6


# Worst till latency allowed with the default settings: the lock
# timeout plus this margin (a transaction's own time, scheduling).
LOCK_MARGIN_MS = 250


def locks_section(L, meta, res):
    """The till's latency with and without lock timeouts (locks.tsv)."""
    rows = read_tsv(os.path.join(res, "locks.tsv"))
    if not rows:
        L.append("Not run (no sqlbundle build or no key).\n")
        return
    timeout_ms = 500
    L.append("A till runs one-statement transactions (an `INSERT` "
             "returning a `SELECT`) on a table without pause while another "
             "session holds a lock on it for %s; the update, an `ALTER "
             "TABLE ... ADD COLUMN` of that table, starts once the lock is "
             "held (`bench/run.sh`, `lock_once`). Latencies are psql's "
             "`\\timing` of each till transaction between the update's "
             "start and its end. *default*: `sqlbundle-apply`'s "
             "`--lock-timeout 500ms` and retries; *none*: `--lock-timeout "
             "0`, the update queued behind the blocker and the till behind "
             "the update. *after release*: how long the update ran on once "
             "the blocker let go, the retries' cost in time (the pause in "
             "progress when the lock came free, then the attempt). Target: "
             "the default's worst latency within the lock timeout + %d "
             "ms.\n" % (meta.get("lock-hold", "?"), LOCK_MARGIN_MS))
    L.append("| settings | run | till worst | till p99 | till transactions "
             "| update | after release | met? |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        side, run, worst, p99, n, secs, after, rc = r
        met = ""
        if side == "default":
            met = "yes" if float(worst) <= timeout_ms + LOCK_MARGIN_MS \
                else "**no**"
        if rc != "0":
            met = "failed (%s)" % rc
        L.append("| %s | %s | %s ms | %s ms | %s | %s | %s s | %s |" % (
            side, run, worst, p99, n, fmt_s(float(secs)), after, met))
    L.append("")


def jobs_section(L, meta, get, judge, res, png, notes):
    """Seed load time against --jobs N: a table and seed-vs-jobs.png."""
    ns = [int(n) for n in meta.get("jobs-n", "").split() if n.isdigit()]
    anchor = get("jobs", "psql")
    ratios = {n: get("jobs", "j%d" % n).median() / anchor.median()
              for n in ns if get("jobs", "j%d" % n).median() and
              anchor.median()}
    best = min(ratios, key=ratios.get) if ratios else None
    L.append("The %s MiB catalog of the seed load, loaded by "
             "`sqlbundle-apply upgrade --jobs N` (N connections, each "
             "loading whole chunks) and by `psql` `\\copy`, interleaved "
             "(`\\copy`, then each N), each run on a fresh database. "
             "Target: at the best N, at most %.1f × `\\copy`'s time; "
             "the goal is %.1f ×.\n" % (
                 meta.get("seed-mb", "?"), JOBS_TARGET, JOBS_GOAL))
    L.append("![seed load time against --jobs](seed-vs-jobs.png)\n")
    L.append("| loader | median [min–max] | ratio to `\\copy` | target | "
             "met? |")
    L.append("| --- | --- | --- | --- | --- |")
    L.append("| `psql` `\\copy`, one transaction | %s | 1.00 | anchor | — |"
             % anchor.cell())
    for n in ns:
        ours = get("jobs", "j%d" % n)
        ratio, target, met = judge("--jobs %d" % n, ours, anchor,
                                   JOBS_TARGET if n == best else None)
        L.append("| `--jobs %d` | %s | %s | %s | %s |" % (
            n, ours.cell(), ratio,
            "≤ %.1f at the best N" % JOBS_TARGET if n == best else "—",
            met if n == best else "—"))
    if best is None:
        L.append("| best N | not measured | — | ≤ %.1f at the best N | "
                 "**no (not measured)** |" % JOBS_TARGET)
    L.append("")
    if best is not None:
        L.append("Goal %.1f × at the best N (`--jobs %d`, %.2f): %s.\n" % (
            JOBS_GOAL, best, ratios[best],
            "met" if ratios[best] <= JOBS_GOAL else "**not met**"))
    rows = [(side, meta.get("jobs-rows-" + side, "?"))
            for side in ["psql"] + ["j%d" % n for n in ns]]
    L.append("Rows after the first run (category/brand/product/barcode): "
             "%s%s.\n" % (", ".join("%s %s" % r for r in rows),
                          "" if len({r[1] for r in rows}) == 1 else
                          " — **the sides differ**"))
    data = os.path.join(res, "jobs.dat")
    with open(data, "w") as f:
        f.write("# jobs ours psql target\n")
        ma = anchor.median()
        for n in ns:
            m = get("jobs", "j%d" % n).median()
            f.write("%d %s\n" % (n, " ".join(
                "%.4f" % x if x else "NaN"
                for x in (m, ma, ma and ma * JOBS_TARGET))))
    if not shutil.which("gnuplot"):
        notes.append("gnuplot is missing: no plot")
    elif not plot(data, png, [(2, STYLES["ours"], "sqlbundle-apply --jobs N"),
                              (3, "lw 2 dt 2 pt 5", "psql \\copy"),
                              (4, "lw 2 dt 3 pt 0 lc rgb 'gray40'", "target: %.1f × \\copy"
                               % JOBS_TARGET)],
                  "Seed load of %s MiB against --jobs (medians, %s, %s "
                  "machine)" % (meta.get("seed-mb", "?"),
                                meta.get("date", "?"),
                                meta.get("machine", "shared")),
                  "N (--jobs)", "bottom left", "set xtics 1"):
        notes.append("gnuplot failed: no plot")


def plot(data, png, cols, title, xlabel, key, extra=""):
    """A gnuplot PNG of data: cols are (column, line style, title)
    against column 1."""
    lines = ["'%s' using 1:%d with linespoints %s title '%s'" % (
        data, col, style, name) for col, style, name in cols]
    term = "pngcairo size 800,500 font 'sans,10'"
    probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                           capture_output=True)
    if probe.returncode != 0 or probe.stderr:
        term = "png size 800,500"
    script = """\
set terminal %s
set output '%s'
set title '%s'
set xlabel '%s'
set ylabel 'seconds'
set key %s
set grid
set yrange [0:*]
set xrange [0:*]
%s
plot %s
""" % (term, png, title, xlabel, key, extra, ", \\\n     ".join(lines))
    run = subprocess.run(["gnuplot"], input=script.encode())
    return run.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
