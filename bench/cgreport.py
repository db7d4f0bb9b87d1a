#!/usr/bin/python3
"""Summarise the callgrind profiles of bench/profile.sh.

    cgreport.py --csv-bytes N --chunk SIZE NAME=PREFIX...

Each PREFIX names PREFIX.server (the PostgreSQL backend of the load) and
PREFIX.client (the client program). The first NAME is the anchor that
the others are compared with.
"""
import argparse
import re
import subprocess

LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*)$")


def functions(path):
    """Exclusive instructions per 'file:function [object]'."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no",
                          path],
                         check=True, capture_output=True, text=True).stdout
    costs, body = {}, False
    for line in out.splitlines():
        if "file:function" in line:
            body = True
            continue
        m = LINE.match(line) if body else None
        if m:
            key = m.group(2).strip()
            costs[key] = costs.get(key, 0) + int(m.group(1).replace(",", ""))
    return costs


def obj(key):
    m = re.search(r"\[([^\]]*)\]\s*$", key)
    name = m.group(1).rsplit("/", 1)[-1] if m else "?"
    for short in ("libzstd", "libcrypto", "libpq", "libc", "libarchive",
                  "ld-linux"):
        if name.startswith(short + ".") or name.startswith(short + "-"):
            return short
    return name


def func(key):
    name = re.sub(r"\s*\[[^\]]*\]\s*$", "", key)
    return name.split(":", 1)[-1] if ":" in name else name


def g(n):
    return "%.3f G" % (n / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv-bytes", type=int, required=True)
    ap.add_argument("--chunk", default="")
    ap.add_argument("sides", nargs="+")
    a = ap.parse_args()
    sides = [s.split("=", 1) for s in a.sides]
    prof = {n: (functions(p + ".server"), functions(p + ".client"))
            for n, p in sides}
    mib = a.csv_bytes / 1048576
    anchor = sides[0][0]
    base = sum(prof[anchor][0].values())

    print("Seed load of %.1f MiB of CSV, instructions (valgrind "
          "--tool=callgrind)\n" % mib)
    print("| side | server backend | vs %s | client | client per MiB |"
          % anchor)
    print("| --- | --- | --- | --- | --- |")
    for n, _ in sides:
        srv, cli = (sum(c.values()) for c in prof[n])
        label = n + (" (--chunk-size %s)" % a.chunk
                     if n == "chunked" and a.chunk else "")
        print("| %s | %s | %+.2f%% | %s | %.1f M |" % (
            label, g(srv), 100.0 * (srv - base) / base, g(cli),
            cli / mib / 1e6))

    print("\nClient instructions by library:\n")
    for n, _ in sides:
        by = {}
        for k, v in prof[n][1].items():
            by[obj(k)] = by.get(obj(k), 0) + v
        total = sum(by.values())
        top = sorted(by.items(), key=lambda kv: -kv[1])[:6]
        print("- %s: %s" % (n, ", ".join(
            "%s %.0f%%" % (k, 100.0 * v / total) for k, v in top)))

    for n, _ in sides[1:]:
        a_f, n_f = prof[anchor][0], prof[n][0]
        keys = set(a_f) | set(n_f)
        diff = sorted(((n_f.get(k, 0) - a_f.get(k, 0), k) for k in keys),
                      key=lambda x: -abs(x[0]))[:10]
        print("\nServer functions that differ most, %s minus %s "
              "(instructions, exclusive):\n" % (n, anchor))
        print("| function | %s | %s | difference |" % (anchor, n))
        print("| --- | --- | --- | --- |")
        for d, k in diff:
            print("| `%s` (%s) | %s | %s | %+.1f M |" % (
                func(k), obj(k), "{:,}".format(a_f.get(k, 0)),
                "{:,}".format(n_f.get(k, 0)), d / 1e6))


if __name__ == "__main__":
    main()
