#!/usr/bin/python3
"""The scipy reference files the regression test sql/clv.sql reads.

They are committed (test/data/ref_*), so `make installcheck` needs neither
Python nor scipy; `make test` regenerates them and checks that the committed
copies still agree with scipy_reference.py, to a relative 1e-9 (the last
digits of an optimiser's answer may move with the scipy version; a change
to a likelihood moves far more).

  refs.py check    regenerate into a scratch directory and compare;
                   prints "N passed, M failed"
  refs.py write    regenerate the committed files (then review the diff)

Always run with /usr/bin/python3 (needs python3-numpy, python3-scipy).
"""
import csv
import io
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
REF = os.path.join(HERE, "scipy_reference.py")
RTOL = 1e-9
SE_RTOL = 1e-6
# Pareto/NBD and BG/BB are fitted by Nelder-Mead then BFGS on likelihoods
# that are flat along a ridge: their end points move by about 1e-7
# (relative) from one CPU to another (libm's vector code paths), as seen
# between two machines of the project, while their log-likelihoods agree
# to 1e-9.  Those two files' parameters are compared to 1e-6, their
# standard errors to 1e-5; the regression tests compare clm's fits with
# them far more loosely than that.
FLAT_FILES = {"ref_pnbd_cdnow.json", "ref_bgbb_donations.json"}
FLAT_RTOL = 1e-6
FLAT_SE_RTOL = 1e-5

# file name -> (subcommand, input CSV)
FILES = {
    "ref_fit_cdnow.jsonl": ("fit", "cdnow_summary.csv"),
    "ref_score_cdnow.csv": ("score", "cdnow_summary.csv"),
    "ref_fit_sim.jsonl": ("fit", "sim_bgnbd_20k.csv"),
    "ref_holdout_cdnow.json": ("holdout", "cdnow_transactions.csv"),
    "ref_pnbd_cdnow.json": ("pnbd", "cdnow_summary.csv"),
    "ref_bgbb_donations.json": ("bgbb", "donations_bgbb.csv"),
}


def strip_seconds(v):
    """A JSON value without its "seconds" fields (wall times), at any depth."""
    if isinstance(v, dict):
        return {k: strip_seconds(x) for k, x in v.items() if k != "seconds"}
    return v


def generate(name):
    """The text of one reference file, without run-dependent fields."""
    cmd, src = FILES[name]
    out = subprocess.run([sys.executable, REF, cmd, os.path.join(DATA, src)],
                         check=True, capture_output=True, text=True).stdout
    if name.endswith(".json"):
        j = strip_seconds(json.loads(out))
        return json.dumps(j, sort_keys=True) + "\n"  # one line: the tests \\copy it as one row
    if name.endswith(".jsonl"):
        lines = []
        for line in out.splitlines():
            j = json.loads(line)
            j.pop("seconds", None)  # wall time: differs at every run
            lines.append(json.dumps(j))
        return "\n".join(lines) + "\n"
    return "".join(l + "\n" for l in out.splitlines() if not l.startswith("#"))


def close(a, b, key="", name=""):
    """Equal strings, or numbers equal to RTOL (relative) / 1e-12 (absolute);
    standard errors (keys under /se/) to SE_RTOL: they come from central
    differences, whose last digits move with the optimiser's last step.
    FLAT_FILES' parameters and standard errors to FLAT_RTOL, FLAT_SE_RTOL."""
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return False
    se = "/se/" in str(key)
    if name in FLAT_FILES and (se or "/params/" in str(key)):
        rtol = FLAT_SE_RTOL if se else FLAT_RTOL
    else:
        rtol = SE_RTOL if se else RTOL
    return math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12)


def flatten(v, prefix=""):
    """A JSON value as (path, leaf) pairs, in key order."""
    if isinstance(v, dict):
        for k in sorted(v):
            yield from flatten(v[k], prefix + "/" + k)
    elif isinstance(v, list):  # element by element, so numbers get the tolerance
        for i, x in enumerate(v):
            yield from flatten(x, "%s[%d]" % (prefix, i))
    else:
        yield prefix, v


def rows(name, text):
    """The comparable rows of a reference file: lists of (key, value)."""
    if name.endswith(".json"):
        return [list(flatten(json.loads(text)))] if text else []
    if name.endswith(".jsonl"):
        return [list(flatten(json.loads(l))) for l in text.splitlines()]
    return [list(enumerate(r)) for r in csv.reader(io.StringIO(text))]


def differences(name, committed, fresh):
    """Human-readable differences between two versions of a file (at most 5)."""
    a, b = rows(name, committed), rows(name, fresh)
    if len(a) != len(b):
        return ["%d rows committed, %d generated" % (len(a), len(b))]
    out = []
    for i, (ra, rb) in enumerate(zip(a, b)):
        if [k for k, _ in ra] != [k for k, _ in rb]:
            out.append("row %d: different fields" % (i + 1))
        else:
            out += ["row %d %s: committed %s, generated %s" % (i + 1, k, va, vb)
                    for (k, va), (_, vb) in zip(ra, rb) if not close(va, vb, k, name)]
        if len(out) >= 5:
            break
    return out[:5]


def main(argv):
    if len(argv) != 2 or argv[1] not in ("check", "write"):
        sys.exit(__doc__)
    passed = failed = 0
    for name in FILES:
        path = os.path.join(DATA, name)
        fresh = generate(name)
        if argv[1] == "write":
            with open(path, "w") as f:
                f.write(fresh)
            print("wrote", os.path.relpath(path))
            continue
        try:
            with open(path) as f:
                committed = f.read()
        except FileNotFoundError:
            committed = ""
        diff = differences(name, committed, fresh)
        if diff:
            failed += 1
            print("FAILED: test/data/%s is not what scipy_reference.py gives "
                  "(run test/btyd/refs.py write and review):" % name)
            for d in diff:
                print("  " + d)
        else:
            passed += 1
            print("ok: test/data/%s" % name)
    if argv[1] == "check":
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
