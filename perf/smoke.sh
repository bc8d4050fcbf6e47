#!/usr/bin/env bash
# Smoke test of the benchmark harness (for ci/test): runs `rvs-bench --quick` (about a second per
# scenario, small flow counts, nothing appended to perf/RESULTS.md) and checks that it exited 0
# and printed a result line for every scenario. It asserts nothing about speed.
#   usage: perf/smoke.sh [path/to/rvs-bench]     (default: target/release/rvs-bench, built if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-${CARGO_TARGET_DIR:-target}/release/rvs-bench}"
if [ ! -x "$BIN" ]; then
    cargo build --release --bin rvs-bench
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
if ! "$BIN" --quick --no-append >"$out"; then
    cat "$out"
    echo "perf/smoke.sh: rvs-bench --quick failed" >&2
    exit 1
fi
missing=0
for s in io est-dr est-tun est-nat est-fullnat both-nat both-fullnat new-tcp-dr new-tcp-fullnat new-udp-nat \
         new-udp-fullnat mix-fullnat idle mem-100k; do
    if ! grep -q "^scenario $s .*rx_pps=\|^scenario $s .*table_bytes=" "$out"; then
        echo "perf/smoke.sh: no result line for scenario $s" >&2
        missing=1
    fi
done
if [ "$missing" -ne 0 ]; then
    cat "$out"
    exit 1
fi
echo "perf/smoke.sh: every scenario ran"
