#!/usr/bin/env python3
"""Prints, one per line, the metric names the queries of a Grafana dashboard JSON use.

Usage: dashboard_metrics.py DASHBOARD.json

Reads every panel's (and nested row's) `targets[].expr` and every templating variable's query,
and takes out of each PromQL expression what is not a metric name: string literals, label
matchers `{...}`, ranges `[...]`, grouping clauses `by (...)` and the like, function calls,
keywords and numbers. A query that leaves nothing (a typo'd expression) is an error, so the
lab's check (dashboard_check in ci/lab-tests/modes/common.bash) cannot pass on an empty list.
"""

import json
import re
import sys

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "atan2", "inf", "nan"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = GROUPING.sub("", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)
    names = set()
    for m in IDENT.finditer(e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def queries(dash):
    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", "?"), t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\)\s*", q)
            yield "variable " + v.get("name", "?"), m.group(1) if m else q


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        dash = json.load(f)
    used = set()
    n = 0
    for title, expr in queries(dash):
        n += 1
        names = metric_names(expr)
        if not names:
            sys.exit(f"{sys.argv[1]}: the query of {title!r} names no metric: {expr}")
        used |= names
    if n == 0:
        sys.exit(f"{sys.argv[1]}: no queries found")
    print("\n".join(sorted(used)))


if __name__ == "__main__":
    main()
