#!/usr/bin/env bash
# Smoke test of the benchmark harness (for ci/test): runs `rvs-bench --quick` (about a second per
# scenario, small flow counts, nothing appended to perf/RESULTS.md) and checks that every scenario
# ran and did what it is named for, from the totals of its whole run (rvs-bench's result line:
# sent, rx_total, tx_total, fwd_total, drops_total, created_total, conns_before, conns):
#   - every traffic scenario: the worker received every frame the generator's rings took
#     (rx_total = sent > 0), sent each out again (tx_total = rx_total) and dropped none, except
#     that a new-* scenario on a fast machine can fill its table: then every packet after the
#     table's capacity is dropped as lb_conn_table_full, counted, and nothing else is;
#   - the balancer's scenarios: every packet forwarded on a connection (fwd_total = rx_total);
#       est-*, both-*: the populated connections only (conns = conns_before = flows, none created);
#       new-*: every packet a new connection until the table is full (created_total =
#       min(rx_total, capacity - conns_before)), all forwarded and in the table;
#       mix-*: some new connections, every one in the table (conns = conns_before + created);
#       steady-*: every packet a new connection (created_total = rx_total), all forwarded, and
#       the table held where it was filled (conns = conns_before = flows: each new connection
#       displaced the oldest embryonic one);
#   - idle: no packet and no drop; mem-*: every connection established (conns = capacity, both
#     packets of each forwarded);
#   - the orders (issue 13): est-*, both-*, mix-* and io sent their flows in a shuffle unrelated
#     to the insertion shuffle (fewer than 1% of consecutive packets on slab-adjacent
#     connections), the seed printed; io touched every frame it forwarded (MAC swap);
#   - every traffic scenario's worker thread CPU time was read (cpu_ns_pkt > 0) and every
#     balancer scenario published its longest poll;
#   - the black box (perf/blackbox.sh --quick): testpmd io-forwarded the pcap, and rvsd, the real
#     daemon fed from it, forwarded every packet of its window on the 10k connections the
#     pcap's first pass opened (rx = tx = fwd > 0, none created in the window, no drop);
#   - `rvs-bench hot` in every mode: every packet forwarded (tx = packets, none dropped).
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
for s in io est-dr est-tun est-nat est-fullnat est-fullnat-1k both-nat both-fullnat new-tcp-dr new-tcp-fullnat new-udp-nat \
         new-udp-fullnat steady-tcp-fullnat mix-fullnat idle mem-100k; do
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
    new-*)
        # Every packet opens a connection until the table is full (how many packets a window
        # holds depends on the machine's speed); each one after that is dropped as
        # lb_conn_table_full, counted, and nothing else is.
        room=$((${v[capacity]:-0} - ${v[conns_before]:-0}))
        made=${v[rx_total]:-0}
        ((made > room)) && made=$room
        want sent -gt 0
        want rx_total -eq "${v[sent]:-0}"
        want created_total -eq "$made"
        want tx_total -eq "$made"
        want drops_total -eq $((${v[rx_total]:-0} - made))
        if ((${v[drops_total]:-0} > 0)) && [[ ${v[top_drop]:-} != "lb_conn_table_full:${v[drops_total]}" ]]; then
            fail "$s" "top_drop=${v[top_drop]:-missing}, want every drop to be lb_conn_table_full"
        fi
        ;;
    *)
        want sent -gt 0
        want rx_total -eq "${v[sent]:-0}"
        want tx_total -eq "${v[rx_total]:-0}"
        want drops_total -eq 0
        ;;
    esac
    case $s in
    est-*-1k)
        want fwd_total -eq "${v[rx_total]:-0}"
        want conns_before -eq 1000
        want conns -eq 1000
        want created_total -eq 0
        ;;
    est-* | both-*)
        want fwd_total -eq "${v[rx_total]:-0}"
        want conns_before -eq "$FLOWS"
        want conns -eq "$FLOWS"
        want created_total -eq 0
        ;;
    new-*)
        want fwd_total -eq "${v[created_total]:-0}"
        want conns -eq $((${v[conns_before]:-0} + ${v[created_total]:-0}))
        ;;
    steady-*)
        want created_total -eq "${v[rx_total]:-0}"
        want fwd_total -eq "${v[rx_total]:-0}"
        want conns_before -eq "$FLOWS"
        want conns -eq "$FLOWS"
        ;;
    mix-*)
        want fwd_total -eq "${v[rx_total]:-0}"
        want created_total -gt 0
        want conns -eq $((${v[conns_before]:-0} + ${v[created_total]:-0}))
        ;;
    io)
        want conns -eq 0
        want touched -eq "${v[tx_total]:-0}"
        ;;
    esac
    case $s in
    io | est-* | both-* | mix-*)
        want seed -ge 0
        n=$FLOWS
        [[ $s == *-1k ]] && n=1000
        want adjacent -lt $((n / 100 + 1))
        ;;
    esac
    case $s in
    mem-* | idle) ;;
    *)
        # whole nanoseconds of worker CPU per packet, and a longest poll for the worker's rows
        cpu=${v[cpu_ns_pkt]%%.*}
        if ! [[ $cpu =~ ^[0-9]+$ ]] || [ "$cpu" -le 0 ]; then fail "$s" "cpu_ns_pkt=${v[cpu_ns_pkt]:-missing}, want > 0"; fi
        [[ $s == io ]] || want longest_poll_ns -gt 0
        ;;
    esac
    unset v
done
bb="$(perf/blackbox.sh --quick 2>&1)" || { echo "$bb"; fail blackbox "perf/blackbox.sh --quick failed"; }
declare -A v=()
line=$(grep "^rvsd fullnat" <<<"$bb" || true)
for kv in ${line#*: }; do v[${kv%%=*}]=${kv#*=}; done
tp=$(sed -n 's/^testpmd .*rx_pps=\([0-9]*\).*/\1/p' <<<"$bb")
[[ ${tp:-0} -gt 0 ]] || fail blackbox "testpmd rx_pps=${tp:-missing}, want > 0"
s=blackbox
want() {
    local got=${v[$1]:-}
    if ! [[ $got =~ ^[0-9]+$ ]] || ! [ "$got" "$2" "$3" ]; then fail "$s" "$1=${got:-missing}, want $2 $3"; fi
}
want rx -gt 0
want tx -eq "${v[rx]:-0}"
want fwd -eq "${v[rx]:-0}"
want created -eq 0
want drops -eq 0
want conns -eq 10000
# `rvs-bench hot` (the profiling loop without DPDK ports): every packet of every mode forwarded.
for mode in dr tun nat fullnat; do
    hot=$("$BIN" hot --mode "$mode" --flows 1000 --packets 20000 2>&1) || {
        echo "$hot"
        fail "hot $mode" "rvs-bench hot failed"
        continue
    }
    grep -q "^hot .* tx=20000 dropped=0$" <<<"$hot" || fail "hot $mode" "not every packet forwarded: $hot"
done
if [ "$bad" -ne 0 ]; then
    cat "$out"
    echo "$bb"
    exit 1
fi
echo "perf/smoke.sh: every scenario ran and forwarded what it was sent (black box included)"
