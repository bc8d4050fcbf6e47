#!/usr/bin/env bash
# Black-box throughput of rvsd itself (issue 13's headline number): the real daemon binary,
# one worker, fed from a pcap on `net_pcap,infinite_rx=1` (client side, with the VIP) and
# forwarding by FULLNAT out to `net_null` (real-server side), next to `dpdk-testpmd` io-forward
# of the same pcap on the same vdevs in the same sitting. Prints one result line for each and
# the ratio rvsd / testpmd.
#
# The pcap (written by `rvs-bench pcap`, kept in $BB_DIR for reuse): the SYNs of FLOWS flows in
# one seeded shuffle, then their ACKs in another. The first pass opens every connection; from
# then on every packet is forwarded on an established connection, in random order (see
# src/bin/rvs-bench/pcapgen.rs). rvsd's counters come from its Prometheus endpoint, read after
# the first pass at the start and at the end of the window; testpmd's rate is the mean of its
# Rx-pps reports inside its window. The rvsd worker thread's CPU time (schedstat) gives its CPU
# ns per packet beside the wall-clock rate.
#
#   usage: perf/blackbox.sh [--quick] [--flows N] [--window S] [--seed S] [--append NOTE]
#     --quick: 10k flows, 3 s windows, the correctness checks of perf/smoke.sh only
#     --append NOTE: append the result, the machine and NOTE to perf/RESULTS.md
# Needs root (EAL), target/release/{rvsd,rvs-bench} (built if absent) and dpdk-testpmd
# (Debian's dpdk-dev). Bounded: each program runs for warm-up + window, then is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOWS=1000000
WINDOW=10
SEED=""
QUICK=0
NOTE=""
APPEND=0
while (($#)); do
    case $1 in
    --quick) QUICK=1 FLOWS=10000 WINDOW=3 ;;
    --flows) FLOWS=$2; shift ;;
    --window) WINDOW=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --append) APPEND=1 NOTE=$2; shift ;;
    *) echo "perf/blackbox.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
# --quick keeps one small pcap for every smoke run (seed 1); otherwise a new seed per run.
if ((QUICK)); then SEED=${SEED:-1}; fi
SEED=${SEED:-$(date +%s)}
T=${CARGO_TARGET_DIR:-target}/release
for b in rvsd rvs-bench; do
    [ -x "$T/$b" ] || nice -n 10 cargo build --release --bin "$b"
done
command -v dpdk-testpmd >/dev/null || { echo "perf/blackbox.sh: dpdk-testpmd missing (apt-get install dpdk-dev)" >&2; exit 1; }

BB_DIR=${BB_DIR:-/tmp/rvs-blackbox}
mkdir -p "$BB_DIR"
work=$(mktemp -d)
rvsd_pid=""
cleanup() {
    if [ -n "$rvsd_pid" ] && kill -0 "$rvsd_pid" 2>/dev/null; then
        kill "$rvsd_pid" 2>/dev/null || true
        sleep 2
        kill -9 "$rvsd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# net_pcap's own MAC (the PMD does not let it be changed): "\x02pcap\x00".
MAC=02:70:63:61:70:00
VIP=10.0.0.100
PCAP="$BB_DIR/fullnat-$FLOWS-$SEED.pcap"
[ -s "$PCAP" ] || "$T/rvs-bench" pcap --out "$PCAP" --flows "$FLOWS" --seed "$SEED" --dst-mac "$MAC" --vip "$VIP" >&2
FRAMES=$((2 * FLOWS))
# net_pcap keeps every frame of the file in mbufs of the rx pool; room for the rings on top.
MBUFS=$((FRAMES + 65536))
# --no-huge: about 5 KB of EAL memory per mbuf (2.4M mbufs needed 12000 MB, dpdk-notes.md).
MEM_MB=$((MBUFS * 5000 / 1000000 + 512))
WARMUP=$((FLOWS / 200000 + 3))

# ---- testpmd io-forward, pcap -> null
tp_out="$work/testpmd.out"
: >"$tp_out"
timeout -s INT $((WARMUP + WINDOW + 30)) dpdk-testpmd -l 0,1 --no-huge -m "$MEM_MB" --no-pci --no-telemetry \
    --file-prefix "rvs-bb-tp-$$" --vdev "net_pcap0,rx_pcap=$PCAP,infinite_rx=1" --vdev net_null0,no-rx=1 -- \
    --forward-mode=io --total-num-mbufs="$MBUFS" --stats-period 1 --nb-cores=1 --portlist=0,1 \
    </dev/null >"$tp_out" 2>&1 &
tp_pid=$!
# The first report with packets marks the end of loading; WARMUP more reports, then the window.
deadline=$((SECONDS + 600))
while ! grep -q 'Rx-pps: *[1-9]' "$tp_out"; do
    if ! kill -0 "$tp_pid" 2>/dev/null || ((SECONDS > deadline)); then
        cat "$tp_out" >&2
        echo "perf/blackbox.sh: testpmd forwarded nothing" >&2
        exit 1
    fi
    sleep 1
done
sleep $((WARMUP + WINDOW))
kill -INT "$tp_pid" 2>/dev/null || true
wait "$tp_pid" || true
# Rx-pps of port 0, one report a second: skip the first WARMUP reports with packets, average WINDOW.
tp_pps=$(awk '/Rx-pps:/ && port0 {print $2} /NIC statistics for port 0/ {port0=1; next} /NIC statistics for port/ {port0=0}' "$tp_out" |
    awk -v w="$WARMUP" -v n="$WINDOW" '$1 > 0 {k++; if (k > w && k <= w + n) {s += $1; c++}} END {if (c) printf "%.0f", s / c; else print 0}')
echo "testpmd io-forward pcap->null: rx_pps=$tp_pps (mean of reports $((WARMUP + 1))..$((WARMUP + WINDOW)))"

# ---- rvsd: one worker, FULLNAT, pcap -> null
MPORT=$((20000 + $$ % 20000))
cfg="$work/rvs.toml"
{
    cat <<EOF
[eal]
main_lcore = 0
main_cpu = 0
no_huge = true
no_pci = true
memory_mb = $MEM_MB
file_prefix = "rvs-bb-$$"
vdevs = ["net_pcap0,rx_pcap=$PCAP,infinite_rx=1", "net_null0,no-rx=1"]

[[port]]
name = "clients"
device = "net_pcap0"
promiscuous = true
rx_desc = 1024
tx_desc = 1024

[[port]]
name = "servers"
device = "net_null0"
rx_desc = 1024
tx_desc = 1024

[[addr]]
port = "clients"
ip = "10.0.0.1/24"
kind = "host"

[[addr]]
port = "clients"
ip = "$VIP/32"
kind = "vip"

[[addr]]
port = "servers"
ip = "192.168.1.1/24"
kind = "host"

[[route]]
dst = "default"
via = "10.0.0.254"
port = "clients"

[[worker]]
lcore = 1
cpu = 1
rx = [{ port = "clients", queue = 0 }, { port = "servers", queue = 0 }]

[dataplane]
mbufs = $MBUFS
conns_per_worker = $((FLOWS + FLOWS / 4 + 4096))

[ctrl]
socket = "$work/rvs.sock"

[metrics]
listen = "127.0.0.1:$MPORT"

[[neigh.static]]
ip = "10.0.0.254"
mac = "52:00:00:00:00:fe"
port = "clients"

EOF
    for n in $(seq 0 63); do
        printf '\n[[addr]]\nport = "servers"\nip = "192.168.2.%d/32"\nkind = "local"\n' "$n"
    done
    for n in 0 1 2 3; do
        printf '\n[[neigh.static]]\nip = "192.168.1.%d"\nmac = "52:00:00:00:01:%02x"\nport = "servers"\n' $((10 + n)) "$n"
    done
    cat <<EOF

[[service]]
proto = "tcp"
vip = "$VIP:80"
scheduler = "rr"
laddrs = [$(for n in $(seq 0 63); do printf '"192.168.2.%d",' "$n"; done)]
EOF
    for n in 0 1 2 3; do
        printf '\n[[service.dest]]\naddr = "192.168.1.%d:80"\nfwd = "fullnat"\n' $((10 + n))
    done
} >"$cfg"
sed -i 's/,\]$/]/' "$cfg"
"$T/rvsd" --check -c "$cfg" >&2
RVS_LOG=warn "$T/rvsd" -c "$cfg" >"$work/rvsd.out" 2>&1 &
rvsd_pid=$!
scrape() { curl -sf "http://127.0.0.1:$MPORT/metrics" || true; }
# metric NAME [LABEL-FILTER]: the sum of NAME's samples in the last scrape ($M).
metric() { awk -v n="$1" -v f="${2:-}" '$1 ~ "^"n"({|$)" && index($1, f) {s += $2} END {printf "%.0f", s}' <<<"$M"; }
deadline=$((SECONDS + 600))
# Loading: rvsd up and the first pass (every SYN) received.
while :; do
    if ! kill -0 "$rvsd_pid" 2>/dev/null || ((SECONDS > deadline)); then
        cat "$work/rvsd.out" >&2
        echo "perf/blackbox.sh: rvsd did not start or did not receive the first pass" >&2
        exit 1
    fi
    M=$(scrape)
    [ -n "$M" ] && [ "$(metric rvs_core_rx_packets_total)" -ge "$FRAMES" ] && break
    sleep 1
done
task=$(grep -l -E 'worker|lcore' /proc/"$rvsd_pid"/task/*/comm | head -1 | xargs dirname)
sleep "$WARMUP"
M=$(scrape); t0=$(date +%s.%N); c0=$(cut -d' ' -f1 "$task/schedstat")
rx0=$(metric rvs_core_rx_packets_total); tx0=$(metric rvs_core_tx_packets_total)
fw0=$(metric rvs_lb_forwarded_total); cr0=$(metric rvs_lb_conns_created_total)
dr0=$(($(metric rvs_lb_drops_total) + $(metric rvs_net_drops_total) + $(metric rvs_core_tx_dropped_total)))
sleep "$WINDOW"
M=$(scrape); t1=$(date +%s.%N); c1=$(cut -d' ' -f1 "$task/schedstat")
rx1=$(metric rvs_core_rx_packets_total); tx1=$(metric rvs_core_tx_packets_total)
fw1=$(metric rvs_lb_forwarded_total); cr1=$(metric rvs_lb_conns_created_total)
dr1=$(($(metric rvs_lb_drops_total) + $(metric rvs_net_drops_total) + $(metric rvs_core_tx_dropped_total)))
conns=$(metric rvs_conn_table_entries)
longest=$(awk '/^rvs_core_longest_poll_seconds/ {if ($2 > m) m = $2} END {printf "%.0f", m * 1e6}' <<<"$M")
kill "$rvsd_pid"
wait "$rvsd_pid" || true
rvsd_pid=""
read -r rv_pps cpu_ns ratio < <(awk -v a="$t0" -v b="$t1" -v r0="$rx0" -v r1="$rx1" -v c0="$c0" -v c1="$c1" -v tp="$tp_pps" \
    'BEGIN {pps = (r1 - r0) / (b - a); printf "%.0f %.1f %.3f\n", pps, (r1 > r0 ? (c1 - c0) / (r1 - r0) : 0), (tp > 0 ? pps / tp : 0)}')
echo "rvsd fullnat pcap->null: rx_pps=$rv_pps cpu_ns_pkt=$cpu_ns rx=$((rx1 - rx0)) tx=$((tx1 - tx0)) fwd=$((fw1 - fw0)) created=$((cr1 - cr0)) drops=$((dr1 - dr0)) conns=$conns flows=$FLOWS longest_poll_us=$longest seed=$SEED"
echo "ratio rvsd/testpmd: $ratio"
if ((APPEND)); then
    {
        echo
        echo "### black box $(date -u '+%Y-%m-%d %H:%M UTC'): rvsd FULLNAT vs testpmd io-forward, same pcap ($FLOWS flows, seed $SEED)"
        echo
        echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1) (caches: $(lscpu | sed -n 's/^ *\(L[123][a-z]*\) cache: *\(.*\)/\1 \2/p' | paste -sd, -)), load $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- note: $NOTE"
        echo "- command: \`perf/blackbox.sh --flows $FLOWS --window $WINDOW --seed $SEED\`"
        echo
        echo "| what | Mpps | worker CPU ns/pkt | vs testpmd | longest poll µs | drops |"
        echo "|---|---:|---:|---:|---:|---:|"
        awk -v p="$tp_pps" 'BEGIN {printf "| testpmd io-forward | %.2f | | 1.000 | | |\n", p / 1e6}'
        awk -v p="$rv_pps" -v c="$cpu_ns" -v r="$ratio" -v l="$longest" -v d="$((dr1 - dr0))" \
            'BEGIN {printf "| rvsd FULLNAT, 1 worker | %.2f | %.0f | %s | %s | %s |\n", p / 1e6, c, r, l, d}'
    } >>perf/RESULTS.md
fi
