#!/usr/bin/python3
"""Check the --json output of both programs against the documented schema.

Usage: json_schema.py SCHEMA COLLECTED-DIR MAN-DIR [--require]

COLLECTED-DIR holds what json_collect.sh kept: for each --json run a file
run.XXXXXXXX (its standard output) and run.XXXXXXXX.cmd (program, test,
arguments). Every line must be one JSON object valid under SCHEMA, of an
event that its program prints (the x-programs annotation). With
--require (a run of the whole suite), no lines at all is a failure, and
so is an object kind that no test made a program print. Both man pages
must name, in their JSON OUTPUT section, every object and member the
schema gives their program. Exit 0 when all holds, 1 otherwise.
"""
import glob
import json
import os
import re
import sys

import jsonschema


def members(schema, node, seen=None):
    """Every property name reachable from node ($ref followed)."""
    names = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and ref.startswith("#/$defs/"):
            name = ref[len("#/$defs/"):]
            if seen is None:
                seen = set()
            if name not in seen:
                seen.add(name)
                names |= members(schema, schema["$defs"][name], seen)
        for key, val in node.items():
            if key == "properties":
                names |= set(val)
            names |= members(schema, val, seen)
    elif isinstance(node, list):
        for val in node:
            names |= members(schema, val, seen)
    return names


def man_section(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^\.Sh JSON OUTPUT\n(.*?)(?=^\.Sh |\Z)", text, re.M | re.S)
    return m.group(1) if m else None


def check_man(schema, events, man_dir):
    problems = []
    for prog in ("sqlbundle", "sqlbundle-apply"):
        path = os.path.join(man_dir, prog + ".1")
        section = man_section(path)
        if section is None:
            problems.append(f"{path}: no JSON OUTPUT section")
            continue
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", section))
        for ev in events:
            if prog not in schema["$defs"][ev]["x-programs"]:
                continue
            for name in sorted({ev} | members(schema, schema["$defs"][ev])):
                if name not in words:
                    problems.append(f"{path}: JSON OUTPUT does not name "
                                    f"\"{name}\" (object \"{ev}\")")
    return problems


def self_test(validator):
    """A schema that accepts these would make the whole check void."""
    bad = [{"event": "verify"}, {"event": "no_such_event"}, {},
           {"event": "error", "code": 1, "message": "m", "extra": 1}]
    return [f"the schema accepts a bad line: {json.dumps(b)}"
            for b in bad if validator.is_valid(b)]


def main(argv):
    require = "--require" in argv
    args = [a for a in argv[1:] if a != "--require"]
    if len(args) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_path, collected, man_dir = args
    schema = json.load(open(schema_path, encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    events = schema["properties"]["event"]["enum"]

    problems = self_test(validator) + check_man(schema, events, man_dir)
    seen = set()
    nlines = nruns = 0
    for out in sorted(glob.glob(os.path.join(collected, "run.*"))):
        if out.endswith(".cmd"):
            continue
        nruns += 1
        prog, test, cmd = open(out + ".cmd", encoding="utf-8").read() \
            .rstrip("\n").split("\t", 2)
        where = f"{test}: {prog} {cmd}"
        with open(out, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                nlines += 1
                try:
                    obj = json.loads(line)
                except ValueError as e:
                    problems.append(f"{where}\n  line {lineno}: not JSON "
                                    f"({e}): {line.rstrip()}")
                    continue
                errors = sorted(validator.iter_errors(obj),
                                key=lambda e: list(e.absolute_path))
                for e in errors:
                    at = "/".join(str(p) for p in e.absolute_path) or "(top)"
                    problems.append(f"{where}\n  line {lineno}: at {at}: "
                                    f"{e.message}\n  {line.rstrip()}")
                ev = obj.get("event") if isinstance(obj, dict) else None
                if errors or ev not in events:
                    continue
                if prog not in schema["$defs"][ev]["x-programs"]:
                    problems.append(f"{where}\n  line {lineno}: {prog} "
                                    f"is not documented to print \"{ev}\"")
                seen.add((prog, ev))
    if nlines == 0 and require:
        problems.append(f"no --json line was collected in {collected}")
    if require and nlines > 0:
        for ev in events:
            for prog in schema["$defs"][ev]["x-programs"]:
                if (prog, ev) not in seen:
                    problems.append(f"no test made {prog} print a "
                                    f"\"{ev}\" line")
    for p in problems:
        print(p)
    print(f"json schema: {nlines} lines from {nruns} --json runs, "
          f"{len(seen)} (program, event) kinds, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
