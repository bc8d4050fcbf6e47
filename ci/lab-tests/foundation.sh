#!/usr/bin/env bash
# Lab test of the director's foundation: ARP, ICMP echo and the drop counters of malformed input.
#
# Builds lab `base` (ci/lab up), starts rvsd in rvs-dir (ci/lab run; RVSD and CONFIG are passed through
# to ci/lab), and checks from rvs-client:
#   - a gratuitous ARP from the director's MAC for the DIP, captured in rvs-client before rvsd started;
#   - ping of the DIP and of the VIP; arping of both, every reply carrying rvs-dir eth0's MAC;
#   - the echo and ARP reply counters;
#   - a malformed burst (ci/tools/rawsend.py) raising rvs_net_drops_total for each reason by at least
#     the number of frames sent for it; ping still answered afterwards;
#   - `ci/lab stop`: rvsd exits 0 on SIGTERM.
# Prints its plan (`1..N`), `ok - ...` / `not ok - ...` per check (a check that cannot run here is a
# TAP skip, `ok - ... # SKIP reason`) and ends with `N passed, M failed`; exits non-zero when a
# check failed. The lab is torn down on every exit. Every wait is bounded.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/ci/lab
RAWSEND=$ROOT/ci/tools/rawsend.py
DIP=192.168.100.11
VIP=192.168.100.100
METRICS=http://127.0.0.1:9100/metrics
BURST=${BURST:-20} # frames of each malformed kind

# shellcheck source-path=SCRIPTDIR source=tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/tap.bash"
TMP=$(mktemp -d /tmp/rvs-foundation.XXXXXX)
CAPTURE_PID=


cleanup() {
	if [[ -n $CAPTURE_PID ]]; then kill -TERM "$CAPTURE_PID" 2>/dev/null || true; fi
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# check DESC CMD...: runs CMD (output kept for the failure report), one ok/not ok line.
check() {
	local desc=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		show "$TMP/out"
		return 1
	fi
}

in_client() { ip netns exec rvs-client "$@"; }
scrape() { ip netns exec rvs-dir curl -sf --max-time 2 "$METRICS"; }

# metric_sum FILE NAME [REASON]: the sum over cores of metric NAME (with reason=REASON if given).
metric_sum() {
	awk -v name="$2" -v reason="${3:-}" '
		index($0, name "{") == 1 || $1 == name {
			if (reason == "" || index($0, "reason=\"" reason "\"")) s += $NF
		}
		END { printf "%d\n", s }' "$1"
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds or SECONDS pass.
wait_for() {
	local tries=$(($1 * 5))
	shift
	while ((tries-- > 0)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

plan 18
if ((EUID != 0)); then
	not_ok "running as root (network namespaces need it)"
	bail_out "not root"
fi

# --- lab and daemon ----------------------------------------------------------------------------------
check "ci/lab up base" "$LAB" up base || bail_out "the lab did not come up"

DMAC=$(ip netns exec rvs-dir cat /sys/class/net/eth0/address)
echo "# director MAC (rvs-dir eth0): $DMAC"

# Capture ARP in rvs-client before rvsd starts, to see its gratuitous ARP.
ip netns exec rvs-client timeout 120 tcpdump --immediate-mode -l -nn -e -i eth0 arp >"$TMP/arp.txt" 2>"$TMP/arp.err" &
CAPTURE_PID=$!
capture_ready() { grep -qs "listening on" "$TMP/arp.err"; }
CAP_READY=1
wait_for 10 capture_ready || CAP_READY=0

check "ci/lab run: rvsd starts and answers /metrics" "$LAB" run || bail_out "rvsd did not start"

# A gratuitous ARP: from the director's MAC to broadcast, announcing the DIP (request with sender ==
# target, or an unsolicited reply). Nothing in rvs-client has sent anything yet.
dip_re=${DIP//./\\.}
garp_re="^[^ ]+ $DMAC > ff:ff:ff:ff:ff:ff, ethertype ARP .*(Request who-has $dip_re( \\([^)]*\\))? tell $dip_re,|Reply $dip_re is-at $DMAC)"
garp_seen() { grep -qE "$garp_re" "$TMP/arp.txt"; }
if ((CAP_READY)) && wait_for 10 garp_seen; then
	ok "gratuitous ARP for $DIP from $DMAC seen in rvs-client at start"
else
	not_ok "gratuitous ARP for $DIP from $DMAC seen in rvs-client at start (tcpdump reported readiness: $CAP_READY)"
	show "$TMP/arp.txt"
fi
kill -TERM "$CAPTURE_PID" 2>/dev/null || true
wait "$CAPTURE_PID" 2>/dev/null || true
CAPTURE_PID=

# --- ARP and ICMP echo -------------------------------------------------------------------------------
scrape >"$TMP/m0" || : >"$TMP/m0"

check "ping -c 3 $DIP (DIP) from rvs-client" in_client ping -c 3 -W 2 -w 10 "$DIP"
check "ping -c 3 $VIP (VIP) from rvs-client" in_client ping -c 3 -W 2 -w 10 "$VIP"

# arping_check IP: 3 replies, every one from the director's MAC.
arping_check() {
	local ip=$1 macs replies
	in_client arping -c 3 -w 6 -I eth0 "$ip" >"$TMP/arping" 2>&1
	replies=$(grep -c "reply from $ip" "$TMP/arping")
	macs=$(grep "reply from $ip" "$TMP/arping" | grep -oE '\[[0-9A-Fa-f:]{17}\]' | tr -d '[]' |
		tr 'A-F' 'a-f' | sort -u | tr '\n' ' ')
	if ((replies >= 3)) && [[ $macs == "$DMAC " ]]; then
		ok "arping $ip: $replies replies, all from $DMAC"
	else
		not_ok "arping $ip: want 3 replies from $DMAC, got $replies from: ${macs:-nobody}"
		show "$TMP/arping"
	fi
}
arping_check "$DIP"
arping_check "$VIP"

# counter_rose FILE0 NAME MIN [REASON]: NAME (for REASON) rose by at least MIN since FILE0 was scraped.
counter_rose() {
	local before after
	scrape >"$TMP/m1" || return 1
	before=$(metric_sum "$1" "$2" "${4:-}")
	after=$(metric_sum "$TMP/m1" "$2" "${4:-}")
	DELTA=$((after - before))
	((DELTA >= $3))
}
for counter in rvs_net_echo_replies_total rvs_net_arp_replies_total; do
	DELTA=0
	if wait_for 3 counter_rose "$TMP/m0" "$counter" 6; then
		ok "$counter rose by >= 6 (by $DELTA)"
	else
		not_ok "$counter rose by >= 6 (by $DELTA)"
		grep -E "^$counter" "$TMP/m1" 2>/dev/null | sed 's/^/#   /'
	fi
done

# --- malformed input ---------------------------------------------------------------------------------
scrape >"$TMP/m0" || : >"$TMP/m0"
if in_client python3 "$RAWSEND" --iface eth0 --dst-mac "$DMAC" --dst-ip "$DIP" \
	malformed --count "$BURST" >"$TMP/burst" 2>&1; then
	ok "rawsend.py malformed burst sent ($(awk -F= '/^total/ { print $2 }' "$TMP/burst") frames)"
else
	not_ok "rawsend.py malformed burst sent"
fi
sed 's/^/#   /' "$TMP/burst"

declare -A expect=()
while read -r line; do
	[[ $line == kind=* ]] || continue
	reason='' sent=0
	for field in $line; do
		case $field in
		reason=*) reason=${field#reason=} ;;
		sent=*) sent=${field#sent=} ;;
		esac
	done
	[[ -n $reason ]] && expect[$reason]=$((${expect[$reason]:-0} + sent))
done <"$TMP/burst"

for reason in $(printf '%s\n' "${!expect[@]}" | sort); do
	want=${expect[$reason]}
	if ((want == 0)); then
		skip "rvs_net_drops_total{reason=\"$reason\"} rose" "rawsend.py could send no frame of this kind (the kernel refuses frames shorter than 14 bytes)"
		continue
	fi
	DELTA=0
	if wait_for 3 counter_rose "$TMP/m0" rvs_net_drops_total "$want" "$reason"; then
		ok "rvs_net_drops_total{reason=\"$reason\"} rose by >= $want (by $DELTA)"
	else
		not_ok "rvs_net_drops_total{reason=\"$reason\"} rose by >= $want (by $DELTA)"
		grep -E "^rvs_net_drops_total" "$TMP/m1" 2>/dev/null | sed 's/^/#   /'
	fi
done

check "ping $DIP still answered after the burst" in_client ping -c 3 -W 2 -w 10 "$DIP"

# --- shutdown ----------------------------------------------------------------------------------------
check "ci/lab stop: rvsd exits 0 on SIGTERM" "$LAB" stop

summary
((FAIL == 0))
