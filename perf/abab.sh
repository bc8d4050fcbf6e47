#!/usr/bin/env bash
# Before/after comparison of two builds of rvs-bench on a shared machine: runs them alternately,
# A B A B ... for ROUNDS rounds with the same arguments and the same seed (the same flow orders),
# and reports per scenario the median and the range (min-max) of each build's Mpps, worker CPU
# ns/packet and ratio to the I/O ceiling of its own run, and the ratio of the medians B / A.
# Alternating spreads the machine's changing load over both builds instead of giving one the
# quiet minutes; the range says how much that load moved the numbers.
#
#   usage: perf/abab.sh A_BIN B_BIN [ROUNDS] [-- rvs-bench args]
#     A_BIN, B_BIN: two rvs-bench binaries, for example built from two commits:
#       git worktree add /tmp/rvs-a <rev> && (cd /tmp/rvs-a && cargo build --release --bin rvs-bench)
#     ROUNDS: default 3. rvs-bench args: default `--only io,est-fullnat`; --no-append and
#     --seed are always added (seed: $SEED or the clock, printed).
# Prints a Markdown table; asserts nothing.
set -euo pipefail
if (($# < 2)); then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
A=$1 B=$2
shift 2
ROUNDS=3
if (($#)) && [[ $1 != -- ]]; then
    ROUNDS=$1
    shift
fi
[[ ${1:-} == -- ]] && shift
ARGS=("$@")
((${#ARGS[@]})) || ARGS=(--only io,est-fullnat)
SEED=${SEED:-$(date +%s)}
for b in "$A" "$B"; do
    [ -x "$b" ] || { echo "perf/abab.sh: $b is not an executable" >&2; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "perf/abab.sh: $ROUNDS rounds of A=$A B=$B, seed $SEED, args: ${ARGS[*]}" >&2
for r in $(seq 1 "$ROUNDS"); do
    for which in A B; do
        bin=$A
        [[ $which == B ]] && bin=$B
        echo "== round $r: $which" >&2
        "$bin" "${ARGS[@]}" --no-append --seed "$SEED" >"$out/$which.$r" || echo "perf/abab.sh: $which round $r failed" >&2
    done
done
python3 - "$out" "$ROUNDS" <<'EOF'
import statistics, sys, pathlib
out, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
# runs[build][round][scenario] = {key: value}
runs = {}
for build in "AB":
    for r in range(1, rounds + 1):
        rows = {}
        f = out / f"{build}.{r}"
        for line in f.read_text().splitlines() if f.exists() else []:
            p = line.split()
            if len(p) > 2 and p[0] == "scenario" and "FAILED" not in line:
                rows[p[1]] = dict(kv.split("=", 1) for kv in p[2:] if "=" in kv)
        runs.setdefault(build, []).append(rows)
def vals(build, scen, key):
    v = []
    for rows in runs[build]:
        kv = rows.get(scen, {})
        try:
            x = float(kv[key]) if key != "ratio" else float(kv["rx_pps"]) / float(rows["io"]["rx_pps"])
        except (KeyError, ValueError, ZeroDivisionError):
            continue
        if x == x:  # not NaN
            v.append(x)
    return v
def cell(v, scale, fmt):
    if not v:
        return "-"
    return f"{fmt.format(statistics.median(v) / scale)} ({fmt.format(min(v) / scale)}-{fmt.format(max(v) / scale)})"
scens = []
for build in "AB":
    for rows in runs[build]:
        for s in rows:
            if s not in scens:
                scens.append(s)
print("| scenario | measure | A median (range) | B median (range) | B / A |")
print("|---|---|---:|---:|---:|")
for s in scens:
    for key, name, scale, fmt in [("rx_pps", "Mpps", 1e6, "{:.2f}"), ("cpu_ns_pkt", "worker CPU ns/pkt", 1, "{:.0f}"),
                                  ("ratio", "vs I/O ceiling", 1, "{:.3f}"), ("longest_poll_ns", "longest poll µs", 1e3, "{:.0f}")]:
        a, b = vals("A", s, key), vals("B", s, key)
        if not a and not b:
            continue
        if s == "io" and key in ("ratio", "longest_poll_ns"):
            continue
        ratio = f"{statistics.median(b) / statistics.median(a):.3f}" if a and b and statistics.median(a) else "-"
        print(f"| {s} | {name} | {cell(a, scale, fmt)} | {cell(b, scale, fmt)} | {ratio} |")
print(f"\n{rounds} rounds, A and B alternating; n per cell = rounds that produced the row.")
EOF
