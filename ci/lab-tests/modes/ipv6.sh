#!/usr/bin/env bash
# Lab test of the director's own IPv6 (issue 16 item 1; docs/ipv6.md). FULLNAT lab (its ports
# have kernel interfaces), rvsd on conf/lab-fullnat.toml plus IPv6 on the wan port: the host
# address 2001:db8:100::1/64, the VIP 2001:db8:100::100 and 2001:db8:100::dad, which the client
# already holds (a duplicate for rvsd's DAD to find; the client pings from its other address). The client gets IPv6 on its eth0
# (2001:db8:100::2/64; the lab turns IPv6 off everywhere, this script turns it on there only).
#
#   - DAD: the duplicate is found (rvs_net_nd_dad_conflicts_total, and the log names the
#     client's MAC); the other addresses pass;
#   - ping -6 from the client to the host address and the VIP is answered, and the client's
#     `ip -6 neigh` holds the director's port MAC for them (learnt by ND from rvsd's answers);
#   - the answers went out through rvsd's IPv6 neighbour table (rvs_net_nd_learned_total,
#     rvs_net_echo6_replies_total);
#   - the kernel side keeps its link-local address: a ping to the wan kernel interface's fe80::
#     address (ND for it included) passes the exception path both ways;
#   - IPv4 is still answered; promtool is clean over the scrape.
GEN=$(mktemp -d /tmp/rvs-ipv6-conf.XXXXXX)
DIR0=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cp "$DIR0/../../../conf/lab-fullnat.toml" "$GEN/ipv6.toml"
cat >>"$GEN/ipv6.toml" <<'TOML'

# ci/lab-tests/modes/ipv6.sh: the director's own IPv6 on the wan port.
[[addr]]
port = "wan"
ip = "2001:db8:100::1/64"
kind = "host"

[[addr]]
port = "wan"
ip = "2001:db8:100::100/128"
kind = "vip"

[[addr]]
port = "wan"
ip = "2001:db8:100::dad/128"
kind = "vip"
TOML
export CONFIG=$GEN/ipv6.toml
MODE=ipv6
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
trap 'cleanup; rm -rf "$GEN"' EXIT
plan 13

HOST6=2001:db8:100::1
VIP6=2001:db8:100::100
DUP6=2001:db8:100::dad

lab_up fullnat
# The client: IPv6 on eth0, its address, and the duplicate (no DAD of its own for that one).
in_ns client sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
in_ns client ip -6 addr add 2001:db8:100::2/64 dev eth0
in_ns client ip -6 addr add "$DUP6/128" dev eth0 nodad
client_ready() { ! in_ns client ip -6 addr show dev eth0 | grep -q tentative; }
wait_for 10 client_ready
lab_run

metric_sum() { # NAME: the sum of NAME's samples in a fresh scrape
	scrape | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%d\n", s }'
}
conflict_found() { (($(metric_sum rvs_net_nd_dad_conflicts_total) >= 1)); }
check "DAD finds $DUP6, which the client holds (rvs_net_nd_dad_conflicts_total)" wait_for 20 conflict_found
CLIENT_MAC=$(mac_of client)
check "the log reports the duplicate and who holds it ($CLIENT_MAC)" wait_for 5 \
	grep -q "IPv6 address $DUP6 is already used by $CLIENT_MAC" "$RUN_DIR/rvsd.log"

# From 2001:db8:100::2: rvsd does not answer its own (duplicate) address.
ping6_ok() { in_ns client ping -6 -I 2001:db8:100::2 -c 1 -W 1 "$1" >/dev/null; }
check "DAD passes and ping -6 $HOST6 is answered" wait_for 20 ping6_ok "$HOST6"
check_v "ping -6 $VIP6 (the VIP) is answered" in_ns client ping -6 -I 2001:db8:100::2 -c 3 -i 0.3 -W 2 "$VIP6"
DIR_MAC=$(ip netns exec rvs-dir cat /sys/class/net/eth0/address)
neigh_is_dir() { # ADDR: the client's neighbour entry for ADDR holds the director's MAC
	in_ns client ip -6 neigh show "$1" dev eth0 | tee /dev/stderr | grep -q "lladdr $DIR_MAC"
}
check "the client's ip -6 neigh has $DIR_MAC for $HOST6 and $VIP6 (learnt by ND)" \
	eval 'neigh_is_dir "$HOST6" && neigh_is_dir "$VIP6"'
replies_ok() {
	local learned replies
	learned=$(metric_sum rvs_net_nd_learned_total)
	replies=$(metric_sum rvs_net_echo6_replies_total)
	echo "learned $learned, echo replies $replies"
	((learned >= 1 && replies >= 4))
}
check "the replies went out through rvsd's IPv6 neighbour table (nd_learned, echo6_replies)" wait_for 10 replies_ok

# The kernel side: the wan kernel interface keeps its own link-local address.
kernel_ll() {
	ip netns exec rvs-dir ip -6 -o addr show dev wan-kernel scope link 2>/dev/null |
		grep -v tentative | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}
check "the wan kernel interface has a usable link-local address" wait_for 15 eval '[[ -n $(kernel_ll) ]]'
KLL=$(kernel_ll)
before=$(metric_sum rvs_exception_to_kernel_packets_total)
check_v "ping -6 $KLL%eth0 (the kernel's link-local) passes the exception path" \
	wait_for 10 in_ns client ping -6 -c 2 -W 2 "$KLL%eth0"
to_kernel_rose() { (($(metric_sum rvs_exception_to_kernel_packets_total) > before)); }
check "rvs_exception_to_kernel_packets_total rose" wait_for 5 to_kernel_rose
check "IPv4 still answered: ping 192.168.100.100" in_ns client ping -c 1 -W 2 192.168.100.100
promtool_check
summary
