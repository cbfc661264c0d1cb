#!/usr/bin/env python3
"""test/fuzz/fuzz.py - seeded, time-bounded fuzzing of every function and
aggregate in schema clm (issue 12).

Needs only python3 and psql: the functions, their argument types and names
and the composite types are read from the catalogs; calls are generated as
SQL with random and boundary values and run by psql, which echoes the
SQLSTATE of every call.  A call passes when it returns or raises a proper
SQLSTATE; it fails when it raises XX000 (an internal error: elog or an
unexpected library return code) or when the backend dies.  Half of the
batches run under a forced parallel plan.  A second phase checks that every
aggregate gives the same result serially and under a parallel plan with
partial aggregation.

  fuzz.py --psql 'psql -X -h HOST -p PORT -d DB' [--seed N] [--seconds S]
          [--workdir DIR] [--serverlog FILE]

Last line: "N passed, N failed", as scripts/test.sh counts suites.
"""
import argparse
import collections
import json
import os
import random
import re
import shlex
import struct
import subprocess
import sys
import time

FLOATS = ["NULL", "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "0", "1", "-1",
          "0.5", "2", "3", "7", "30", "39", "52", "365", "1e308", "-1e308",
          "5e-324", "2.2250738585072014e-308", "1e-300", "1e15", "1e300",
          "4294967296", "0.999999999", "1.000000001", "1e-9", "-1e-9"]
POSITIVE = ["1e-300", "1e-10", "0.01", "0.243", "0.793", "1", "1.0000001",
            "0.99", "2.426", "4.414", "6.25", "15.44", "100", "1e10", "1e300"]
INTS = ["NULL", "0", "1", "-1", "2", "3", "5", "10", "12", "24", "100", "1000",
        "12000", "12001", "2147483647", "-2147483648"]
BIGINTS = INTS + ["9223372036854775807", "-9223372036854775808", "4294967296"]
TEXTS = ["NULL", "''", "'day'", "'week'", "'month'", "'year'", "'hour'",
         "'bgnbd'", "'mbgnbd'", "'gamma_gamma'", "'UTC'", "'Europe/Paris'",
         "'+05:30'", "'Mars/Phobos'", "repeat('x', 100000)",
         "'''; DROP TABLE fuzz_tx; --'", "'\"weird name\"'", "'pg_class'",
         "'fuzz_tx'", "'customer_id'", "'ts'", "'amount'", "'é漢字'",
         "'SELECT 1'", "'SELECT frequency, recency, tenure FROM fuzz_summary'",
         "'SELECT frequency, monetary FROM fuzz_summary'", "'1 hour'", "'m1'"]
TIMES = ["NULL", "'infinity'", "'-infinity'", "'4713-01-01 00:00:00+00 BC'",
         "'294276-12-31 23:59:59+00'", "'2000-01-01'", "'2020-02-29 12:00'",
         "'1970-01-01'", "'2024-01-01'", "'2023-06-30 23:59:59.999999'", "now()"]
INTERVALS = ["NULL", "'0'", "'1 microsecond'", "'1 day'", "'7 days'",
             "'-1 day'", "'1 month'", "'178000000 years'", "'-178000000 years'",
             "'1 day -24 hours'", "'1 mon -30 days'", "'30 days'"]
FLOAT_ARRAYS = ["NULL", "'{}'", "'{1,2,3}'", "'{NaN}'", "'{1e308,-1e308}'",
                "'{{1,2},{3,4}}'", "'{1,2,3,4}'", "'{NULL}'", "'{5,4,3,2}'",
                "'{Infinity,1,2,3}'", "'{0,0,0,0}'",
                "(SELECT array_agg(g::float8) FROM generate_series(1, 100000) g)"]
BYTEAS = ["NULL", "'\\x'", "'\\x00'", "'\\x02'", "'\\xffffffffffffffff'",
          "decode(repeat('01', 100000), 'hex')"]

PLAUSIBLE = {
    "a_share": ["0.8", "0.5", "0.2"], "b_share": ["0.95", "0.9", "1"],
    "buckets": ["5", "3", "10"], "r": ["1", "3", "5"], "f": ["1", "2", "5"], "m": ["1", "4", "5"],
    "churn_risk": ["0", "0.3", "0.95", "1"], "orders_ratio": ["0.5", "1", "2"],
    "amount_ratio": ["0.5", "1", "3"], "tickets": ["0", "1", "4"], "nps": ["0", "7", "10"],
    "days_since_last": ["0", "10", "400"], "avg_days_between": ["7", "30", "90"],
    "orders": ["1", "2", "10"], "prior_days": ["30", "90"], "prior_weight": ["1", "2"],
    "dropout": ["0.1", "0.5"], "recency_days": ["0", "10", "365"], "value": ["0", "10", "1e6"],
    "discount_rate": ["0", "0.01", "0.1"], "margin": ["0.3", "1"], "annual_value": ["100", "0"],
    "acquisition_cost": ["0", "50"], "total_amount": ["10", "1000"], "clv": ["0", "100"],
}


class Gen:
    """Random SQL values for the catalog's types, biased by argument name."""

    def __init__(self, rng, types, producers, policy, rules):
        self.rng = rng
        self.types = types          # oid -> type info (name, typtype, attrs, ...)
        self.producers = producers  # type oid -> functions returning it
        self.policy = policy
        self.rules = rules

    def pick(self, xs):
        return self.rng.choice(xs)

    def float8(self):
        r = self.rng.random()
        if r < 0.55:
            return self.pick(FLOATS)
        if r < 0.8:
            return repr(round(self.rng.uniform(-10, 200), self.rng.randint(0, 6)))
        return repr(self.rng.lognormvariate(0, 6))

    def customer(self):
        """a (frequency, recency, tenure, monetary) set, usually consistent"""
        T = self.pick(["1e-9", "0.5", "1", "39", "52", "1000", "1e6", "1e15",
                       repr(round(self.rng.uniform(0.1, 100), 3))])
        x = self.pick(["0", "1", "2", "5", "100", "1e6", "0.5", "-1"])
        if x == "0":
            tx = "0"
        else:
            tx = "(%s * %s)" % (T, self.pick(["0", "0.5", "1", "0.999", "1.5"]))
        m = self.pick(["0", "-1", "0.01", "25", "1e6", "1e300"])
        c = {"frequency": x, "recency": tx, "tenure": T, "monetary": m}
        # sometimes one field is an arbitrary boundary value
        if self.rng.random() < 0.3:
            c[self.pick(list(c))] = self.float8()
        return c

    def json_mutate(self, obj):
        o = dict(obj)
        for _ in range(self.rng.randint(1, 3)):
            k = self.pick(list(o) + ["unknown_key", ""])
            o[k] = self.pick([-1, 0, 1, 1e308, -1e308, 0.5, "x", None, [], {},
                              True, 2147483648, 1e-300, [1, 2], {"a": 1}])
        return "'%s'" % json.dumps(o).replace("'", "''")

    def jsonb(self):
        r = self.rng.random()
        if r < 0.15:
            return "clm.stage_policy_defaults()"
        if r < 0.25:
            return "clm.alert_rules_defaults()"
        if r < 0.5:
            return self.json_mutate(self.pick([self.policy, self.rules]))
        return self.pick([
            "NULL", "'{}'", "'[]'", "'null'", "'1'", "'\"s\"'", "'{\"a\": 1}'",
            "(SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 100000) g)",
            "'%s'" % ("[" * 2000 + "]" * 2000),
            "('{\"' || repeat('k', 100000) || '\": 1}')",
            "'{\"churn_days\": 1e400}'", "'{\"new_days\": -0}'"])

    def fit_data(self):
        r = self.rng.random()
        if r < 0.4:
            n = self.pick([1, 10, 1000, 1000, 5000])
            pen = self.pick(["", ", 0.01", ", 0", ", 1e300"]) if self.rng.random() < 0.3 else ""
            kind = self.rng.random()
            if kind < 0.5:
                return ("(SELECT clm.fit_data(g %% 13, CASE WHEN g %% 13 = 0 THEN 0 ELSE (g %% 13) * %s END, 40) "
                        "FROM generate_series(1, %d) g)" % (self.pick(["1", "0.5", "3.07", "1e-9"]), n))
            if kind < 0.8:
                return ("(SELECT clm.fit_data(g %% 13, CASE WHEN g %% 13 = 0 THEN 0 ELSE g %% 13 END, 40, 1 + g %% 17) "
                        "FROM generate_series(1, %d) g)" % n)
            return "(SELECT clm.fit_data_merge(fd) FROM fuzz_fd WHERE g < 40)"
        return self.pick([
            "NULL", "'{}'", "'{(1,1,2,1)}'", "'{(0,0,1,3),(2,1,5,1)}'",
            "'{(1,1,2,5,1)}'", "'{(1,5,1),(0,1,2)}'", "'penalizer=0.5;{(1,1,2,1)}'",
            "'{(1e300,1,2,1)}'", "'{(1,1,2,1e-300)}'", "'{(1,1,2,1e300)}'",
            "'{(0,0,5e-324,1)}'", "'{(1,2,1,1)}'", "'{(-1,0,1,1)}'",
            "'{(1.5,1,2,1)}'", "'{(1,1,2'", "'{(1,1,2,1),(1,1)}'", "'{()}'",
            "'{' || repeat('(1,1,2,1),', 100000) || '(1,1,2,1)}'",
            "'{' || repeat('(', 100000) || '}'", "'penalizer=-1;{}'",
            "'penalizer=NaN;{}'", "'{(nan,1,2,1)}'", "' { ( 1 , 1 , 2 , 1 ) } '"])

    def composite(self, toid, depth):
        t = self.types[toid]
        prods = self.producers.get(toid, [])
        if prods and depth < 2 and self.rng.random() < 0.5:
            return self.call_expr(self.pick(prods), depth + 1)
        if t["name"].endswith("_model") and self.rng.random() < 0.7:
            n = 3 if t["name"].endswith("gamma_gamma_model") else 4
            vals = [self.pick(POSITIVE) if self.rng.random() < 0.85 else self.float8()
                    for _ in range(n)]
            rest = [self.value(a["type"], a["name"], depth + 1, {}) for a in t["attrs"][n:]]
            return "ROW(%s)::%s" % (", ".join(vals + rest), t["name"])
        if self.rng.random() < 0.1:
            return "NULL::%s" % t["name"]
        fields = [self.value(a["type"], a["name"], depth + 1, {}) for a in t["attrs"]]
        return "ROW(%s)::%s" % (", ".join(fields), t["name"])

    def value(self, toid, argname, depth, cust):
        """SQL expression of type toid (cast), for an argument named argname"""
        t = self.types[toid]
        name = t["name"]
        if argname in cust and name == "double precision":
            return "(%s)::float8" % cust[argname]
        cat = t["category"]
        if t["typtype"] == "c":
            return self.composite(toid, depth)
        if t["typtype"] == "e":
            return "%s::%s" % (self.pick(["NULL"] + ["'%s'" % l for l in t["labels"]]), name)
        if t["typtype"] == "d":
            return "(%s)::%s" % (self.value(t["basetype"], argname, depth, cust), name)
        # plausible values for arguments with a narrow valid range, half the time
        if argname in PLAUSIBLE and self.rng.random() < 0.5:
            return "(%s)::%s" % (self.pick(PLAUSIBLE[argname]), name)
        if name == "double precision":
            if argname in ("horizon_months", "t") and self.rng.random() < 0.5:
                return "(%s)::float8" % self.pick(["12", "52", "1e6", "1e300", "0"])
            return "(%s)::float8" % self.float8()
        if name == "integer":
            return "(%s)::int" % self.pick(INTS + [str(self.rng.randint(-5, 40))])
        if name == "bigint":
            return "(%s)::bigint" % self.pick(BIGINTS + [str(self.rng.randint(0, 1000))])
        if name in ("text", "name", "cstring"):
            if name == "cstring" or (argname or "").endswith("data"):
                return "(%s)::cstring" % self.fit_data().replace("::clm.fit_data", "") \
                    if self.rng.random() < 0.2 else "(%s)::%s" % (self.pick(TEXTS), name)
            return "(%s)::%s" % (self.pick(TEXTS), name)
        if name == "boolean":
            return self.pick(["NULL::boolean", "true", "false"])
        if name == "timestamp with time zone":
            return "(%s)::timestamptz" % self.pick(TIMES)
        if name == "interval":
            return "(%s)::interval" % self.pick(INTERVALS)
        if name == "jsonb":
            return "(%s)::jsonb" % self.jsonb()
        if name == "double precision[]":
            return "(%s)::float8[]" % self.pick(FLOAT_ARRAYS)
        if name == "text[]":
            return "(%s)::text[]" % self.pick(["NULL", "'{}'", "'{a,b}'", "'{customer_id,ts,amount}'", "'{NULL}'"])
        if name == "regclass":
            return "(%s)::regclass" % self.pick(["NULL", "'pg_class'", "'fuzz_tx'", "'fuzz_summary'", "'clm.jobs'"])
        if name == "bytea":
            return "(%s)::bytea" % self.pick(BYTEAS)
        if name == "clm.fit_data":
            return "(%s)::clm.fit_data" % self.fit_data()
        if cat == "A":
            return "NULL::%s" % name
        return "NULL::%s" % name

    def args(self, f, depth=0):
        cust = self.customer()
        out = []
        for i, toid in enumerate(f["argtypes"]):
            an = f["argnames"][i] if i < len(f["argnames"]) else ""
            out.append(self.value(toid, an, depth, cust))
        return out

    def call_expr(self, f, depth=0):
        args = self.args(f, depth)
        if f["variadic"] and args:
            args[-1] = "VARIADIC " + args[-1]
        return "%s(%s)" % (f["name"], ", ".join(args))

    def statement(self, f):
        """one statement exercising f, its result turned into text"""
        if f["kind"] == "f":
            if f["retset"]:
                return "SELECT sum(length(x::text)) FROM (SELECT %s AS x) s" % self.call_expr(f)
            return "SELECT length((%s)::text)" % self.call_expr(f)
        if f["kind"] == "p":
            return "CALL %s" % self.call_expr(f)
        # aggregate or window function: a few rows of arguments
        nrows = self.rng.randint(1, 6)
        ncols = len(f["argtypes"])
        cols = ["c%d" % i for i in range(ncols)]
        rows = ["(%s)" % ", ".join([str(self.rng.randint(1, 2))] + self.args(f)) for _ in range(nrows)]
        src = "(VALUES %s) v(p, %s)" % (", ".join(rows), ", ".join(cols))
        call = "%s(%s)" % (f["name"], ", ".join(cols))
        if f["kind"] == "w":
            return ("SELECT sum(length(x::text)) FROM (SELECT %s OVER (PARTITION BY p) AS x FROM %s) s"
                    % (call, src))
        return "SELECT length((%s)::text) FROM %s GROUP BY p" % (call, src)


def binary_fit_data(rng, path):
    """a COPY BINARY file of one clm.fit_data value, mostly malformed"""
    n = rng.choice([0, 1, 2, 5, 1000])
    version = rng.choice([1, 1, 1, 0, 2, 255])
    flags = rng.choice([1, 3, 2, 0, 4, 255])
    pen = rng.choice([0.0, 0.01, -1.0, float("nan"), float("inf")])
    rows = b""
    for _ in range(n):
        x = rng.choice([0.0, 1.0, 2.0, 1.5, -1.0, float("nan"), 1e308])
        tx = 0.0 if x == 0 and rng.random() < 0.8 else rng.choice([0.5, 1.0, 5.0, -1.0])
        T = rng.choice([1.0, 10.0, 0.0, 5e-324, float("inf")])
        m = rng.choice([0.0, 10.0, -5.0, float("nan")])
        w = rng.choice([1.0, 1.0, 3.0, 0.0, -1.0, float("inf"), 1e308])
        rows += struct.pack(">ddddd", x, tx, T, m, w)
    body = struct.pack(">BBdi", version, flags, pen, rng.choice([n, n, n, n + 1, -1, 2**31 - 1])) + rows
    cut = rng.random()
    if cut < 0.15:
        body = body[:rng.randint(0, len(body))]
    elif cut < 0.2:
        body += b"\x00" * rng.randint(1, 50)
    data = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    data += struct.pack(">hi", 1, len(body)) + body + struct.pack(">h", -1)
    with open(path, "wb") as fh:
        fh.write(data)
    return "COPY fuzz_bin FROM '%s' (FORMAT binary)" % path


def psql_query(psql, sql):
    out = subprocess.run(psql + ["-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql, out.stderr))
    return out.stdout


def catalog(psql):
    funcs = json.loads(psql_query(psql, """
SELECT json_agg(json_build_object('name', 'clm.' || quote_ident(p.proname),
	'sig', p.oid::regprocedure::text, 'kind', p.prokind, 'retset', p.proretset,
	'argtypes', p.proargtypes::oid[], 'rettype', p.prorettype,
	'argnames', coalesce(p.proargnames, '{}'), 'volatile', p.provolatile,
	'variadic', p.provariadic <> 0) ORDER BY p.oid::regprocedure::text)
FROM pg_proc p WHERE p.pronamespace = 'clm'::regnamespace"""))
    types = json.loads(psql_query(psql, """
WITH RECURSIVE t(oid) AS (
	SELECT unnest(proargtypes::oid[] || prorettype) FROM pg_proc WHERE pronamespace = 'clm'::regnamespace
	UNION
	SELECT unnest(ty.typbasetype || ARRAY(SELECT a.atttypid FROM pg_attribute a
		WHERE a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
	FROM t JOIN pg_type ty ON ty.oid = t.oid)
SELECT json_object_agg(ty.oid, json_build_object('name', format_type(ty.oid, NULL),
	'typtype', ty.typtype, 'category', ty.typcategory, 'basetype', ty.typbasetype,
	'labels', (SELECT coalesce(json_agg(enumlabel ORDER BY enumsortorder), '[]') FROM pg_enum WHERE enumtypid = ty.oid),
	'attrs', (SELECT coalesce(json_agg(json_build_object('name', attname, 'type', atttypid) ORDER BY attnum), '[]')
			  FROM pg_attribute WHERE attrelid = ty.typrelid AND attnum > 0 AND NOT attisdropped)))
FROM pg_type ty JOIN t USING (oid)"""))
    types = {int(k): v for k, v in types.items()}
    for v in types.values():
        v["basetype"] = int(v["basetype"])
        for a in v["attrs"]:
            a["type"] = int(a["type"])
    for f in funcs:
        f["argtypes"] = [int(x) for x in f["argtypes"]]
        f["rettype"] = int(f["rettype"])
    return funcs, types


def run_batch(psql, stmts, path, prelude):
    """run the statements; returns {index: sqlstate}, and whether psql died"""
    with open(path, "w") as fh:
        fh.write("\\set VERBOSITY terse\n\\set ON_ERROR_STOP 0\n")
        fh.write(prelude)
        for i, s in stmts:
            fh.write("%s;\n\\echo @@ %d :SQLSTATE\n" % (s, i))
    out = subprocess.run(psql + ["-q", "-o", "/dev/null", "-f", path],
                         capture_output=True, text=True, errors="replace")
    states = {}
    for line in out.stdout.splitlines():
        m = re.match(r"@@ (\d+) (\w+)", line)
        if m:
            states[int(m.group(1))] = m.group(2)
    lost = ("connection to server was lost" in out.stderr or
            "server closed the connection" in out.stderr or
            "terminated abnormally" in out.stderr)
    return states, lost, out.stderr


def wait_server(psql, seconds=60):
    t0 = time.time()
    while time.time() - t0 < seconds:
        if subprocess.run(psql + ["-At", "-c", "SELECT 1"], capture_output=True).returncode == 0:
            return True
        time.sleep(0.5)
    return False


def setup_data(psql):
    psql_query(psql, """
DROP TABLE IF EXISTS fuzz_tx, fuzz_summary, fuzz_fd, fuzz_bin;
CREATE TABLE fuzz_bin (d clm.fit_data);
SELECT setseed(0.12);
CREATE TABLE fuzz_tx AS
SELECT c AS customer_id, c % 7 AS grp,
	'2022-01-01'::timestamptz + (random() * 700) * interval '1 day' AS ts,
	(round((random() * 400)::numeric * 4) / 4)::float8 AS amount
FROM generate_series(1, 50000) g, LATERAL (SELECT (random() * 10000)::int + g * 0 AS c) r;
CREATE TABLE fuzz_summary AS
SELECT customer_id, customer_id % 7 AS grp, (s).frequency::float8 AS frequency, (s).recency, (s).tenure,
	(s).repeat_avg_amount AS monetary
FROM (SELECT customer_id, clm.customer_summary(ts, amount, '2024-01-01', 'week') s
	  FROM fuzz_tx GROUP BY customer_id) q;
CREATE TABLE fuzz_fd AS
SELECT customer_id % 2000 AS g, customer_id % 3 AS grp,
	clm.fit_data(frequency, recency, tenure, monetary) AS fd
FROM fuzz_summary GROUP BY 1, 2;
ALTER TABLE fuzz_tx SET (parallel_workers = 4);
ALTER TABLE fuzz_summary SET (parallel_workers = 4);
ALTER TABLE fuzz_fd SET (parallel_workers = 4);
ANALYZE fuzz_tx, fuzz_summary, fuzz_fd;""")


# argument name -> (table, expression) for the agreement phase
AGG_ARGS = {
    "ts": ("fuzz_tx", "ts"), "amount": ("fuzz_tx", "amount"),
    "as_of": ("fuzz_tx", "'2024-01-01'::timestamptz"), "unit": ("fuzz_tx", "'week'"),
    "window": ("fuzz_tx", "'90 days'::interval"),
    "frequency": ("fuzz_summary", "frequency"), "recency": ("fuzz_summary", "recency"),
    "tenure": ("fuzz_summary", "tenure"), "monetary": ("fuzz_summary", "monetary + 1"),
    "penalizer": ("fuzz_summary", "0.01::float8"),
}


def agreement(psql, funcs, parallel_guc, report):
    """every aggregate: serial and partial-parallel results must be equal"""
    serial = "SET max_parallel_workers_per_gather = 0;\n"
    # a high tuple cost makes partial aggregation below the Gather pay
    par = ("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0.1; "
           "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 4; "
           "SET parallel_leader_participation = off; SET %s = on;\n" % parallel_guc)
    passed = failed = 0
    for f in funcs:
        if f["kind"] != "a":
            continue
        names = f["argnames"]
        if len(f["argtypes"]) == 1 and f["argtypes"][0] == f["rettype"]:
            table, exprs = "fuzz_fd", ["fd"]     # fit_data_merge(fit_data)
        elif all(n in AGG_ARGS for n in names) and len(set(AGG_ARGS[n][0] for n in names)) == 1:
            table, exprs = AGG_ARGS[names[0]][0], [AGG_ARGS[n][1] for n in names]
        else:
            report.append("agreement: no data for %s (%s)" % (f["sig"], names))
            continue
        grp = "grp"
        call = "%s(%s)" % (f["name"], ", ".join(exprs))
        q = ("SELECT %s AS k, md5((%s)::text) FROM %s GROUP BY 1 ORDER BY 1" % (grp, call, table),
             "SELECT md5((%s)::text) FROM %s" % (call, table))
        for qi in q:
            res = []
            for mode in (serial, par):
                out = subprocess.run(psql + ["-Atq", "-v", "ON_ERROR_STOP=1"], input=mode + qi + ";\n",
                                     capture_output=True, text=True)
                res.append((out.returncode, out.stdout, out.stderr))
            plan = subprocess.run(psql + ["-Atq"], input=par + "EXPLAIN (COSTS OFF) " + qi + ";\n",
                                  capture_output=True, text=True).stdout
            (rc1, o1, e1), (rc2, o2, e2) = res
            if rc1 != 0 or rc2 != 0:
                failed += 1
                report.append("agreement: %s failed: %s %s" % (qi, e1.strip(), e2.strip()))
            elif o1 != o2 or not o1.strip():
                failed += 1
                report.append("agreement: serial and parallel differ: %s" % qi)
            elif "Partial" not in plan:
                failed += 1
                report.append("agreement: no partial aggregation in the parallel plan: %s" % qi)
            else:
                passed += 1
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psql", required=True)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CLM_FUZZ_SEED", "12")))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("CLM_FUZZ_SECONDS", "60")))
    ap.add_argument("--batch", type=int, default=400)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--serverlog", default="")
    a = ap.parse_args()
    psql = shlex.split(a.psql)

    funcs, types = catalog(psql)
    version = int(psql_query(psql, "SHOW server_version_num").strip())
    parallel_guc = "debug_parallel_query" if version >= 160000 else "force_parallel_mode"
    policy = json.loads(psql_query(psql, "SELECT clm.stage_policy_defaults()"))
    rules = json.loads(psql_query(psql, "SELECT clm.alert_rules_defaults()"))
    setup_data(psql)

    # functions with internal arguments cannot be called from SQL at all
    internal = {oid for oid, t in types.items() if t["name"] == "internal"}
    callable_ = [f for f in funcs if not internal.intersection(f["argtypes"])]
    producers = collections.defaultdict(list)
    for f in callable_:
        if f["kind"] == "f" and not f["retset"] and f["volatile"] != "v":
            producers[f["rettype"]].append(f)
    print("fuzz: seed %d, %.0f s, %d functions in clm (%d callable from SQL), %s"
          % (a.seed, a.seconds, len(funcs), len(callable_), parallel_guc))

    states = collections.Counter()
    per_func = collections.defaultdict(collections.Counter)
    findings = []
    calls = crashes = 0
    deadline = time.time() + a.seconds
    batch = 0
    while time.time() < deadline:
        rng = random.Random(a.seed * 1000003 + batch)
        gen = Gen(rng, types, producers, policy, rules)
        stmts = []
        for i in range(a.batch):
            f = callable_[(batch * a.batch + i) % len(callable_)] if rng.random() < 0.5 else rng.choice(callable_)
            if rng.random() < 0.03:
                path = os.path.join(a.workdir, "fuzz_bin_%d.copy" % i)
                stmts.append((i, binary_fit_data(rng, path), "clm.fit_data_recv(internal)"))
                continue
            try:
                stmts.append((i, gen.statement(f), f["sig"]))
            except RecursionError:
                continue
        par = batch % 2 == 1
        prelude = "SET statement_timeout = '10s';\nSELECT setseed(%f);\n" % rng.random()
        if par:
            prelude += ("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
                        "SET min_parallel_table_scan_size = 0; SET %s = on;\n" % parallel_guc)
        pending = stmts
        while pending:
            path = os.path.join(a.workdir, "fuzz_batch.sql")
            got, lost, err = run_batch(psql, [(i, s) for i, s, _ in pending], path, prelude)
            done = [p for p in pending if p[0] in got]
            for i, s, sig in done:
                st = got[i]
                calls += 1
                states[st] += 1
                per_func[sig][st] += 1
                if st.startswith("XX") and st != "XX001":
                    findings.append("internal error %s (%s mode): %s" % (st, "parallel" if par else "serial", s[:400]))
                elif st == "25000" and par:
                    findings.append("subtransaction in parallel mode: labelled PARALLEL SAFE but is not: %s" % s[:400])
                elif st == "57014":
                    findings.append("timeout (10 s) (%s mode): %s" % ("parallel" if par else "serial", s[:400]))
            rest = [p for p in pending if p[0] not in got]
            if not rest:
                break
            if rest:
                # the first statement without an echo ended the session: a
                # crashed backend (lost says so) or psql itself failing
                i, s, sig = rest[0]
                calls += 1
                crashes += 1
                states["crash"] += 1
                per_func[sig]["crash"] += 1
                findings.append("CRASH (%s mode): %s\n    psql: %s" % ("parallel" if par else "serial", s[:400], err.strip()[-300:]))
                if not wait_server(psql):
                    findings.append("server did not come back")
                    pending = []
                    deadline = 0
                    break
                pending = rest[1:]
        batch += 1

    report = []
    ap_, af = agreement(psql, funcs, parallel_guc, report)

    bad = sum(1 for x in findings if not x.startswith("timeout"))
    print("fuzz: %d calls in %d batches (%d serial, %d with %s = on)"
          % (calls, batch, (batch + 1) // 2, batch // 2, parallel_guc))
    print("fuzz: outcomes by SQLSTATE: %s" % ", ".join("%s %d" % kv for kv in states.most_common()))
    never_ok = sorted(sig for sig, c in per_func.items() if c["00000"] == 0)
    print("fuzz: %d of %d callable functions returned a value at least once; never: %s"
          % (len(per_func) - len(never_ok), len(callable_), ", ".join(never_ok) or "-"))
    print("fuzz: aggregate agreement serial vs parallel: %d passed, %d failed" % (ap_, af))
    for x in findings[:40] + report:
        print("  " + x)
    if a.serverlog and os.path.exists(a.serverlog):
        with open(a.serverlog, errors="replace") as fh:
            sig = [l.strip() for l in fh if "terminated by signal" in l]
        if sig:
            bad += 1
            print("  server log: " + "; ".join(sig[:5]))
    passed = calls - bad + ap_
    print("%d passed, %d failed" % (passed, bad + af))
    return 0 if bad + af == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
