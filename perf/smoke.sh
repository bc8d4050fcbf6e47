#!/usr/bin/env bash
# Smoke test of the benchmark harness (for ci/test): runs `rvs-bench --quick` (about a second per
# scenario, small flow counts, nothing appended to perf/RESULTS.md) and checks that every scenario
# ran and did what it is named for, from the totals of its whole run (rvs-bench's result line:
# sent, rx_total, tx_total, fwd_total, drops_total, created_total, conns_before, conns):
#   - every traffic scenario: the worker received every frame the generator's rings took
#     (rx_total = sent > 0), sent each out again (tx_total = rx_total) and dropped none;
#   - the balancer's scenarios: every packet forwarded on a connection (fwd_total = rx_total);
#       est-*, both-*: the populated connections only (conns = conns_before = flows, none created);
#       new-*: every packet a new connection (created_total = rx_total), all in the table;
#       mix-*: some new connections, every one in the table (conns = conns_before + created);
#   - idle: no packet and no drop; mem-*: every connection established (conns = capacity, both
#     packets of each forwarded).
# It asserts nothing about speed.
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
FLOWS=10000 # --quick's flows for the established scenarios
bad=0
# fail SCENARIO WHY: one failed expectation.
fail() {
    echo "perf/smoke.sh: $1: $2" >&2
    bad=1
}
for s in io est-dr est-tun est-nat est-fullnat both-nat both-fullnat new-tcp-dr new-tcp-fullnat new-udp-nat \
         new-udp-fullnat mix-fullnat idle mem-100k; do
    line=$(grep "^scenario $s " "$out" || true)
    if [[ -z $line || $line == *" FAILED "* ]]; then
        fail "$s" "no result line (${line:-none})"
        continue
    fi
    declare -A v=()
    for kv in ${line#"scenario $s "}; do v[${kv%%=*}]=${kv#*=}; done
    # want NAME OP VALUE: the result's NAME compares to VALUE (an integer) with OP (-eq, -gt ...).
    want() {
        local got=${v[$1]:-}
        if ! [[ $got =~ ^[0-9]+$ ]] || ! [ "$got" "$2" "$3" ]; then fail "$s" "$1=${got:-missing}, want $2 $3"; fi
    }
    case $s in
    mem-*)
        want conns -eq "${v[capacity]:-0}"
        want conns -gt 0
        want forwarded -eq $((2 * ${v[conns]:-0}))
        ;;
    idle)
        want rx_total -eq 0
        want tx_total -eq 0
        want drops_total -eq 0
        ;;
    *)
        want sent -gt 0
        want rx_total -eq "${v[sent]:-0}"
        want tx_total -eq "${v[rx_total]:-0}"
        want drops_total -eq 0
        ;;
    esac
    case $s in
    est-* | both-*)
        want fwd_total -eq "${v[rx_total]:-0}"
        want conns_before -eq "$FLOWS"
        want conns -eq "$FLOWS"
        want created_total -eq 0
        ;;
    new-*)
        want fwd_total -eq "${v[rx_total]:-0}"
        want created_total -eq "${v[rx_total]:-0}"
        want conns -eq $((${v[conns_before]:-0} + ${v[created_total]:-0}))
        ;;
    mix-*)
        want fwd_total -eq "${v[rx_total]:-0}"
        want created_total -gt 0
        want conns -eq $((${v[conns_before]:-0} + ${v[created_total]:-0}))
        ;;
    io)
        want conns -eq 0
        ;;
    esac
    unset v
done
if [ "$bad" -ne 0 ]; then
    cat "$out"
    exit 1
fi
echo "perf/smoke.sh: every scenario ran and forwarded what it was sent"
