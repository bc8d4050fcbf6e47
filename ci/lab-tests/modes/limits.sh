#!/usr/bin/env bash
# Lab test of the per-service limits (rvs_core::ipvs::limits; docs/hardening/limits.md) on the DR
# lab (one worker), with rvsd on conf/lab-dr.toml and the limits set live on the TCP service
# 192.168.100.100:80 with `rvsadm -E`. rvs-client gets a second address, 192.168.100.3, beside
# 192.168.100.2; curl picks its source with --interface. Checks:
#   - a rejected -E (a prefix with host bits) changes nothing (-S -n as before);
#   - --deny 192.168.100.3: -L -n shows the limits line and -S -n saves --deny; .3 gets no answer
#     (source_denied rose) while .2 is served;
#   - --allow 192.168.100.3: .3 is served, .2 gets nothing (source_not_allowed rose);
#   - --source-rate 2:2: 20 simultaneous connections from .2 mostly refused (source_rate_limited
#     rose; the burst and what refills while 20 curls start, at most 8, got through) while .3 is
#     served;
#   - --conn-limit 3 on the UDP echo service VIP:9000 (one worker, so its share is all 3): of 10
#     new flows from .2, exactly 3 are answered and listed, 7 counted as service_conn_limit;
#   - -E without limits: .2 and .3 served again; `ci/lab stop`: rvsd exits 0.
# Each connection attempt is bounded (curl --connect-timeout / --max-time). Prints `ok - ...` /
# `not ok - ...` per check and ends with `N passed, M failed`.
MODE=dr
# shellcheck source-path=SCRIPTDIR source=common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
plan 16

VIP=192.168.100.100
C2=192.168.100.2
C3=192.168.100.3
SVC="-t $VIP:80 -s rr"

# served_from SRC N: N requests from source address SRC; prints how many were answered.
served_from() {
	local i n=0
	for ((i = 0; i < $2; i++)); do
		in_ns client curl -sf -o /dev/null --interface "$1" --connect-timeout 2 --max-time 4 "http://$VIP/" && n=$((n + 1))
	done
	echo "$n"
}

# burst_from SRC N: N connections from SRC at once, each allowed 0.8 s to connect (so no SYN
# retransmission gets a later token); prints how many were answered.
burst_from() {
	local i
	for ((i = 0; i < $2; i++)); do
		in_ns client curl -sf -o /dev/null --interface "$1" --connect-timeout 0.8 --max-time 3 "http://$VIP/" &&
			echo ok >>"$TMP/burst" &
	done
	wait
	wc -l <"$TMP/burst" 2>/dev/null || echo 0
}

drop_count() { scrape >"$TMP/m" || : >"$TMP/m"; metric_now_in "$TMP/m" rvs_lb_drops_total "reason=\"$1\""; }

lab_start dr
check "rvs-client has a second address $C3" in_ns client ip addr add "$C3/24" dev eth0

rvsadm -S -n >"$TMP/s0"
if ! rvsadm -E $SVC --deny 10.1.2.3/16 >"$TMP/bad" 2>&1 && grep -q "write 10.1.0.0/16" "$TMP/bad" &&
	rvsadm -S -n | cmp -s - "$TMP/s0"; then
	ok "a rejected -E (prefix with host bits) is refused with the fix and changes nothing"
else
	not_ok "rejected -E: $(cat "$TMP/bad")"
fi

# --- deny ----------------------------------------------------------------------------------
d0=$(drop_count source_denied)
rvsadm -E $SVC --deny "$C3/32"
rvsadm -L -n >"$TMP/l1"
if grep -qx "  limits deny $C3/32" "$TMP/l1" && rvsadm -S -n | grep -qx -- "-A -t $VIP:80 -s rr --deny $C3/32"; then
	ok "-E --deny: -L -n shows the limits line, -S -n saves --deny"
else
	not_ok "-E --deny: listing and save"
	show "$TMP/l1"
fi
got=$(served_from "$C3" 3)
if ((got == 0)); then ok "denied source $C3: 0 of 3 requests answered"; else not_ok "denied source $C3: $got of 3 answered"; fi
got=$(served_from "$C2" 5)
if ((got == 5)); then ok "allowed source $C2: 5 of 5 answered while $C3 is denied"; else not_ok "source $C2: $got of 5 answered"; fi
d1=$(drop_count source_denied)
if ((d1 - d0 >= 3)); then ok "source_denied counted: $((d1 - d0)) SYNs"; else not_ok "source_denied rose by $((d1 - d0)), want >= 3"; fi

# --- allow ---------------------------------------------------------------------------------
a0=$(drop_count source_not_allowed)
rvsadm -E $SVC --allow "$C3/32"
got3=$(served_from "$C3" 5)
got2=$(served_from "$C2" 3)
a1=$(drop_count source_not_allowed)
if ((got3 == 5)); then ok "allow list $C3: 5 of 5 answered"; else not_ok "allow list: $C3 $got3 of 5 answered"; fi
if ((got2 == 0 && a1 - a0 >= 3)); then
	ok "source $C2 outside the allow list: nothing answered, source_not_allowed +$((a1 - a0))"
else
	not_ok "source $C2 outside the allow list: $got2 of 3 answered, source_not_allowed +$((a1 - a0))"
fi

# --- per-source rate -----------------------------------------------------------------------
r0=$(drop_count source_rate_limited)
rvsadm -E $SVC --source-rate 2:2
: >"$TMP/burst"
got2=$(burst_from "$C2" 20)
r1=$(drop_count source_rate_limited)
got3=$(served_from "$C3" 3)
echo "# rate 2/s burst 2, $WORKERS worker(s): $got2 of 20 simultaneous connections from $C2 answered; $((r1 - r0)) source_rate_limited"
if ((got2 >= 1 && got2 <= 8 && r1 - r0 >= 10)); then
	ok "rate-limited source $C2: $got2 of 20 answered, source_rate_limited +$((r1 - r0))"
else
	not_ok "rate-limited source $C2: $got2 of 20 answered, source_rate_limited +$((r1 - r0))"
fi
if ((got3 == 3)); then ok "another source $C3 served meanwhile: 3 of 3"; else not_ok "source $C3: $got3 of 3 answered under $C2's rate limit"; fi

# --- connection limit (the UDP echo service: each source port is a connection, held 300 s) ------
rvsadm -E -u $VIP:9000 -s rr --conn-limit 3
l0=$(drop_count service_conn_limit)
held=$(in_ns client python3 - "$VIP" <<'PY'
import socket, sys
answered = 0
socks = []
for i in range(10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.168.100.2", 0))
    s.settimeout(1.0)
    socks.append(s)
    s.sendto(b"limit-%d" % i, (sys.argv[1], 9000))
    try:
        s.recvfrom(2048)
        answered += 1
    except OSError:
        pass
print(answered)
PY
)
listed=$(rvsadm -L -n -c | grep -c "$VIP:9000")
l1=$(drop_count service_conn_limit)
echo "# conn-limit 3 on UDP $VIP:9000, $WORKERS worker(s): $held of 10 flows answered, $listed listed, service_conn_limit +$((l1 - l0))"
if ((held == 3 && listed == 3)); then
	ok "conn-limit 3 holds: 3 of 10 new flows answered, 3 connections in the table"
else
	not_ok "conn-limit 3: $held of 10 flows answered, $listed connections listed"
fi
if ((l1 - l0 == 7)); then ok "service_conn_limit counted: +7"; else not_ok "service_conn_limit +$((l1 - l0)), want 7"; fi
rvsadm -E -u $VIP:9000 -s rr

# --- no limits -----------------------------------------------------------------------------
rvsadm -E $SVC
got2=$(served_from "$C2" 3)
got3=$(served_from "$C3" 3)
# The listing is read first: a failed rvsadm must not pass as "no limits line".
if ((got2 == 3 && got3 == 3)) && rvsadm -L -n >"$TMP/list" 2>&1 && grep -q '^TCP' "$TMP/list" &&
	! grep -q '^  limits' "$TMP/list"; then
	ok "-E without limits: both sources served, no limits line"
else
	not_ok "-E without limits: $C2 $got2 of 3, $C3 $got3 of 3"
fi
stop_check
summary
((FAIL == 0))
