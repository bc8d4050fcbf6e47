# Shared by the per-mode lab tests (ci/lab-tests/modes/<mode>.sh); sourced, not run. Named .bash so
# that a glob of *.sh never takes it for a test.
#
# Provides the ok/not ok bookkeeping of foundation.sh (ok, not_ok, show, summary, bail_out, check,
# wait_for), the lab's life cycle (lab_start MODE: up + run with conf/lab-MODE.toml, torn down on
# every exit), metrics scraping, and the checks every mode shares:
#   rr_check NS URL N          N requests, answers alternate exactly per worker (rr), both servers
#   return_path_check ...      which MAC the answers come from (the director, or the real servers)
#   download_check NS URL      a 100 MB file (BIG_MB) through the service, compared by sha256
#   udp_check NS IP PORT N RE  N datagrams through the service, every reply matching RE
#   client_seen_check ...      the client addresses the HTTP servers logged
#   listing_check ...          `rvsadm -L -n`: header, service line, real server lines (ipvsadm layout)
#   states_check ...           `-L -n -c`: a held connection ESTABLISHED, then FIN_WAIT/TIME_WAIT
#   tcp_stats_check ...        `--stats` and rvs_service_*/rvs_dest_* equal to tcpdump's counts
#   udp_stream_stats_check ... a UDP stream intact; `--stats` and metrics exact
#   todo_check ...             a check of a known, reported bug (not counted as a failure)
#   sh_check PREFIX FIRST LAST sh keeps each extra client address on one server, both used
#   failure_change_checks FWD  the failure-and-change sequence on VIP:80 (real servers from fc_dest):
#                              a stopped HTTP server, weight 0 and delete during a download, re-add
#   restart_check              rvsd restarted on the same config: `-S -n` as at the start, answers
# Every wait is bounded. Callers set MODE before sourcing.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
LAB=$ROOT/ci/lab
TOOLS=$ROOT/ci/tools
RUN_DIR=/run/rvs-lab
# shellcheck disable=SC2034 # the mode scripts read the servers' logs there
LOGS=$RUN_DIR/logs
WWW=$RUN_DIR/www
METRICS=http://127.0.0.1:9100/metrics
CONFIG=${CONFIG:-$ROOT/conf/lab-$MODE.toml}
export CONFIG
BIG_MB=${BIG_MB:-100}       # size of the download check's file
BIG_SEED=${BIG_SEED:-20240} # its content: python random.Random(BIG_SEED).randbytes
RR_N=${RR_N:-8}             # requests of the round-robin check

# shellcheck source=../tap.bash
source "$(dirname "${BASH_SOURCE[0]}")/../tap.bash"
TMP=$(mktemp -d "/tmp/rvs-$MODE.XXXXXX")
BG_PIDS=()


cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
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

# check_v DESC CMD...: as check, and shows CMD's output (as # comments) on success too, for checks
# whose output is what a user would look at (answers, listings).
check_v() {
	check "$@" && sed 's/^/#   /' "$TMP/out" | tail -n 20
}

# todo_check DESC REASON CMD...: a check of a known, reported bug: `ok - DESC # TODO REASON` when
# CMD succeeds (counted as a pass), `not ok - DESC # TODO REASON` when it fails, which is not counted
# as a failure (TAP's TODO directive), with CMD's output.
todo_check() {
	local desc=$1 reason=$2
	shift 2
	if "$@" >"$TMP/out" 2>&1; then
		ok "$desc # TODO $reason (passes now)"
	else
		echo "not ok - $desc # TODO $reason"
		show "$TMP/out"
	fi
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



# now / elapsed T0: a timestamp, and the seconds since T0 ("1.42"), to report how long a wait took
# (never to assert it).
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# waited DESC CMD...: waits up to 30 s for CMD; `ok - DESC (after T s)`, or `not ok - DESC: not
# within 30 s` (and status 1).
waited() {
	local desc=$1 t0
	shift
	t0=$(now)
	if wait_for 30 "$@"; then
		ok "$desc (after $(elapsed "$t0") s)"
	else
		not_ok "$desc: not within 30 s"
		return 1
	fi
}
# table: the listing of the TCP service VIP:80; fails unless rvsadm succeeded and listed it.
# in_table ADDR / not_in_table ADDR: whether it lists the real server ADDR:80 (the negative form
# fails when rvsadm did not answer with the service).
table() {
	local out
	out=$(rvsadm -L -n -t "$VIP:80") && grep -qE "^TCP  $VIP:80 " <<<"$out" && echo "$out"
}
in_table() { table | grep -qE "^  -> $1:80 "; }
not_in_table() {
	local out
	out=$(table) && ! grep -qE "^  -> $1:80 " <<<"$out"
}

# settled SECONDS CMD...: polls CMD every 0.2 s until it prints the same output three times in a row
# (what it measures stopped moving), at most SECONDS; the output is left in $TMP/settled.
settled() {
	local tries=$(($1 * 5)) prev="" same=0 cur
	shift
	while ((tries-- > 0)); do
		cur=$("$@" 2>/dev/null) && {
			if [[ $cur == "$prev" ]]; then same=$((same + 1)); else same=0; fi
			prev=$cur
			if ((same >= 2)); then
				printf '%s\n' "$cur" >"$TMP/settled"
				return 0
			fi
		}
		sleep 0.2
	done
	printf '%s\n' "$prev" >"$TMP/settled"
	return 1
}

in_ns() {
	local ns=$1
	shift
	ip netns exec "rvs-$ns" "$@"
}
scrape() { ip netns exec rvs-dir curl -sf --max-time 2 "$METRICS"; }
# The packet and connection counters; workers publish theirs when they go idle, so a comparison
# takes them once they stopped moving: scrape_settled FILE [NAME_RE] (NAME_RE: the series to wait
# for, default every packet counter), the whole scrape in FILE.
COUNTERS_RE='^rvs_(lb|port|core_(rx|tx)|service|dest|snat|exception|net)_[a-z_]*_total[{ ]'
counters() { scrape | grep -E "${1:-$COUNTERS_RE}"; }
scrape_settled() {
	settled 10 counters "${2:-$COUNTERS_RE}" || echo "# warning: counters still moving after 10 s"
	scrape >"$1" || : >"$1"
}
mac_of() { in_ns "$1" cat /sys/class/net/eth0/address; }

# per_core FILE NAME: "core value" lines of metric NAME.
per_core() {
	awk -v name="$1" 'index($0, name "{") == 1 {
		if (match($0, /core="[^"]*"/)) print substr($0, RSTART + 6, RLENGTH - 7), $NF
	}' "$2"
}

# rvsadm ARGS...: rvsadm inside rvs-dir against rvsd's control socket ([ctrl] socket of CONFIG).
# The binary sits beside rvsd: $RVSADM, else the directory of $RVSD, else target/release.
RVSADM=${RVSADM:-$(dirname "${RVSD:-$ROOT/target/release/rvsd}")/rvsadm}
ctrl_socket() {
	python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("ctrl", {}).get("socket", "/run/rvs/rvs.sock"))' "$CONFIG"
}
CTRL_SOCK=$(ctrl_socket)
rvsadm() { ip netns exec rvs-dir env RVS_SOCK="$CTRL_SOCK" "$RVSADM" "$@"; }
# rvsnet ARGS...: the same for rvsnet (the director's addresses, routes, neighbours, links).
RVSNET=${RVSNET:-$(dirname "$RVSADM")/rvsnet}
rvsnet() { ip netns exec rvs-dir env RVS_SOCK="$CTRL_SOCK" "$RVSNET" "$@"; }

workers_in_config() {
	python3 -c 'import sys, tomllib; print(len(tomllib.load(open(sys.argv[1], "rb")).get("worker", [])))' "$CONFIG"
}

# lab_up MODE / lab_run / lab_start MODE (both): the lab up, rvsd running on CONFIG; bail out when
# either fails.
lab_up() {
	if ((EUID != 0)); then
		not_ok "running as root (network namespaces need it)"
		bail_out "not root"
	fi
	check "ci/lab up $1" "$LAB" up "$1" || bail_out "the lab did not come up"
}
lab_run() {
	check "ci/lab run ($(basename "$CONFIG")): rvsd starts and answers /metrics" "$LAB" run ||
		bail_out "rvsd did not start"
	WORKERS=$(workers_in_config)
	echo "# $WORKERS worker(s) in $CONFIG"
}
lab_start() {
	lab_up "$1"
	lab_run
}

# rr_check NS URL N NAMES...: N requests from NS; each answer must be one of NAMES, every name must
# answer, and, the rr scheduler being per worker, the answers each worker gave must alternate
# exactly (no name twice in a row on one worker; with NAMES of 2, a strict a,b,a,b per worker).
# The worker of a request is the one whose tx counter rose most while it ran: the worker owning a
# connection sends every packet of it (NAT, FULLNAT and SNAT replies included).
rr_check() {
	local ns=$1 url=$2 n=$3 i body core name seq="" bad=0 unattributed=0
	shift 3
	local names=("$@")
	declare -A last=() count=()
	scrape_settled "$TMP/rr1" '^rvs_core_tx_packets_total'
	for ((i = 0; i < n; i++)); do
		mv "$TMP/rr1" "$TMP/rr0"
		body=$(in_ns "$ns" curl -sS --max-time 10 "$url" 2>"$TMP/curl.err") || body="ERR($(head -c 80 "$TMP/curl.err"))"
		scrape_settled "$TMP/rr1" '^rvs_core_tx_packets_total'
		core=$(join <(per_core rvs_core_tx_packets_total "$TMP/rr0" | sort) \
			<(per_core rvs_core_tx_packets_total "$TMP/rr1" | sort) |
			awk '{ d = $3 - $2; if (d > best) { best = d; c = $1; tie = 0 } else if (d == best) tie = 1 }
			     END { if (best > 0 && !tie) print c; else print "?" }')
		seq+="$body@$core "
		count[$body]=$((${count[$body]:-0} + 1))
		if [[ $core == "?" ]]; then
			unattributed=$((unattributed + 1))
		elif [[ ${last[$core]:-} == "$body" ]]; then
			bad=$((bad + 1))
		fi
		[[ $core != "?" ]] && last[$core]=$body
	done
	echo "# answers (name@worker): $seq"
	RR_ANSWERED=0
	for name in "${names[@]}"; do RR_ANSWERED=$((RR_ANSWERED + ${count[$name]:-0})); done
	local missing="" unknown=""
	for name in "${names[@]}"; do [[ -n ${count[$name]:-} ]] || missing+="$name "; done
	for name in "${!count[@]}"; do
		[[ " ${names[*]} " == *" $name "* ]] || unknown+="$name(${count[$name]}) "
	done
	if [[ -z $missing && -z $unknown ]]; then
		ok "$n requests to $url from $ns answered by ${names[*]} only, each at least once"
	else
		not_ok "$n requests to $url from $ns answered by ${names[*]} only, each at least once (missing: ${missing:-none}; unexpected: ${unknown:-none})"
	fi
	if ((bad == 0 && unattributed == 0)); then
		ok "round robin per worker: no server answered twice in a row on one worker"
	else
		not_ok "round robin per worker: $bad repeat(s) on one worker, $unattributed request(s) not attributable to a worker"
	fi
}

# capture_start NS FILTER / capture_stop, then return_path_check DESC MACS...: the frames FILTER
# matched in NS ($TMP/ret.txt) all come from one of MACS; fails when tcpdump never said it was
# listening, when nothing was captured or when the last rr_check got no valid answer (RR_ANSWERED),
# so stray frames cannot make it pass. tcpdump runs in immediate mode (each frame handed over as
# it arrives), and capture_stop waits until its output stopped growing.
capture_start() { # NS FILTER...
	local ns=$1
	shift
	# Not through in_ns: a backgrounded function is a subshell, and signals would not reach tcpdump.
	ip netns exec "rvs-$ns" timeout 120 tcpdump --immediate-mode -l -nn -e -i eth0 "$@" >"$TMP/ret.txt" 2>"$TMP/ret.err" &
	BG_PIDS+=($!)
	CAP_PID=$!
	CAP_READY=1
	wait_for 10 grep -qs "listening on" "$TMP/ret.err" || {
		echo "# tcpdump in rvs-$ns did not report readiness"
		CAP_READY=0
	}
}
capture_stop() {
	settled 10 wc -l "$TMP/ret.txt" || echo "# capture still growing after 10 s"
	kill -TERM "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
}
return_path_check() {
	local desc=$1 macs seen
	shift
	macs=" $* "
	seen=$(awk 'NF > 2 { print $2 }' "$TMP/ret.txt" | sort -u | tr '\n' ' ')
	local m bad=""
	for m in $seen; do [[ $macs == *" $m "* ]] || bad+="$m "; done
	if [[ -n $seen && -z $bad ]] && ((${RR_ANSWERED:-0} > 0 && CAP_READY)); then
		ok "$desc (from: $seen)"
	else
		not_ok "$desc (want from: $*; seen: ${seen:-nothing}; unexpected: ${bad:-none}; answers: ${RR_ANSWERED:-0}; capture ready: $CAP_READY)"
		show "$TMP/ret.txt"
	fi
}

# make_big NAME...: a BIG_MB file, deterministic (seeded), as big.bin in each server's web root
# (hard links of one file). Prints its sha256.
make_big() {
	local name
	python3 - "$WWW/big.bin" "$BIG_MB" "$BIG_SEED" <<'EOF'
import hashlib, random, sys
path, mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng, h = random.Random(seed), hashlib.sha256()
with open(path, "wb") as f:
    for _ in range(mb):
        chunk = rng.randbytes(1 << 20)
        h.update(chunk)
        f.write(chunk)
print(h.hexdigest())
EOF
	for name in "$@"; do ln -f "$WWW/big.bin" "$WWW/$name/big.bin"; done
}

# download_check NS URL SHA: the file at URL, fetched from NS within 150 s, has sha256 SHA.
download_check() {
	local ns=$1 url=$2 want=$3 got start end rc
	start=$(date +%s.%N)
	got=$(in_ns "$ns" curl -sS --connect-timeout 10 --max-time 150 "$url" 2>"$TMP/dl.err" | sha256sum | awk '{ print $1 }')
	rc=${PIPESTATUS[0]}
	end=$(date +%s.%N)
	echo "# download of $BIG_MB MB: $(awk -v a="$start" -v b="$end" -v m="$BIG_MB" 'BEGIN { printf "%.1f s, %.1f MB/s", b - a, m / (b - a) }')"
	if ((rc == 0)) && [[ $got == "$want" ]]; then
		ok "$BIG_MB MB download of $url from $ns: sha256 matches"
	else
		not_ok "$BIG_MB MB download of $url from $ns: curl status $rc, sha256 $got, want $want"
		show "$TMP/dl.err"
	fi
}

# udp_check NS IP PORT N REGEX: N datagrams (each from a fresh socket) to IP:PORT from NS; every
# reply arrives (from IP:PORT: the socket is connected) and matches REGEX (grep -E, whole line).
udp_check() {
	local ns=$1 ip=$2 port=$3 n=$4 re=$5
	if in_ns "$ns" python3 "$TOOLS/udp_echo.py" ask "$ip" "$port" "hello-$MODE" --count "$n" --timeout 3 >"$TMP/udp" 2>&1 &&
		(($(grep -cxE "$re" "$TMP/udp") == n)); then
		ok "UDP echo through $ip:$port from $ns: $n replies, each matching '$re'"
		sed 's/^/#   /' "$TMP/udp"
	else
		not_ok "UDP echo through $ip:$port from $ns: $n replies, each matching '$re'"
		show "$TMP/udp"
	fi
}

# client_seen_check DESC REGEX LOG...: every request line of the HTTP logs LOG names a client
# address matching REGEX (grep -E, whole address), and there is at least one in each log.
client_seen_check() {
	local desc=$1 re=$2 log addrs bad=0 empty=""
	shift 2
	: >"$TMP/seen"
	for log in "$@"; do
		grep -E '"GET ' "$log" | awk '{ print $1 }' >"$TMP/seen1" 2>/dev/null || true
		[[ -s $TMP/seen1 ]] || empty+="$(basename "$log") "
		cat "$TMP/seen1" >>"$TMP/seen"
	done
	addrs=$(sort "$TMP/seen" | uniq -c | awk '{ printf "%s(%d) ", $2, $1 }')
	grep -vxE "$re" "$TMP/seen" >/dev/null && bad=1
	if ((bad == 0)) && [[ -z $empty ]]; then
		ok "$desc: $addrs"
	else
		not_ok "$desc: want every address to match '$re', got: ${addrs:-none}; logs without requests: ${empty:-none}"
	fi
}

# stop_check: rvsd still running, and exits 0 on SIGTERM.
stop_check() {
	check "ci/lab stop: rvsd exits 0 on SIGTERM" "$LAB" stop
}

# crossing_check DESC: with two workers, packets really crossed between cores (redirects taken
# off the rings by the owning core), and none were lost on a full ring.
crossing_check() {
	local m crossed lost
	m=$(scrape) || m=""
	crossed=$(awk '/^rvs_lb_redirect_received_total\{/ {s += $NF} END {print s + 0}' <<<"$m")
	lost=$(awk '/^rvs_core_redirects_lost_total\{/ {s += $NF} END {print s + 0}' <<<"$m")
	if ((crossed > 0 && lost == 0)); then
		ok "$1: $crossed packet(s) handed to the owning worker, none lost"
	else
		not_ok "$1: $crossed packet(s) handed over, $lost lost"
	fi
}

# ---------------------------------------------------------------------------------------------------
# rvsadm views checked against what the test did: the listing, connection states, --stats, metrics.
# ---------------------------------------------------------------------------------------------------

# listing_check SERVICE_LINE FORWARD WEIGHT DEST...: `rvsadm -L -n` has the three header lines of
# ipvsadm, the service line exactly (e.g. "TCP  192.168.100.100:80 rr") and, right below it, one line
# per DEST in the given order, laid out as ipvsadm does (`  -> %-28s %-7s %-6d %-10u %-10u`).
listing_check() {
	local svc=$1 fwd=$2 weight=$3 out want rest d
	shift 3
	out=$(rvsadm -L -n) || { echo "rvsadm -L -n failed"; return 1; }
	echo "$out"
	want=$'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'
	[[ $(head -n 3 <<<"$out") == "$want" ]] || { echo "header differs"; return 1; }
	rest=$(awk -v s="$svc" 'f && /^[A-Z]/ { exit } f { print } $0 == s { f = 1 }' <<<"$out")
	grep -qxF -- "$svc" <<<"$out" || { echo "no service line '$svc'"; return 1; }
	(($(wc -l <<<"$rest") == $#)) || { echo "want $# real servers under '$svc'"; return 1; }
	for d in "$@"; do
		want=$(printf '  -> %-28s %-7s %-6d ' "$d" "$fwd" "$weight")
		head -n 1 <<<"$rest" | grep -qE "^${want//./\\.}[0-9]+ +[0-9]+ +$" || { echo "no '$want' line for $d in order"; return 1; }
		rest=$(tail -n +2 <<<"$rest")
	done
}

# Held-open TCP connections from a namespace (ci/tools/tcp_hold.py): hold_open NAME NS IP PORT
# opens one and records its pid and client port in HOLD_PID[NAME], HOLD_PORT[NAME]; hold_close NAME
# closes it with a FIN and waits (3 s at most) until both sides closed.
declare -A HOLD_PID=() HOLD_PORT=()
hold_open() {
	local name=$1 ns=$2 ip=$3 port=$4
	ip netns exec "rvs-$ns" python3 "$TOOLS/tcp_hold.py" "$ip" "$port" --hold 120 >"$TMP/hold-$name" 2>&1 &
	HOLD_PID[$name]=$!
	BG_PIDS+=($!)
	if ! wait_for 15 grep -q '^port=' "$TMP/hold-$name"; then
		echo "# hold $name: no connection: $(head -c 200 "$TMP/hold-$name")"
		return 1
	fi
	HOLD_PORT[$name]=$(sed -n 's/^port=//p' "$TMP/hold-$name")
}
hold_close() {
	local name=$1 pid=${HOLD_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_for 4 grep -q '^closed' "$TMP/hold-$name" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "HOLD_PID[$name]"
}

# conn_row CLIENT_IP PORT: the `rvsadm -L -n -c` row of the connection from CLIENT_IP:PORT (the
# newest when several), empty when there is none.
conn_row() {
	rvsadm -L -n -c | awk -v src="$1:$2" '$4 == src { row = $0 } END { if (row != "") print row }'
}

# conn_state_is CLIENT_IP PORT STATE EXPIRE_RE: the connection's row shows STATE with an expire
# time matching EXPIRE_RE (mm:ss); prints the row.
conn_state_is() {
	local row
	row=$(conn_row "$1" "$2")
	echo "row: ${row:-none}"
	[[ -n $row ]] && awk -v st="$3" -v re="^($4)\$" '{ exit !($3 == st && $2 ~ re) }' <<<"$row"
}

# states_check NS CLIENT_IP VIP PORT CLOSED_STATE: a connection held open from NS is ESTABLISHED in
# `rvsadm -L -n -c` (expire 15:00 counting down), and once both ends closed it is CLOSED_STATE
# (FIN_WAIT where the director sees only the client's packets, DR and TUN; TIME_WAIT where it sees
# both directions) with the 2-minute timeout of that state.
states_check() {
	local ns=$1 cip=$2 vip=$3 vport=$4 closed=$5 p
	if ! hold_open st "$ns" "$vip" "$vport"; then
		not_ok "-L -n -c states: a connection held open from $ns to $vip:$vport"
		return
	fi
	p=${HOLD_PORT[st]}
	check "rvsadm -L -n -c: the held connection from $cip:$p is ESTABLISHED, expire 15:00 counting down" \
		wait_for 5 conn_state_is "$cip" "$p" ESTABLISHED '1[45]:[0-9][0-9]'
	hold_close st
	check "rvsadm -L -n -c: after both ends closed, $cip:$p is $closed, expire 02:00 counting down" \
		wait_for 10 conn_state_is "$cip" "$p" "$closed" '0[12]:[0-9][0-9]'
}

# stats_line PROTO VIP:PORT: the five --stats --exact numbers of the service ("c i o ib ob"), then one
# line per real server "ADDR:PORT c i o ib ob".
stats_lines() {
	rvsadm -L -n --stats --exact | awk -v s="$1" -v v="$2" '
		/^[A-Z]/ { f = ($1 == s && $2 == v); if (f) print $3, $4, $5, $6, $7; next }
		f && $1 == "->" { print $2, $3, $4, $5, $6, $7 }'
}

# stats_expect PROTO VIP:PORT "C I O IB OB": the service's counters are exactly these, and the real
# servers' counters add up to them. Prints the --stats view.
stats_expect() {
	local out svc sum
	out=$(stats_lines "$1" "$2")
	echo "want: $3"
	echo "$out"
	svc=$(head -n 1 <<<"$out")
	sum=$(tail -n +2 <<<"$out" | awk '{ c += $2; i += $3; o += $4; ib += $5; ob += $6 } END { print c + 0, i + 0, o + 0, ib + 0, ob + 0 }')
	[[ $svc == "$3" && $sum == "$3" ]]
}

# udp_stream_stats_check NS IP PORT N SIZE BOTH_WAYS [STATS]: counters zeroed (`rvsadm -Z`), metrics
# scraped, then a stream of N numbered datagrams of SIZE bytes from one socket through the UDP
# service, echoed back (ci/tools/udp_stream.py):
#   - every datagram comes back intact (per datagram and sha256 over the stream);
#   - `--stats`: 1 connection, N packets and N*(SIZE+28) bytes in; out, the echoes (counted by the
#     client) when BOTH_WAYS is 1 (NAT, FULLNAT), else nothing (DR, TUN: replies bypass the director);
#     with STATS 0 (SNAT: no virtual service), the MATCH line named SNAT_MATCH (a match service's
#     listing name, `any,from=...`) and its SNAT real-server line instead (counters zeroed first; an
#     empty SNAT_MATCH, no MATCH line found, is a failure);
#   - metrics: the service's rvs_service_* and its dests' rvs_dest_* counters rose by exactly the
#     same numbers (with STATS 0 and SNAT_OUT set: rvs_snat_*{out=SNAT_OUT}, 1 connection, N and N);
#   - metrics: rvs_lb_forwarded_total rose by exactly N (or 2N both ways); the ports received and
#     sent at least as many packets, and at most a few more (ARP); the cores' rx rose by the ports'
#     rx plus the packets redirected between cores.
udp_stream_stats_check() {
	local ns=$1 ip=$2 port=$3 n=$4 size=$5 both=$6 stats=${7:-1} line fw want
	rvsadm -Z || not_ok "rvsadm -Z"
	scrape_settled "$TMP/m0"
	if line=$(in_ns "$ns" python3 "$TOOLS/udp_stream.py" "$ip" "$port" --count "$n" --size "$size" --seed 7 2>&1); then
		ok "UDP stream: $n datagrams of $size bytes through $ip:$port came back intact (sha256 equal)"
	else
		not_ok "UDP stream: $n datagrams of $size bytes through $ip:$port came back intact"
	fi
	echo "#   $line"
	local inb outb
	inb=$(sed -n 's/.* in_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	outb=$(sed -n 's/.* out_bytes=\([0-9]*\).*/\1/p' <<<"$line")
	if ((both)); then want="1 $n $n $inb $outb"; else want="1 $n 0 $inb 0"; fi
	if ((!stats)); then
		if [[ -z ${SNAT_MATCH:-} ]]; then
			not_ok "rvsadm -L -n --stats --exact: a MATCH line for the SNAT rule (none listed)"
		elif wait_for 10 stats_expect MATCH "$SNAT_MATCH" "$want" >"$TMP/out" 2>&1; then
			ok "rvsadm -L -n --stats --exact: MATCH $SNAT_MATCH and its SNAT line counted exactly 1 conn and what was sent ($want)"
		else
			not_ok "rvsadm -L -n --stats --exact: MATCH $SNAT_MATCH and its SNAT line counted exactly 1 conn and what was sent ($want)"
			show "$TMP/out"
		fi
	elif wait_for 10 stats_expect UDP "$ip:$port" "$want" >"$TMP/out" 2>&1; then
		ok "rvsadm -L -n --stats: UDP $ip:$port counted exactly 1 conn and what was sent ($want)"
	else
		not_ok "rvsadm -L -n --stats: UDP $ip:$port counted exactly 1 conn and what was sent ($want)"
		show "$TMP/out"
	fi
	scrape_settled "$TMP/m1"
	if ((stats)); then
		lb_metrics_check service "protocol=\"udp\",vip=\"$ip\",port=\"$port\"" "$want"
	elif [[ -n ${SNAT_OUT:-} ]]; then
		lb_metrics_check snat "out=\"$SNAT_OUT\"" "1 $n $n $inb $outb"
	fi
	fw=$((both ? 2 * n : n))
	metric_delta_check rvs_lb_forwarded_total "$fw" "$fw"
	metric_delta_check rvs_port_rx_packets_total "$fw" $((fw + 10))
	# A core's rx counts what it polled from its queues and what other cores handed it (redirects).
	local prx redir
	prx=$(($(metric_sum "$TMP/m1" rvs_port_rx_packets_total) - $(metric_sum "$TMP/m0" rvs_port_rx_packets_total)))
	redir=$(($(metric_sum "$TMP/m1" rvs_lb_redirect_received_total) - $(metric_sum "$TMP/m0" rvs_lb_redirect_received_total)))
	echo "# $redir packet(s) crossed to the owning core"
	metric_delta_check rvs_core_rx_packets_total $((prx + redir)) $((prx + redir + 4))
	metric_delta_check rvs_port_tx_packets_total "$fw" $((fw + 10))
}

# metric_sum FILE NAME: the sum of every series of NAME in a scrape.
metric_sum() { awk -v n="$2" 'index($0, n "{") == 1 || $1 == n { s += $NF } END { printf "%d\n", s }' "$1"; }

# metric_delta_check NAME MIN MAX: NAME (summed over its labels) rose by MIN..MAX between the
# scrapes $TMP/m0 and $TMP/m1.
metric_delta_check() {
	local d
	d=$(($(metric_sum "$TMP/m1" "$1") - $(metric_sum "$TMP/m0" "$1")))
	local want="$2"
	(($2 == $3)) || want="$2..$3"
	if ((d >= $2 && d <= $3)); then
		ok "metrics: $1 rose by $d (want $want)"
	else
		not_ok "metrics: $1 rose by $d (want $want)"
	fi
}

# ns_closed NS VIP PORT: NS has no TCP connection to VIP:PORT other than in TIME-WAIT (its side
# has sent its last packet).
ns_closed() {
	local out
	out=$(in_ns "$1" ss -Htan state all exclude time-wait exclude listening dst "$2:$3") && [[ -z $out ]]
}

# tcp_stats_check NS VIP PORT N BOTH_WAYS: counters zeroed, N HTTP requests from NS while tcpdump
# on NS's eth0 counts the packets to and from VIP:PORT; `--stats` must show N connections and in
# packets/bytes equal to what NS sent, out packets/bytes equal to what it received (BOTH_WAYS 1)
# or zero (DR, TUN). Request i uses client port 47000+i, and the captures count only 47000-47999.
tcp_stats_check() {
	local ns=$1 vip=$2 port=$3 n=$4 both=$5 i inp outp want ready=1
	# The check's own connections come from a client port range no other check uses, and the
	# captures count only those: a late segment of an earlier connection (the server's
	# retransmission answered by the client's RST, say) is not what this check measures.
	local ports=47000-47999
	# Earlier connections' last packets: every connection of NS to VIP:PORT closed (or in
	# TIME-WAIT, nothing more to send) and the director's counters still, then zeroed.
	wait_for 30 ns_closed "$ns" "$vip" "$port" || echo "# connections of rvs-$ns to $vip:$port still open after 30 s"
	scrape_settled "$TMP/m0"
	rvsadm -Z || not_ok "rvsadm -Z"
	ip netns exec "rvs-$ns" timeout 60 tcpdump --immediate-mode -Z root -U -nn -i eth0 -w "$TMP/in.pcap" "tcp and dst host $vip and dst port $port and src portrange $ports" 2>"$TMP/in.err" &
	local p1=$!
	ip netns exec "rvs-$ns" timeout 60 tcpdump --immediate-mode -Z root -U -nn -i eth0 -w "$TMP/out.pcap" "tcp and src host $vip and src port $port and dst portrange $ports" 2>"$TMP/out.err" &
	local p2=$!
	BG_PIDS+=("$p1" "$p2")
	wait_for 10 grep -qs "listening on" "$TMP/in.err" && wait_for 10 grep -qs "listening on" "$TMP/out.err" || ready=0
	scrape_settled "$TMP/m0"
	for ((i = 0; i < n; i++)); do in_ns "$ns" curl -s -o /dev/null --max-time 10 --local-port "$((47000 + i))" "http://$vip:$port/"; done
	# The last ACKs: every connection closed on NS, and both captures stopped growing.
	wait_for 30 ns_closed "$ns" "$vip" "$port" || echo "# connections of rvs-$ns to $vip:$port still open after 30 s"
	settled 10 stat -c %s "$TMP/in.pcap" "$TMP/out.pcap" || echo "# captures still growing after 10 s"
	kill -TERM "$p1" "$p2" 2>/dev/null
	wait "$p1" "$p2" 2>/dev/null
	((ready)) || not_ok "tcpdump on rvs-$ns reported readiness ($(head -c 200 "$TMP/in.err" "$TMP/out.err"))"
	inp=$(python3 "$TOOLS/pcap_sum.py" "$TMP/in.pcap" | awk -F'[= ]' '{ print $2, $4 }')
	outp=$(python3 "$TOOLS/pcap_sum.py" "$TMP/out.pcap" | awk -F'[= ]' '{ print $2, $4 }')
	read -r ip_ ib_ <<<"$inp"
	read -r op_ ob_ <<<"$outp"
	if ((both)); then want="$n $ip_ $op_ $ib_ $ob_"; else want="$n $ip_ 0 $ib_ 0"; fi
	if wait_for 10 stats_expect TCP "$vip:$port" "$want" >"$TMP/out" 2>&1; then
		ok "rvsadm -L -n --stats: TCP $vip:$port counted $n conns and the packets/bytes $ns sent$( ((both)) && echo " and received") ($want)"
	else
		not_ok "rvsadm -L -n --stats: TCP $vip:$port counted $n conns and the packets/bytes $ns sent$( ((both)) && echo " and received") ($want)"
		show "$TMP/out"
		tcpdump -nn -r "$TMP/in.pcap" 2>/dev/null | sed 's/^/#   in: /'
		scrape | grep -E '^rvs_(lb|net)_drops_total' | sed 's/^/#   /'
	fi
	scrape_settled "$TMP/m1"
	lb_metrics_check service "protocol=\"tcp\",vip=\"$vip\",port=\"$port\"" "$want"
}

# metric_exact FILE NAME LABELS: the value of NAME{LABELS} (exact label set) in a scrape, 0 if absent.
metric_exact() { awk -v k="$2{$3}" '$1 == k { v = $2 } END { printf "%d\n", v }' "$1"; }

# lb_metrics_check KIND LABELS "C I O IB OB": between the scrapes $TMP/m0 and $TMP/m1, the
# per-service (KIND service, LABELS `protocol="udp",vip="...",port="9000"`) or per-SNAT-address
# (KIND snat, LABELS `out="..."`) counters rose by exactly C connections, I/O packets, IB/OB bytes;
# for a service, its dests' counters rose by the same in sum.
lb_metrics_check() {
	local kind=$1 labels=$2 want=$3 got="" dsum="" m d0 d1
	for m in connections in_packets out_packets in_bytes out_bytes; do
		got+="$(($(metric_exact "$TMP/m1" "rvs_${kind}_${m}_total" "$labels") - $(metric_exact "$TMP/m0" "rvs_${kind}_${m}_total" "$labels"))) "
		if [[ $kind == service ]]; then
			d0=$(awk -v p="rvs_dest_${m}_total{$labels," 'index($0, p) == 1 { s += $NF } END { printf "%d\n", s }' "$TMP/m0")
			d1=$(awk -v p="rvs_dest_${m}_total{$labels," 'index($0, p) == 1 { s += $NF } END { printf "%d\n", s }' "$TMP/m1")
			dsum+="$((d1 - d0)) "
		fi
	done
	got=${got% }
	dsum=${dsum% }
	if [[ $got == "$want" && ( $kind != service || $dsum == "$want" ) ]]; then
		ok "metrics: rvs_${kind}_*{$labels} rose by exactly what was sent ($want)$([[ $kind == service ]] && echo ", its dests' too")"
	else
		not_ok "metrics: rvs_${kind}_*{$labels} rose by $got (dests: ${dsum:-n/a}), want $want"
	fi
}

# --- exception path (the director's kernel interface) ----------------------------------------------

# metric_now_in FILE NAME [LABEL_RE]: the sum of metric NAME over every sample (whose labels match
# LABEL_RE) in a scrape.
metric_now_in() {
	awk -v name="$2" -v re="${3:-}" 'index($0, name "{") == 1 && $0 ~ re { s += $NF } END { print s + 0 }' "$1"
}

# exception_check CLIENT_NS KADDR VIP RS_ADDR RS_NAME: the kernel side of the director (namespace
# rvs-dir, address KADDR on rvsd's kernel interface) serves HTTP and ping to CLIENT_NS while VIP
# traffic is forwarded at the same time, and the kernel reaches the real server RS_ADDR (which
# answers RS_NAME) on its own, as health checks will. Counters of both directions must move.
exception_check() {
	local client=$1 kaddr=$2 vip=$3 rs=$4 rs_name=$5 www pid
	www=$TMP/kernel-www
	mkdir -p "$www"
	echo "director-kernel" >"$www/index.html"
	ip netns exec rvs-dir python3 -u -m http.server --bind "$kaddr" --directory "$www" 80 \
		>"$TMP/kernel-http.log" 2>&1 &
	pid=$!
	BG_PIDS+=("$pid")
	check "rvs-dir's kernel listens on $kaddr:80 (python http.server)" wait_for 30 listening dir 80
	check "ping $kaddr (the director's kernel) from rvs-$client" in_ns "$client" ping -c 2 -W 2 -w 10 "$kaddr"

	# VIP requests in the background while the kernel serves its own.
	(
		local i ok=0
		for i in $(seq 1 40); do
			case $(in_ns "$client" curl -s --max-time 5 "http://$vip/") in rs1 | rs2) ok=$((ok + 1)) ;; esac
		done
		echo "$ok" >"$TMP/vip-during"
	) &
	local vip_pid=$! i kok=0
	for i in $(seq 1 20); do
		[[ $(in_ns "$client" curl -s --max-time 5 "http://$kaddr/") == director-kernel ]] && kok=$((kok + 1))
	done
	wait "$vip_pid"
	local vok
	vok=$(cat "$TMP/vip-during" 2>/dev/null || echo 0)
	if ((kok == 20 && vok == 40)); then
		ok "curl http://$kaddr/ (HTTP server of rvs-dir's kernel) 20/20 while the VIP answered 40/40"
	else
		not_ok "curl http://$kaddr/ answered $kok/20, the VIP $vok/40 at the same time"
		show "$TMP/kernel-http.log"
	fi
	kernel_reach_check "$rs" "$rs_name"
	scrape_settled "$TMP/mx"
	local to from
	to=$(metric_sum "$TMP/mx" rvs_exception_to_kernel_packets_total)
	from=$(metric_sum "$TMP/mx" rvs_exception_from_kernel_packets_total)
	if ((to > 0 && from > 0)); then
		ok "exception counters: $to packet(s) to the kernel, $from from it"
	else
		not_ok "exception counters: $to packet(s) to the kernel, $from from it"
	fi
	kill -TERM "$pid" 2>/dev/null || true
}

# kernel_reach_check HOST[:PORT] NAME: rvs-dir's kernel (its address on rvsd's kernel interface)
# fetches http://HOST[:PORT]/ and gets NAME: the path health checks take to the real servers.
kernel_reach_check() {
	local url="http://$1/" want=$2
	_kernel_get() { [[ $(ip netns exec rvs-dir curl -s --max-time 5 "$1") == "$2" ]]; }
	check "rvs-dir's kernel reaches $1 through the exception path (curl $url = $want)" \
		wait_for 15 _kernel_get "$url" "$want"
}

# exception_flood_check CLIENT_NS KADDR VIP SECONDS: a UDP flood from CLIENT_NS to KADDR for
# SECONDS; the director passes at most its rate limit to the kernel (per worker: burst +
# rate * time, from the config's [exception]), drops the rest as rate_limited, and keeps
# forwarding the VIP meanwhile.
exception_flood_check() {
	local client=$1 kaddr=$2 vip=$3 secs=$4 rate burst workers
	read -r rate burst < <(python3 -c 'import sys, tomllib
e = tomllib.load(open(sys.argv[1], "rb")).get("exception", {})
print(e.get("to_kernel_pps", 20000), e.get("to_kernel_burst", 512))' "$CONFIG")
	workers=$(workers_in_config)
	local to0 lim0 to1 lim1 t0 t1 sent
	scrape_settled "$TMP/mx"
	to0=$(metric_sum "$TMP/mx" rvs_exception_to_kernel_packets_total)
	lim0=$(metric_now_in "$TMP/mx" rvs_exception_drops_total 'reason="(rate|class)_limited"')
	t0=$(date +%s.%N)
	in_ns "$client" python3 - "$kaddr" "$secs" >"$TMP/flood" 2>&1 <<'PY' &
import socket, sys, time
addr, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
end, n, payload = time.monotonic() + secs, 0, b"x" * 64
print("started", flush=True)
while time.monotonic() < end:
    for port in range(9000, 9064):
        try:
            s.sendto(payload, (addr, port))
            n += 1
        except BlockingIOError:
            pass
print(n)
PY
	local flood_pid=$!
	BG_PIDS+=("$flood_pid")
	wait_for 30 grep -qs started "$TMP/flood" || echo "# the flood did not start within 30 s"
	local vok=0 i
	for i in $(seq 1 10); do
		case $(in_ns "$client" curl -s --max-time 5 "http://$vip/") in rs1 | rs2) vok=$((vok + 1)) ;; esac
	done
	wait "$flood_pid"
	t1=$(date +%s.%N)
	sent=$(tail -n 1 "$TMP/flood")
	scrape_settled "$TMP/mx"
	to1=$(metric_sum "$TMP/mx" rvs_exception_to_kernel_packets_total)
	lim1=$(metric_now_in "$TMP/mx" rvs_exception_drops_total 'reason="(rate|class)_limited"')
	local passed=$((to1 - to0)) limited=$((lim1 - lim0)) max
	max=$(awk -v w="$workers" -v b="$burst" -v r="$rate" -v a="$t0" -v z="$t1" \
		'BEGIN { printf "%d", w * (b + r * (z - a + 0.6)) + 64 }') # + the ping/ARP/curl of the window
	echo "# flood: $sent datagrams sent in ${secs}s; $passed passed to the kernel (at most $max allowed), $limited rate limited; VIP $vok/10 during the flood"
	if ((limited > 0 && passed <= max && vok == 10)); then
		ok "UDP flood to $kaddr: $passed to the kernel (limit $max), $limited dropped as rate_limited, VIP answered 10/10"
	else
		not_ok "UDP flood to $kaddr: $passed to the kernel (limit $max), $limited rate limited, VIP $vok/10"
		show "$TMP/flood"
	fi
}

# ---------------------------------------------------------------------------------------------------
# Scheduling and failure-and-change checks shared by the DR, NAT, TUN and FULLNAT labs, on the TCP
# service VIP:80 as the user sees it from rvs-client. Callers set VIP and CLIENT (rvs-client's
# address), declare the service's real servers with fc_dest, and run lab_start first (it sets
# WORKERS). With one worker (DR, TUN) rr alternates exactly and the checks say so; with two (NAT,
# FULLNAT) each worker runs rr from its own position, so they check that every answer comes from
# the expected set, that a stopped or removed server never answers and that both servers answer
# where both should.
# ---------------------------------------------------------------------------------------------------

# fc_dest NAME ADDR:PORT HTTP_PORT [ARGS...]: real server NAME (namespace rvs-NAME, its HTTP server
# on HTTP_PORT as ci/lab starts it, answering NAME) is ADDR:PORT in VIP:80; ARGS go with the
# forwarding flag into every `rvsadm -a` / `-e` of it (TUN's GUE server: --tun-type gue --tun-port 6080).
FC_NAMES=()
declare -A FC_ADDR=() FC_HTTP=() FC_ARGS=()
fc_dest() {
	local name=$1
	FC_NAMES+=("$name")
	FC_ADDR[$name]=$2
	FC_HTTP[$name]=$3
	shift 3
	FC_ARGS[$name]="$*"
}
fc_name_of() { # ADDR:PORT: the name fc_dest gave it
	local n
	for n in "${FC_NAMES[@]}"; do [[ ${FC_ADDR[$n]} == "$1" ]] && echo "$n"; done
}
fc_rvsadm_dest() { # OP NAME FWD WEIGHT: rvsadm OP (-a/-e) -t VIP:80 -r NAME's address FWD -w WEIGHT
	# shellcheck disable=SC2086 # FC_ARGS holds words
	rvsadm "$1" -t "$VIP:80" -r "${FC_ADDR[$2]}" "$3" -w "$4" ${FC_ARGS[$2]}
}

# losses: the director's counters of packets it lost or dropped that are not zero (ports' rx
# missed and no-mbuf, cores' tx dropped and lost redirects, the stack's and the balancer's drops),
# one per line: the evidence when a packet went missing.
losses() {
	scrape | grep -E '^rvs_(port_rx_(missed|nombuf|errors)|port_tx_errors|core_(tx_dropped|redirects_lost)|net_drops|lb_drops|exception_drops)_total' |
		awk '$NF != 0'
}

# udp_errors NS...: each namespace's UDP receive errors (Udp InErrors, RcvbufErrors): whether a
# datagram that went missing was dropped by a host's socket rather than on the way.
udp_errors() {
	local ns
	for ns in "$@"; do
		in_ns "$ns" awk -v ns="$ns" '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 } else {
			for (i = 2; i <= NF; i++) if (k[i] == "InErrors" || k[i] == "RcvbufErrors") printf "%s %s=%s ", ns, k[i], $i; print "" } }' /proc/net/snmp
	done
}

# syn_retrans NS: how many SYNs NS's kernel sent again (TcpExt TCPSynRetrans of its namespace).
syn_retrans() {
	in_ns "$1" awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) k[i] = $i; h = 1 } else
		for (i = 2; i <= NF; i++) if (k[i] == "TCPSynRetrans") print $i }' /proc/net/netstat
}

# answers N [CURL ARGS]: N requests from rvs-client to http://VIP/; prints the answers, one word
# each ("ERR" for a failed one), each followed by a space. Nothing is retried: a request that gets
# no answer within its (generous) deadline is ERR, and a SYN the client's kernel had to send again
# (a dropped or stalled connection attempt, which TCP would otherwise hide) makes the answer of
# that request "RETRIED", which no check accepts; `# retried: ...` says which. A check that expects
# retries sets RETRY_EXPECTED to the reason (and says it in its description): the answers then
# stand, and each retry is written to $TMP/retried as a TAP diagnostic line, which
# retried_report prints after the check.
answers() {
	local n=$1 r out="" s0 s1 i
	shift
	for ((i = 1; i <= n; i++)); do
		s0=$(syn_retrans client)
		r=$(in_ns client curl -s --connect-timeout 20 --max-time 30 "$@" "http://$VIP/" 2>/dev/null) || r=ERR
		s1=$(syn_retrans client)
		if ((s1 > s0)) && [[ -n ${RETRY_EXPECTED:-} ]]; then
			echo "# retried: request $i of $n to http://$VIP/ (answer ${r:-ERR}) needed $((s1 - s0)) SYN retransmission(s), expected: $RETRY_EXPECTED" >>"$TMP/retried"
		elif ((s1 > s0)); then
			echo "# retried: request $i of $n to http://$VIP/ (answer ${r:-ERR}) needed $((s1 - s0)) SYN retransmission(s); the director's losses so far:" >&2
			losses | sed 's/^/#     /' >&2
			r=RETRIED
		fi
		out+="${r:-ERR} "
	done
	echo "$out"
}

# retried_report: the expected retries of the last check, as TAP diagnostics.
retried_report() {
	if [[ -s $TMP/retried ]]; then cat "$TMP/retried"; fi
	rm -f "$TMP/retried"
}

# answers_are GOT ALLOWED REQUIRED: every word of GOT is one of the words ALLOWED, and every word of
# REQUIRED occurs in GOT.
answers_are() {
	local w
	for w in $1; do [[ " $2 " == *" $w "* ]] || { echo "unexpected answer $w"; return 1; }; done
	for w in $3; do [[ " $1" == *" $w "* ]] || { echo "no answer $w"; return 1; }; done
}

# alternates GOT A B: one worker: GOT is A B A B ... or B A B A ...; two workers: only A and B, both.
alternates() {
	local got=$1 a=$2 b=$3 i n x="" y=""
	n=$(wc -w <<<"$got")
	if ((WORKERS == 1)); then
		for ((i = 0; i < n; i++)); do
			if ((i % 2 == 0)); then x+="$a " y+="$b "; else x+="$b " y+="$a "; fi
		done
		[[ $got == "$x" || $got == "$y" ]]
	else
		answers_are "$got" "$a $b" "$a $b"
	fi
}

# sh_check PREFIX FIRST LAST: `-E -s sh` on VIP:80, then client addresses PREFIX.FIRST..PREFIX.LAST
# (added to rvs-client's eth0) make 3 requests each: every address stays on one server, and the
# addresses use both (sh hashes the client address, the same on every worker). Leaves sh set.
sh_check() {
	local prefix=$1 i a r seen all=""
	rvsadm -E -t "$VIP:80" -s sh || return 1
	for ((i = $2; i <= $3; i++)); do
		a=$prefix.$i
		in_ns client ip addr add "$a/24" dev eth0 2>/dev/null || true
		seen=""
		for _ in 1 2 3; do
			r=$(in_ns client curl -s --max-time 5 --interface "$a" "http://$VIP/" || echo ERR)
			seen+="$r "
		done
		echo "$a: $seen"
		[[ $seen == "rs1 rs1 rs1 " || $seen == "rs2 rs2 rs2 " ]] || return 1
		all+="${seen%% *} "
	done
	[[ $all == *rs1* && $all == *rs2* ]]
}

http_pid() { # NS PORT: the pid of the lab's HTTP server on PORT in NS
	local pid
	for pid in $(ip netns pids "rvs-$1"); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "http.server .* $2 *\$" && echo "$pid"
	done
}
listening() { [[ -n $(in_ns "$1" ss -Hltn "sport = :$2") ]]; } # NS PORT
not_listening() { # NS PORT: ss ran in NS and lists no listener on PORT
	local out
	out=$(in_ns "$1" ss -Hltn "sport = :$2") && [[ -z $out ]]
}
has_conn() { [[ -n $(conn_row "$CLIENT" "$1") ]]; }                 # CLIENT_PORT
http_restart() { # NS NAME PORT: the lab's HTTP server again, as ci/lab starts it
	ip netns exec "rvs-$1" setsid python3 -u -m http.server --bind 0.0.0.0 --directory "$WWW/$2" "$3" \
		</dev/null >>"$LOGS/$2-http$3.log" 2>&1 &
	wait_for 30 listening "$1" "$3"
}
# refused_rows STATE DEST: how many `-L -n -c` rows from CLIENT to VIP:80 toward DEST are in STATE.
refused_rows() {
	rvsadm -L -n -c | awk -v st="$1" -v c="$CLIENT:" -v v="$VIP:80" -v d="$2" \
		'$1 == "TCP" && $3 == st && index($4, c) == 1 && $5 == v && $6 == d { n++ } END { print n + 0 }'
}

# A rate-limited download (100 MB at 25 MB/s, about 4 s) from a known client port, in the
# background: dl_start NAME LOCAL_PORT sets DL_DEST (its real server) and DL_OTHER (the other one);
# dl_intact NAME: it finished (60 s at most) with the file's sha256 (FC_SHA).
dl_start() {
	(in_ns client curl -sS --limit-rate 25M --local-port "$2" --max-time 60 "http://$VIP/big.bin" |
		sha256sum | awk '{ print $1 }' >"$TMP/$1.sha") 2>"$TMP/$1.err" &
	DL_PID=$!
	BG_PIDS+=($!)
	wait_for 30 has_conn "$2" || { echo "no connection from port $2"; return 1; }
	DL_DEST=$(conn_row "$CLIENT" "$2" | awk '{ print $6 }')
	DL_OTHER=${FC_ADDR[${FC_NAMES[0]}]}
	[[ $DL_DEST == "$DL_OTHER" ]] && DL_OTHER=${FC_ADDR[${FC_NAMES[1]}]}
	echo "download from port $2 on $DL_DEST"
}
dl_intact() {
	wait_for 60 test -s "$TMP/$1.sha"
	wait "$DL_PID" 2>/dev/null
	echo "sha256 $(cat "$TMP/$1.sha" 2>/dev/null), want $FC_SHA; $(head -c 200 "$TMP/$1.err")"
	[[ $(cat "$TMP/$1.sha" 2>/dev/null) == "$FC_SHA" ]]
}

# failure_change_checks FWD: the failure-and-change sequence users try first, on VIP:80 with the
# two real servers of fc_dest (the second is the one stopped), FWD the forwarding flag (-g -m -i -b):
#   - the second server's HTTP process stopped: 6 requests; the first answers its share, the
#     stopped one's fail (one worker: exactly every other), and each failed one is a row toward it
#     in `-L -n -c`, SYN_RECV where its reset bypasses the director (-g, -i), CLOSE where the reset
#     passes it (-m, -b); started again: 4 requests, both answer (one worker: alternating);
#   - a rate-limited download: its server set to weight 0, 6 new requests all go to the other, the
#     download finishes intact; weights back to 1, a new download, its server deleted: it leaves
#     `-L -n`, 4 requests all go to the other, the download finishes intact; re-added: of 4
#     requests both answer.
failure_change_checks() {
	FC_FWD=$1
	local s=${FC_NAMES[1]} f=${FC_NAMES[0]} state=CLOSE
	[[ $FC_FWD == -g || $FC_FWD == -i ]] && state=SYN_RECV
	_fc_stopped() {
		local pid got n_err n_rows
		pid=$(http_pid "$s" "${FC_HTTP[$s]}")
		[[ -n $pid ]] || { echo "no HTTP server found in rvs-$s"; return 1; }
		# shellcheck disable=SC2086 # one pid a word
		kill -TERM $pid
		wait_for 30 not_listening "$s" "${FC_HTTP[$s]}" || return 1
		got=$(answers 6)
		echo "answers: $got"
		n_err=$(grep -o ERR <<<"$got" | wc -l)
		n_rows=$(refused_rows "$state" "${FC_ADDR[$s]}")
		echo "$n_rows $state row(s) toward ${FC_ADDR[$s]} for $n_err failed request(s)"
		if ((WORKERS == 1)); then
			alternates "$got" "$f" ERR && ((n_err == 3)) || return 1
		else
			answers_are "$got" "$f ERR" "$f ERR" || return 1
		fi
		# FULLNAT: the server's reset ends the connection at once, its local port released
		# (docs/hardening/floods.md), so no CLOSE row stays.
		local want_rows=$n_err
		[[ $FC_FWD == -b ]] && want_rows=0
		((n_rows == want_rows))
	}
	local how="every other one fails" rows="each a $state row toward $s in -L -n -c"
	((WORKERS == 1)) || how="the others fail"
	[[ $FC_FWD == -b ]] && rows="no $state row left toward $s (a reset releases the connection)"
	check_v "$s's HTTP server stopped: of 6 requests $f answers its share, $how, $rows" _fc_stopped
	_fc_restarted() {
		http_restart "$s" "$s" "${FC_HTTP[$s]}" || return 1
		local got
		got=$(answers 4)
		echo "answers: $got"
		alternates "$got" "$f" "$s"
	}
	check_v "$s's HTTP server started again: 4 requests answered by both$( ((WORKERS == 1)) && echo ", alternating")" _fc_restarted

	FC_SHA=$(make_big "${FC_NAMES[@]}")
	_fc_weight0() {
		dl_start dl1 40100 || return 1
		fc_rvsadm_dest -e "$(fc_name_of "$DL_DEST")" "$FC_FWD" 0 || return 1
		rvsadm -L -n -t "$VIP:80"
		local got want
		want=$(fc_name_of "$DL_OTHER")
		got=$(answers 6)
		echo "answers with $DL_DEST at weight 0: $got"
		[[ $got == "$want $want $want $want $want $want " ]] || return 1
		dl_intact dl1
	}
	check_v "rvsadm -e -w 0 on the server of an open download: 6 new requests all go to the other, the download finishes intact" _fc_weight0
	_fc_delete() {
		fc_rvsadm_dest -e "$f" "$FC_FWD" 1 && fc_rvsadm_dest -e "$s" "$FC_FWD" 1 || return 1
		dl_start dl2 40101 || return 1
		rvsadm -d -t "$VIP:80" -r "$DL_DEST" || return 1
		local table
		table=$(rvsadm -L -n -t "$VIP:80") || { echo "rvsadm -L -n -t $VIP:80 failed"; return 1; }
		echo "$table"
		grep -qF -- "-> $DL_OTHER " <<<"$table" || { echo "the listing lacks $DL_OTHER"; return 1; }
		! grep -qF -- "-> $DL_DEST " <<<"$table" || return 1
		local got want
		want=$(fc_name_of "$DL_OTHER")
		got=$(answers 4)
		echo "answers with $DL_DEST deleted: $got"
		[[ $got == "$want $want $want $want " ]] || return 1
		dl_intact dl2
	}
	check_v "rvsadm -d of the server of an open download: it leaves the listing, 4 new requests go to the other, the download finishes intact" _fc_delete
	_fc_readd() {
		fc_rvsadm_dest -a "$(fc_name_of "$DL_DEST")" "$FC_FWD" 1 || return 1
		local got
		got=$(answers 4)
		echo "answers: $got"
		answers_are "$got" "$f $s" "$f $s"
	}
	check_v "rvsadm -a re-adds it: of 4 requests both servers answer" _fc_readd
	rm -f "$WWW/big.bin" "$WWW"/*/big.bin
}

# restart_check: rvsd stopped (exit 0) and started again on the same config: `rvsadm -S -n` equals
# what it printed at the first start ($TMP/save0, which the caller writes right after lab_start; the
# live changes were not in the config), and 4 requests are answered by both servers (one worker:
# alternating). FULLNAT expects retries here (RESTART_RETRY below).
RESTART_RETRY="FULLNAT: after a restart a new connection can take a (local address, port, real \
server) the real server still holds in TIME_WAIT from before (rare since each port set starts at a \
random offset at every start; before that, always); a SYN whose timestamp is below the old \
connection's is answered with that connection's ACK (PAWS), the client resets it and sends the SYN \
again (seen in a capture on the real server)"
restart_check() {
	stop_check
	lab_run
	local why=""
	[[ $MODE == fullnat ]] && why=" (a SYN sent again is allowed: a local port may meet TIME_WAIT)"
	_restart() {
		rvsadm -S -n >"$TMP/save1" || return 1
		diff "$TMP/save0" "$TMP/save1" || return 1
		local got
		got=$(RETRY_EXPECTED=${why:+$RESTART_RETRY} answers 4)
		echo "answers: $got"
		alternates "$got" "${FC_NAMES[0]}" "${FC_NAMES[1]}"
	}
	check_v "rvsd restarted on the same config: rvsadm -S -n as at the first start, 4 requests answered by both servers$( ((WORKERS == 1)) && echo ", alternating")$why" _restart
	retried_report
}

# promtool_check: `promtool check metrics` (Debian's prometheus package, from ci/deps) over a scrape
# of the running rvsd finds nothing to fix: names, help, types, units (docs/metrics.md).
promtool_check() {
	local desc="promtool check metrics over a scrape of rvsd ($(basename "$0" .sh)): nothing to fix"
	if ! command -v promtool >/dev/null; then
		not_ok "$desc"
		echo "#   promtool not found (ci/deps installs the prometheus package)"
		return 1
	fi
	promtool_scrape() {
		scrape >"$TMP/promtool.in" || { echo "the scrape failed"; return 1; }
		local out rc=0
		out=$(promtool check metrics <"$TMP/promtool.in" 2>&1) || rc=$?
		echo "$(grep -c '^# TYPE' "$TMP/promtool.in") families; promtool exit $rc"
		[[ -n $out ]] && echo "$out"
		((rc == 0)) && [[ -z $out ]]
	}
	check_v "$desc" promtool_scrape
}

# dashboard_check ABSENT_RE: every metric the queries of docs/grafana/rvs.json use is one this rvsd
# exports in the scrape, except those matching ABSENT_RE: the families this mode has nothing for
# (no local addresses, no SNAT rule, no health check), which must then really be absent, so that
# the six modes together cover every query. ABSENT_RE is an extended regex of whole names.
dashboard_check() {
	local absent=$1
	dashboard_scrape() {
		local names used m missing=() skipped=() stale
		names=$(scrape) || { echo "the scrape failed"; return 1; }
		names=$(grep -v '^#' <<<"$names" | sed -E 's/[{ ].*//' | sort -u)
		used=$("$TOOLS/dashboard_metrics.py" "$ROOT/docs/grafana/rvs.json") || return 1
		for m in $used; do
			if grep -qxF "$m" <<<"$names"; then
				continue
			elif [[ -n $absent && $m =~ ^($absent)$ ]]; then
				skipped+=("$m")
			else
				missing+=("$m")
			fi
		done
		stale=""
		[[ -n $absent ]] && stale=$(grep -E "^($absent)$" <<<"$names")
		echo "the dashboard's queries use $(wc -w <<<"$used") metrics; ${#skipped[@]} not exported in this mode as expected"
		((${#missing[@]} == 0)) || echo "not exported by rvsd: ${missing[*]}"
		[[ -z $stale ]] || echo "exported although this mode expects them absent (update its list): $stale"
		((${#missing[@]} == 0)) && [[ -z $stale ]]
	}
	check_v "the Grafana dashboard's queries name only metrics rvsd exports ($(basename "$0" .sh))" dashboard_scrape
}
# The families a mode without local addresses, SNAT rules or health checks has no series of.
NO_LADDR='rvs_laddr_(allocations_total|misses_total|pool_exhausted_total|ports_in_use)'
NO_SNAT='rvs_snat_[a-z_]+_total'
NO_HEALTH='rvs_dest_up|rvs_health_[a-z_]+'
