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

PASS=0
FAIL=0
TMP=$(mktemp -d "/tmp/rvs-$MODE.XXXXXX")
BG_PIDS=()

ok() {
	echo "ok - $*"
	PASS=$((PASS + 1))
}
not_ok() {
	echo "not ok - $*"
	FAIL=$((FAIL + 1))
}
show() { sed 's/^/#   /' "$1" | tail -n 20; }
summary() { echo "$PASS passed, $FAIL failed"; }

cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bail_out() {
	echo "# bail out: $*"
	summary
	exit 1
}

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

in_ns() {
	local ns=$1
	shift
	ip netns exec "rvs-$ns" "$@"
}
scrape() { ip netns exec rvs-dir curl -sf --max-time 2 "$METRICS"; }
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
rvsadm() { ip netns exec rvs-dir env RVS_SOCK="$(ctrl_socket)" "$RVSADM" "$@"; }
# rvsnet ARGS...: the same for rvsnet (the director's addresses, routes, neighbours, links).
RVSNET=${RVSNET:-$(dirname "$RVSADM")/rvsnet}
rvsnet() { ip netns exec rvs-dir env RVS_SOCK="$(ctrl_socket)" "$RVSNET" "$@"; }

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
	for ((i = 0; i < n; i++)); do
		scrape >"$TMP/rr0" || : >"$TMP/rr0"
		body=$(in_ns "$ns" curl -sS --max-time 5 "$url" 2>"$TMP/curl.err") || body="ERR($(head -c 80 "$TMP/curl.err"))"
		sleep 0.3 # workers publish their counters when they go idle
		scrape >"$TMP/rr1" || : >"$TMP/rr1"
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
# matched in NS ($TMP/ret.txt) all come from one of MACS; fails when nothing was captured or when the
# last rr_check got no valid answer (RR_ANSWERED), so stray frames cannot make it pass.
capture_start() { # NS FILTER...
	local ns=$1
	shift
	# Not through in_ns: a backgrounded function is a subshell, and signals would not reach tcpdump.
	ip netns exec "rvs-$ns" timeout 120 tcpdump -l -nn -e -i eth0 "$@" >"$TMP/ret.txt" 2>"$TMP/ret.err" &
	BG_PIDS+=($!)
	CAP_PID=$!
	wait_for 5 grep -q "listening on" "$TMP/ret.err" || echo "# warning: tcpdump did not report readiness"
}
capture_stop() {
	sleep 0.3
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
	if [[ -n $seen && -z $bad ]] && ((${RR_ANSWERED:-0} > 0)); then
		ok "$desc (from: $seen)"
	else
		not_ok "$desc (want from: $*; seen: ${seen:-nothing}; unexpected: ${bad:-none}; answers: ${RR_ANSWERED:-0})"
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
