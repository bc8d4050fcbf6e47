# Config reload under traffic on the real daemon, for the NAT and FULLNAT labs; sourced by nat.sh
# and fullnat.sh after common.bash (with VIP, CLIENT and the fc_dest real servers of VIP:80 set),
# not run. Named .bash so that a glob of *.sh never takes it for a test.
#
# reload_prepare, before lab_start: CONFIG becomes a copy ($TMP/conf/, same name), which the checks
# edit; rvsd runs on it from the start (a restart of its own would put FULLNAT's local ports back to
# their first values, see restart_check).
# reload_checks: `rvsadm --reload` first brings the table back to the file (the live changes of the
# checks before go), then reload_under_traffic once with SIGHUP and once with `rvsadm --reload`.
# Each round:
#   - counters zeroed; a BIG_MB (100) MB download (rate-limited, several seconds) and a stream of
#     numbered UDP datagrams through VIP:9000 run; once the download is under way (a tenth of the
#     file counted), the copy is edited to give the download's real server weight 0 and rvsd is
#     told to reload while both transfers still run: 1 change applied (rvsd's log for SIGHUP, the
#     answer of --reload);
#   - the listing shows the weight, and 6 new requests all go to the other server;
#   - both transfers end intact (sha256; every datagram);
#   - counters sampled throughout never went back (every field of the service and real-server
#     lines of `--stats --exact`, TCP and UDP), and include what was sent before the reload: the
#     UDP service counted exactly what the stream sent and got back, the download's real server
#     (`--stats` and rvs_dest_out_bytes_total) at least the whole file;
#   - the copy restored (weight 1) and reloaded the same way: both servers answer again.
# Checks: 1 (the first reload) + 7 per round.

reload_prepare() {
	mkdir -p "$TMP/conf"
	RELOAD_CONF=$TMP/conf/$(basename "$CONFIG")
	cp "$CONFIG" "$RELOAD_CONF"
	CONFIG=$RELOAD_CONF
	export CONFIG
}

# reload_set_weight ADDR WEIGHT: in RELOAD_CONF, the weight of the TCP VIP:80 real server ADDR.
reload_set_weight() {
	python3 - "$RELOAD_CONF" "$1" "$2" <<'EOF'
import re, sys
path, addr, weight = sys.argv[1], sys.argv[2], sys.argv[3]
out, want, done = [], False, 0
for line in open(path).read().splitlines(keepends=True):
    if re.match(r'\s*addr\s*=\s*"%s"' % re.escape(addr), line):
        want = True
    elif want and re.match(r"\s*weight\s*=", line):
        line, want, done = re.sub(r"=\s*\d+", "= " + weight, line, count=1), False, done + 1
    out.append(line)
if done != 1:
    sys.exit(f"reload_set_weight: {addr} has {done} weight line(s) in {path}")
open(path, "w").write("".join(out))
EOF
}

# reload_now HOW: SIGHUP (rvsd's pid from ci/lab) or `rvsadm --reload`; succeeds when rvsd says it
# applied exactly one change (SIGHUP: its log, waited for).
reload_now() {
	case $1 in
	SIGHUP)
		local log=$RUN_DIR/rvsd.log n0 pid
		n0=$(grep -c "config reloaded" "$log")
		pid=$(<"$RUN_DIR/rvsd.pid") || return 1
		kill -HUP "$pid" || return 1
		wait_for 30 eval '(($(grep -c "config reloaded" "$log") > n0))' ||
			{ echo "no 'config reloaded' in rvsd's log"; tail -n 5 "$log"; return 1; }
		grep "config reloaded" "$log" | tail -n 1
		grep "config reloaded" "$log" | tail -n 1 | grep -q "config reloaded: 1 change(s) applied"
		;;
	--reload)
		local out
		out=$(rvsadm --reload) || { echo "rvsadm --reload failed: $out"; return 1; }
		echo "$out"
		[[ $out == "rvsd reloaded its config: 1 change(s) applied" ]]
		;;
	esac
}

# reload_sample FILE: appends the --stats --exact service and real-server lines of TCP VIP:80 and
# UDP VIP:9000, as "PROTO KEY C I O IB OB" (KEY "svc" or the real server's address).
reload_sample() {
	local p
	for p in TCP:80 UDP:9000; do
		stats_lines "${p%%:*}" "$VIP:${p#*:}" |
			awk -v p="${p%%:*}" 'NR == 1 { print p, "svc", $0; next } { print p, $0 }'
	done >>"$1"
}

# reload_backwards FILE: the sample lines whose field went back since the previous sample of the
# same line; empty when every counter only rose.
reload_backwards() {
	awk '{ k = $1 " " $2; for (f = 3; f <= 7; f++) { if ((k, f) in last && $f < last[k, f]) print "went back:", $0, "(field", f - 2, "was", last[k, f] ")"; last[k, f] = $f } }' "$1"
}

reload_running() { kill -0 "$DL_PID" 2>/dev/null || kill -0 "$RL_UDP" 2>/dev/null; }
reload_tcp_out() { stats_lines TCP "$VIP:80" | awk 'NR == 1 { print $3 + 0 }'; }
reload_svc_out_bytes() { stats_lines TCP "$VIP:80" | awk 'NR == 1 { print $5 + 0 }'; }

# reload_under_traffic HOW PORT: one round (see the top of this file); PORT the download's client port.
reload_under_traffic() {
	local how=$1 port=$2 size want_other got dl_sha samples=$TMP/reload-$2.samples n=3000
	size=$((BIG_MB * 1048576))
	: >"$samples"
	rvsadm -Z || not_ok "rvsadm -Z"
	scrape_settled "$TMP/rm0"
	(in_ns client curl -sS --limit-rate 20M --local-port "$port" --max-time 120 "http://$VIP/big.bin" |
		sha256sum | awk '{ print $1 }' >"$TMP/rl$port.sha") 2>"$TMP/rl$port.err" &
	DL_PID=$!
	BG_PIDS+=($!)
	RL_T0=$(date +%s.%N)
	in_ns client python3 "$TOOLS/udp_stream.py" "$VIP" 9000 --count "$n" --size 1000 --seed 21 \
		--duration 10 --window 16 --timeout 10 >"$TMP/rl$port.udp" 2>&1 &
	RL_UDP=$!
	BG_PIDS+=($!)
	_rl_dl_under_way() { (($(reload_svc_out_bytes) >= size / 10)); }
	_rl_reload() {
		wait_for 30 has_conn "$port" || { echo "no connection from client port $port"; return 1; }
		RL_DEST=$(conn_row "$CLIENT" "$port" | awk '{ print $6 }')
		RL_OTHER=${FC_ADDR[${FC_NAMES[0]}]}
		[[ $RL_DEST == "$RL_OTHER" ]] && RL_OTHER=${FC_ADDR[${FC_NAMES[1]}]}
		echo "download from port $port on $RL_DEST"
		wait_for 60 _rl_dl_under_way || { echo "the download did not get under way"; return 1; }
		reload_sample "$samples"
		reload_set_weight "$RL_DEST" 0 || return 1
		kill -0 "$DL_PID" && kill -0 "$RL_UDP" || { echo "a transfer ended before the reload"; return 1; }
		local t1
		t1=$(date +%s.%N)
		reload_now "$how" || return 1
		echo "reloaded $(awk -v a="$RL_T0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.2f s after the stream started (about datagram %d of its %d, sent at %d/s)", b - a, (b - a) * n / 10, n, n / 10 }')"
		reload_sample "$samples"
		kill -0 "$DL_PID" && kill -0 "$RL_UDP" || { echo "a transfer ended before the reload was applied"; return 1; }
	}
	check_v "$how in the middle of a $BIG_MB MB download and a UDP stream: 1 change applied (weight 0 for the download's server), both transfers still running" _rl_reload
	_rl_weight() {
		local table
		table=$(rvsadm -L -n -t "$VIP:80") || return 1
		echo "$table"
		grep -qE "^  -> ${RL_DEST//./\\.} +[A-Za-z]+ +0 " <<<"$table" || { echo "$RL_DEST is not at weight 0"; return 1; }
		want_other=$(fc_name_of "$RL_OTHER")
		got=$(answers 6)
		echo "answers: $got"
		[[ $got == "$want_other $want_other $want_other $want_other $want_other $want_other " ]]
	}
	check_v "after $how: the download's server at weight 0 in -L -n, 6 new requests all go to the other" _rl_weight
	while reload_running; do
		reload_sample "$samples"
		sleep 0.2
	done
	wait "$DL_PID" 2>/dev/null
	dl_sha=$(cat "$TMP/rl$port.sha" 2>/dev/null)
	if [[ $dl_sha == "$RL_SHA" ]]; then
		ok "after $how: the $BIG_MB MB download finished intact (sha256)"
	else
		not_ok "after $how: the $BIG_MB MB download finished intact (sha256 $dl_sha, want $RL_SHA; $(head -c 200 "$TMP/rl$port.err"))"
	fi
	local line rc=0
	wait "$RL_UDP" || rc=$?
	line=$(tail -n 1 "$TMP/rl$port.udp")
	if ((rc == 0)); then
		ok "after $how: the UDP stream of $n datagrams came back intact"
	else
		not_ok "after $how: the UDP stream of $n datagrams came back intact (exit $rc)"
		echo "# the director's losses so far, and the hosts' UDP receive errors:"
		losses | sed 's/^/#   /'
		udp_errors client "${FC_NAMES[@]}" | sed 's/^/#   /'
	fi
	echo "#   $line"
	scrape_settled "$TMP/rm1"
	reload_sample "$samples"
	local back
	back=$(reload_backwards "$samples")
	if [[ -z $back ]] && (($(wc -l <"$samples") > 8)); then
		ok "across $how: $(wc -l <"$samples") samples of --stats --exact (TCP :80, UDP :9000, services and real servers): no counter ever went back"
	else
		not_ok "across $how: counters never went back ($(wc -l <"$samples") samples)"
		echo "$back" | head -n 10 | sed 's/^/#   /'
	fi
	_rl_totals() {
		local inb outb udp_want svc dest m0 m1
		inb=$(sed -n 's/.* in_bytes=\([0-9]*\).*/\1/p' <<<"$line")
		outb=$(sed -n 's/.* out_bytes=\([0-9]*\).*/\1/p' <<<"$line")
		udp_want="1 $n $n $inb $outb"
		stats_expect UDP "$VIP:9000" "$udp_want" || { echo "UDP counters are not what the stream sent"; return 1; }
		svc=$(stats_lines TCP "$VIP:80" | head -n 1)
		dest=$(stats_lines TCP "$VIP:80" | awk -v d="$RL_DEST" '$1 == d { print $2, $3, $4, $5, $6 }')
		echo "TCP service: $svc; $RL_DEST: $dest; file $size bytes"
		# The download and the 6 requests: 7 connections; the download's server sent the whole file.
		[[ ${svc%% *} == 7 ]] || { echo "want 7 TCP connections"; return 1; }
		read -r _ _ _ _ ob <<<"$dest"
		((ob >= size)) || { echo "$RL_DEST's out bytes $ob < $size"; return 1; }
		local re="protocol=\"tcp\".*dest=\"${RL_DEST%:*}\",dest_port=\"${RL_DEST##*:}\""
		m0=$(metric_now_in "$TMP/rm0" rvs_dest_out_bytes_total "$re")
		m1=$(metric_now_in "$TMP/rm1" rvs_dest_out_bytes_total "$re")
		echo "rvs_dest_out_bytes_total{dest=$RL_DEST}: $m0 -> $m1"
		(((m1 - m0) >= size))
	}
	check_v "after $how: the counters include what was sent before it (UDP exact, the download's server at least the file in --stats and metrics)" _rl_totals
	_rl_back() {
		reload_set_weight "$RL_DEST" 1 && reload_now "$how" || return 1
		local got
		got=$(answers 4)
		echo "answers: $got"
		answers_are "$got" "${FC_NAMES[*]}" "${FC_NAMES[*]}"
	}
	check_v "the file's weight back to 1, $how again: of 4 requests both servers answer" _rl_back
}

reload_checks() {
	RL_SHA=$(make_big "${FC_NAMES[@]}")
	_rl_sync() {
		local out
		out=$(rvsadm --reload) || { echo "$out"; return 1; }
		echo "$out"
		[[ $out =~ ^rvsd\ reloaded\ its\ config:\ [0-9]+\ change ]] || return 1
		rvsadm -S -n >"$TMP/rl.save" || return 1
		diff "$TMP/save0" "$TMP/rl.save"
	}
	check_v "rvsadm --reload: the table is the file's again (rvsadm -S -n as at the start)" _rl_sync ||
		bail_out "the table could not be brought back to $RELOAD_CONF"
	reload_under_traffic SIGHUP 40300
	reload_under_traffic --reload 40301
	rm -f "$WWW/big.bin" "$WWW"/*/big.bin
}
