#!/usr/bin/env bash
# Lab test of rvsadm as a drop-in for ipvsadm, against a live rvsd (lab `dr`, conf/lab-dr.toml).
#
#   - The command lines of the LVS notes the project started from (seeds 000-004), as written with
#     rvsadm for ipvsadm, including `-ln`/`-lnc`/`-L -n`: every line exits as ipvsadm's would (seed
#     001 adds the same real server twice: the second add fails with "Destination already exists",
#     as with ipvsadm), and each `-ln` prints exactly the table ipvsadm 1.31 prints (the expected
#     text is built here from ipvsadm's printf formats, trailing spaces included, and where a seed
#     shows ipvsadm's own output, that text too, trailing blanks aside: the notes lost some).
#     Each seed section is a director of its own, so each starts from `-C`.
#   - `-S > file`, `-C`, `-R < file` gives back the same table (the seeds' table and the lab's).
#   - The seeds' DR sequences with the lab's addresses carry traffic: wrr 3:1 splits 8 requests 6:2,
#     rr alternates.
#   - `--set` / `-L --timeout`: the defaults 900 120 300, new values shown and used by a new
#     connection (its ESTABLISHED expire starts at the new tcp timeout), `--set 0 0 0` keeps them.
#   - Every error path: the message (ipvsadm's words where ipvsadm has them), a non-zero exit (255 for
#     what the daemon refuses, 2 for a command line that does not parse, as ipvsadm), and `-S -n`
#     byte-identical before and after; a `-R` whose third line is bad changes nothing at all.
# Output and life cycle as the mode tests (ok/not ok lines, `N passed, M failed`, lab torn down on
# every exit).
MODE=dr
# shellcheck source-path=SCRIPTDIR source=modes/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/modes/common.bash"
plan 61 # the ok/not ok lines below (run-all.sh compares)

VIP=192.168.100.100
CLIENT=192.168.100.2

lab_start dr
rvsadm -S -n >"$TMP/lab.save" || bail_out "rvsadm -S -n failed"

# listing SVC_LINE FWD (ADDR WEIGHT)...: the `-L -n` text ipvsadm prints for one service whose real
# servers have no connections, from its printf formats.
listing() {
	local svc=$1 fwd=$2
	shift 2
	printf 'IP Virtual Server version 1.2.1 (size=4096)\n'
	printf 'Prot LocalAddress:Port Scheduler Flags\n'
	printf '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n'
	printf '%s\n' "$svc"
	while (($# >= 2)); do
		printf '  -> %-28s %-7s %-6d %-10u %-10u\n' "$1" "$fwd" "$2" 0 0
		shift 2
	done
}

# seq_run NAME: runs the ipvsadm lines on stdin with rvsadm in place of ipvsadm; each line is
# "EXIT ipvsadm ARGS..." (EXIT the status ipvsadm gives). The output of the last line is kept in
# $TMP/NAME.last. One ok/not ok for the whole sequence.
seq_run() {
	local name=$1 line want words rc bad=""
	: >"$TMP/$name.log"
	while IFS= read -r line; do
		[[ -n $line ]] || continue
		want=${line%% *}
		line=${line#* }
		read -ra words <<<"${line#ipvsadm }"
		rc=0
		rvsadm "${words[@]}" >"$TMP/$name.last" 2>&1 || rc=$?
		{
			echo "\$ ${line/ipvsadm/rvsadm}   (exit $rc)"
			cat "$TMP/$name.last"
		} >>"$TMP/$name.log"
		if [[ $want == 0 && $rc != 0 ]] || [[ $want != 0 && $rc == 0 ]]; then bad+="'$line' exit $rc, want $want; "; fi
	done
	if [[ -z $bad ]]; then
		ok "seed $name: every line as written exits as with ipvsadm"
	else
		not_ok "seed $name: every line as written exits as with ipvsadm ($bad)"
		show "$TMP/$name.log"
	fi
}

# same_text DESC FILE_GOT FILE_WANT: byte-identical.
same_text() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diff <(cat -A "$3") <(cat -A "$2") | sed 's/^/#   /' | head -n 20
	fi
}
# same_text_loose DESC FILE_GOT FILE_WANT: identical but for trailing blanks.
same_text_loose() {
	if diff -q <(sed 's/[[:space:]]*$//' "$2") <(sed 's/[[:space:]]*$//' "$3") >/dev/null; then
		ok "$1"
	else
		not_ok "$1"
		diff <(sed 's/[[:space:]]*$//' "$3") <(sed 's/[[:space:]]*$//' "$2") | sed 's/^/#   /' | head -n 20
	fi
}

# --- seed 000: the first DR lab --------------------------------------------------------------------
rvsadm -C || not_ok "rvsadm -C"
seq_run 000 <<'EOF'
0 ipvsadm -A -t 192.168.1.100:80 -s rr
0 ipvsadm -a -t 192.168.1.100:80 -r 192.168.1.11 -g -w 1
0 ipvsadm -a -t 192.168.1.100:80 -r 192.168.1.12 -g -w 1
0 ipvsadm -ln
EOF
listing "TCP  192.168.1.100:80 rr" Route 192.168.1.11:80 1 192.168.1.12:80 1 >"$TMP/want"
same_text "seed 000: ipvsadm -ln prints ipvsadm's table byte for byte" "$TMP/000.last" "$TMP/want"
seq_run 000c <<'EOF'
0 ipvsadm -lnc
EOF
printf 'IPVS connection entries\npro expire state       source             virtual            destination\n' >"$TMP/want"
same_text "seed 000: ipvsadm -lnc prints the connection table's header (no connections to that VIP)" "$TMP/000c.last" "$TMP/want"

# --- seed 001: the same real server twice (a slip in the notes; ipvsadm refuses the second) --------
rvsadm -C || not_ok "rvsadm -C"
seq_run 001 <<'EOF'
0 ipvsadm -A -t 192.168.150.100:80 -s rr
0 ipvsadm -a -t 192.168.150.100:80 -r 192.168.150.12 -g -w 1
255 ipvsadm -a -t 192.168.150.100:80 -r 192.168.150.12 -g -w 1
0 ipvsadm -ln
EOF
listing "TCP  192.168.150.100:80 rr" Route 192.168.150.12:80 1 >"$TMP/want"
same_text "seed 001: -ln shows the one real server" "$TMP/001.last" "$TMP/want"
if grep -qx "Destination already exists" "$TMP/001.log"; then
	ok "seed 001: the repeated -a says 'Destination already exists'"
else
	not_ok "seed 001: the repeated -a says 'Destination already exists'"
	show "$TMP/001.log"
fi

# --- seed 002: DR with wrr, NAT, TUN (three directors) ---------------------------------------------
seq_run 002-dr <<'EOF'
0 ipvsadm -C
0 ipvsadm -A -t 192.168.0.38:80 -s wrr 
0 ipvsadm -a -t 192.168.0.38:80 -r 192.168.0.18:80 -g -w 3
0 ipvsadm -a -t 192.168.0.38:80 -r 192.168.0.28:80 -g -w 1
0 ipvsadm -ln
EOF
listing "TCP  192.168.0.38:80 wrr" Route 192.168.0.18:80 3 192.168.0.28:80 1 >"$TMP/want"
same_text "seed 002 DR: -ln prints ipvsadm's table byte for byte (wrr, weights 3 and 1)" "$TMP/002-dr.last" "$TMP/want"
seq_run 002-nat <<'EOF'
0 ipvsadm -C
0 ipvsadm -A -t 172.16.254.200:80 -s wrr
0 ipvsadm -a -t 172.16.254.200:80 -r 192.168.0.18:80 -m -w 1
0 ipvsadm -a -t 172.16.254.200:80 -r 192.168.0.28:80 -m -w 1
0 ipvsadm -ln
EOF
listing "TCP  172.16.254.200:80 wrr" Masq 192.168.0.18:80 1 192.168.0.28:80 1 >"$TMP/want"
same_text "seed 002 NAT: -ln prints ipvsadm's table byte for byte (Masq)" "$TMP/002-nat.last" "$TMP/want"
rvsadm -C || not_ok "rvsadm -C"
seq_run 002-tun <<'EOF'
0 ipvsadm -A -t 192.168.80.120:8080 -s rr
0 ipvsadm -a -t 192.168.80.120:8080 -r 192.168.80.135 -i
0 ipvsadm -a -t 192.168.80.120:8080 -r 192.168.80.136 -i
0 ipvsadm -ln
EOF
listing "TCP  192.168.80.120:8080 rr" Tunnel 192.168.80.135:8080 1 192.168.80.136:8080 1 >"$TMP/want"
same_text "seed 002 TUN: -ln prints ipvsadm's table byte for byte (Tunnel, the virtual port)" "$TMP/002-tun.last" "$TMP/want"

# --- seed 003: the command reference and the lab, with ipvsadm's output in the notes --------------
rvsadm -C || not_ok "rvsadm -C"
seq_run 003-ref <<'EOF'
0 ipvsadm -A -t 192.168.9.100:80 -s rr
255 ipvsadm -d -t 192.168.163.100:80 -r 192.168.163.111
255 ipvsadm -a -t 172.16.100.1:80 -r 192.168.10.8 -g
255 ipvsadm -a -t 172.16.100.1:80 -r 192.168.10.9 -g
EOF
rvsadm -C || not_ok "rvsadm -C"
seq_run 003-a <<'EOF'
0 ipvsadm -A -t 192.168.163.100:80 -s rr
0 ipvsadm -ln
EOF
cat >"$TMP/want" <<'EOF'
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.163.100:80 rr
EOF
same_text "seed 003: -ln after -A shows the service alone, as in the notes" "$TMP/003-a.last" "$TMP/want"
seq_run 003-b <<'EOF'
0 ipvsadm -a -t 192.168.163.100:80 -r 192.168.163.112 -g -w 1
0 ipvsadm -a -t 192.168.163.100:80 -r 192.168.163.113 -g -w 1
0 ipvsadm -ln
EOF
cat >"$TMP/want" <<'EOF'
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.163.100:80 rr
  -> 192.168.163.112:80           Route   1      0          0
  -> 192.168.163.113:80           Route   1      0          0
EOF
same_text_loose "seed 003: -ln after the two -a matches ipvsadm's output in the notes" "$TMP/003-b.last" "$TMP/want"
listing "TCP  192.168.163.100:80 rr" Route 192.168.163.112:80 1 192.168.163.113:80 1 >"$TMP/want"
same_text "seed 003: and byte for byte ipvsadm's layout, trailing spaces included" "$TMP/003-b.last" "$TMP/want"
# ipvsadm -S > /path/to/somefile; ipvsadm -C; ipvsadm -R < /path/to/somefile
roundtrip() { # the table now survives -S, -C, -R unchanged
	rvsadm -S >"$TMP/somefile" && rvsadm -S -n >"$TMP/before" && rvsadm -C || return 1
	local rules
	rules=$(rvsadm -S -n) || { echo "rvsadm -S -n failed"; return 1; }
	[[ -z $rules ]] || { echo "-C left rules"; return 1; }
	rvsadm -R <"$TMP/somefile" && rvsadm -S -n >"$TMP/after" || return 1
	cat "$TMP/somefile"
	diff "$TMP/before" "$TMP/after"
}
check_v "seed 003: rvsadm -S > somefile; rvsadm -C; rvsadm -R < somefile gives back the same rules" roundtrip

# --- seed 004: NAT with ipvsadm's -L -n output in the notes ----------------------------------------
rvsadm -C || not_ok "rvsadm -C"
seq_run 004 <<'EOF'
0 ipvsadm -A -t 172.16.1.100:80 -s rr
0 ipvsadm -a -t 172.16.1.100:80 -r 172.16.1.5:80 -m
0 ipvsadm -a -t 172.16.1.100:80 -r 172.16.1.6:80 -m
0 ipvsadm -L -n
EOF
cat >"$TMP/want" <<'EOF'
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  172.16.1.100:80 rr
  -> 172.16.1.5:80                Masq    1      0          0
  -> 172.16.1.6:80                Masq    1      0          0
EOF
same_text_loose "seed 004: -L -n matches ipvsadm's output in the notes" "$TMP/004.last" "$TMP/want"
listing "TCP  172.16.1.100:80 rr" Masq 172.16.1.5:80 1 172.16.1.6:80 1 >"$TMP/want"
same_text "seed 004: and byte for byte ipvsadm's layout" "$TMP/004.last" "$TMP/want"

# --- the seeds' DR sequences with the lab's addresses, carrying traffic -----------------------------
count_answers() { # N: N requests to the VIP; prints "rs1=A rs2=B other=C"
	local a=0 b=0 o=0 r
	for _ in $(seq 1 "$1"); do
		r=$(in_ns client curl -s --max-time 5 "http://$VIP/" || true)
		case $r in rs1) a=$((a + 1)) ;; rs2) b=$((b + 1)) ;; *) o=$((o + 1)) ;; esac
	done
	echo "rs1=$a rs2=$b other=$o"
}
seq_run 002-dr-lab <<EOF
0 ipvsadm -C
0 ipvsadm -A -t $VIP:80 -s wrr
0 ipvsadm -a -t $VIP:80 -r 192.168.100.12:80 -g -w 3
0 ipvsadm -a -t $VIP:80 -r 192.168.100.13:80 -g -w 1
EOF
got=$(count_answers 8)
if [[ $got == "rs1=6 rs2=2 other=0" ]]; then ok "seed 002 DR on the lab's addresses: 8 requests split 6:2 ($got)"; else not_ok "seed 002 DR on the lab's addresses: 8 requests split 6:2 ($got)"; fi
seq_run 000-lab <<EOF
0 ipvsadm -C
0 ipvsadm -A -t $VIP:80 -s rr
0 ipvsadm -a -t $VIP:80 -r 192.168.100.12 -g -w 1
0 ipvsadm -a -t $VIP:80 -r 192.168.100.13 -g -w 1
EOF
got=$(count_answers 4)
if [[ $got == "rs1=2 rs2=2 other=0" ]]; then ok "seed 000 on the lab's addresses: rr answers 2 and 2 ($got)"; else not_ok "seed 000 on the lab's addresses: rr answers 2 and 2 ($got)"; fi

# The lab's own table back from its save, and the same round trip on it.
restore_lab() {
	rvsadm -C && rvsadm -R <"$TMP/lab.save" && rvsadm -S -n >"$TMP/lab.save2" && diff "$TMP/lab.save" "$TMP/lab.save2"
}
check "rvsadm -C; rvsadm -R < (the lab's -S -n): the configured table is back, byte for byte" restore_lab
check_v "the lab's table survives -S, -C, -R unchanged" roundtrip

# --- --set and --timeout ------------------------------------------------------------------------------
timeouts_check() {
	local t
	t=$(rvsadm -L --timeout) && echo "$t" && [[ $t == "Timeout (tcp tcpfin udp): 900 120 300" ]] || return 1
	rvsadm --set 1800 60 120 || return 1
	t=$(rvsadm -L --timeout) && echo "$t" && [[ $t == "Timeout (tcp tcpfin udp): 1800 60 120" ]] || return 1
	rvsadm --set 0 0 0 || return 1
	t=$(rvsadm -L --timeout) && echo "$t (after --set 0 0 0)" && [[ $t == "Timeout (tcp tcpfin udp): 1800 60 120" ]]
}
check_v "rvsadm -L --timeout shows 900 120 300; --set 1800 60 120 shows them; --set 0 0 0 keeps them" timeouts_check
if hold_open t client "$VIP" 80; then
	check "after --set 1800: a new connection is ESTABLISHED with expire 30:00 counting down" \
		wait_for 10 conn_state_is "$CLIENT" "${HOLD_PORT[t]}" ESTABLISHED '29:[0-9][0-9]|30:00'
	hold_close t
else
	not_ok "after --set 1800: a connection held open to $VIP:80"
fi
check "rvsadm --set 900 120 300 restores the defaults" rvsadm --set 900 120 300

# --- error paths: message, exit status, table untouched ---------------------------------------------
# refused EXIT MESSAGE ARGS...: rvsadm ARGS exits EXIT, prints MESSAGE (a whole line) on stderr and
# nothing on stdout, and -S -n and -L --timeout are byte-identical before and after.
refused() {
	local want_rc=$1 msg=$2 rc=0
	shift 2
	rvsadm -S -n >"$TMP/s0"
	rvsadm -L --timeout >>"$TMP/s0"
	rvsadm "$@" >"$TMP/err.out" 2>"$TMP/err.txt" || rc=$?
	rvsadm -S -n >"$TMP/s1"
	rvsadm -L --timeout >>"$TMP/s1"
	if ((rc == want_rc)) && grep -qxF -- "$msg" "$TMP/err.txt" && [[ ! -s $TMP/err.out ]] && cmp -s "$TMP/s0" "$TMP/s1"; then
		ok "rvsadm $*: '$msg', exit $rc, table unchanged"
	else
		not_ok "rvsadm $*: want '$msg' and exit $want_rc, table unchanged; got exit $rc: $(head -c 200 "$TMP/err.txt")"
		diff "$TMP/s0" "$TMP/s1" | sed 's/^/#   /' | head -n 10
	fi
}
refused 255 "Service already exists" -A -t "$VIP:80" -s rr
refused 255 "Service not defined" -a -t 10.9.9.9:80 -r 192.168.100.12
refused 255 "No such service" -D -t 10.9.9.9:80
refused 255 "No such service" -E -t 10.9.9.9:80 -s wlc
refused 255 "No such service" -Z -t 10.9.9.9:80
refused 255 "Destination already exists" -a -t "$VIP:80" -r 192.168.100.12:80
refused 255 "No such destination" -e -t "$VIP:80" -r 192.168.100.99:80 -w 2
refused 255 "No such destination" -d -t "$VIP:80" -r 192.168.100.99:80
refused 255 "Scheduler or persistence engine not found" -A -t 10.9.9.9:80 -s nosuch
refused 255 "Scheduler or persistence engine not found" -E -t "$VIP:80" -s nosuch
refused 2 "illegal virtual server address[:port] specified" -A -t 300.1.1.1:80
refused 2 "illegal virtual server address[:port] specified" -A -t "$VIP:http80"
refused 2 "illegal real server address[:port] specified" -a -t "$VIP:80" -r 192.168.100:80x
refused 2 "illegal weight specified" -a -t "$VIP:80" -r 192.168.100.14 -w 70000
refused 2 "illegal weight specified" -e -t "$VIP:80" -r 192.168.100.12 -w -1
refused 2 "invalid timeout value \`0' specified" -E -t "$VIP:80" -s rr -p 0
refused 2 "Zero port specified for non-persistent service" -A -t 10.9.9.9:0 -s rr
refused 2 "--set option requires 3 timeout values" --set 1 2
refused 2 "fwmark services are not supported: DPDK has no netfilter marks; use a match service (-H proto=...,src-range=...) or a per-port service (-t|-u host:port)" -A -f 1 -s rr
refused 2 "invalid option \`-D'" -A -D -t 10.9.9.9:80
refused 2 "illegal tunnel type specified" -a -t "$VIP:80" -r 192.168.100.14 -i --tun-type foo
printf -- '-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.2\n-A -t 10.1.1.1:81 -s bogus\n' >"$TMP/bad.rules"
restore_refused() { refused 255 "Scheduler or persistence engine not found" -R <"$TMP/bad.rules"; }
restore_refused
printf -- '-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.2 -w 99999\n' >"$TMP/bad.rules"
refused 2 "line 2: illegal weight specified" -R <"$TMP/bad.rules"

table_is_lab() { rvsadm -S -n | cmp -s - "$TMP/lab.save"; }
check "after all the refusals: the table is the lab's configured one" table_is_lab
rr_check client "http://$VIP/" 4 rs1 rs2
stop_check
summary
((FAIL == 0))
